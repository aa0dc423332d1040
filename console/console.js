// herald console: the little that htmx does not do. Loaded as a file (the
// Content-Security-Policy allows no inline script).
document.addEventListener('change', (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.dataset.selectAll) return;
  for (const item of box.form.querySelectorAll(`input[type=checkbox][name="${box.dataset.selectAll}"]`)) item.checked = box.checked;
});
