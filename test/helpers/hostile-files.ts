/** Files a user (or an attacker with write access to the config folder) may drop where herald reads. */

/**
 * A "billion laughs" YAML file: `levels` anchors, each a list of `width`
 * aliases of the one before, a few hundred bytes that would expand to
 * width^levels values (9 x 10: a billion).
 */
export function yamlAliasBomb(levels = 9, width = 10): string {
  const lines = [`- &a0 [${Array(width).fill('lol').join(', ')}]`];
  for (let level = 1; level <= levels; level++)
    lines.push(
      `- &a${level} [${Array(width)
        .fill(`*a${level - 1}`)
        .join(', ')}]`,
    );
  return `${lines.join('\n')}\n`;
}
