/**
 * Plain padded columns for people; scripts use --json. Everything shown comes
 * from outside (events, receivers' answers, a running herald's API), so it is
 * shown with its control characters written out: a value cannot move the
 * cursor, retitle or clear the terminal, or start a row of its own.
 */
import { showControlCharacters } from '../core/control-characters.js';

/** A value for one line of terminal output: `-` for nothing, control characters written out (`\u001b`, `\n`). */
export function printable(value: string | number | null | undefined): string {
  return value === null || value === undefined ? '-' : showControlCharacters(String(value));
}

/** Text of several lines for a terminal: its own line breaks and tabs kept, every other control character written out. */
export function printableLines(text: string): string {
  return showControlCharacters(text, '\n\t');
}

/** Renders rows under a header, each column as wide as its widest cell. */
export function renderTable(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | null>>): string {
  const cells = [header, ...rows.map((row) => row.map(printable))];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return (
    cells
      .map((row) =>
        row
          .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** A time in ms as RFC 3339, for tables. */
export const isoTime = (ms: number): string => new Date(ms).toISOString();
