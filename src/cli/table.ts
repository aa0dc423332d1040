/** Plain padded columns for people; scripts use --json. */

/** Renders rows under a header, each column as wide as its widest cell. */
export function renderTable(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | null>>): string {
  const cells = [header, ...rows.map((row) => row.map((cell) => (cell === null ? '-' : String(cell))))];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

/** A time in ms as RFC 3339, for tables. */
export const isoTime = (ms: number): string => new Date(ms).toISOString();
