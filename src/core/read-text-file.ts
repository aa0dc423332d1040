/**
 * Reads a file herald loads while it may be running (a rule file, a template):
 * one it cannot read (a folder named `x.yaml`, no permission, deleted while
 * it was listed) is a problem that names the file, never an exception, so a
 * live reload rejects it and `herald check` reports it like any other error.
 */
import { readFileSync } from 'node:fs';
import type { ConfigIssue } from './errors.js';

/** The file's text (UTF-8), or the issue that says why it could not be read. */
export function readTextFile(file: string, what: string): { text: string } | { issue: ConfigIssue } {
  try {
    return { text: readFileSync(file, 'utf8') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      code === 'EISDIR'
        ? `this ${what} is a folder, not a file`
        : code === 'ENOENT'
          ? `this ${what} disappeared while it was being read`
          : `cannot read this ${what} (${code ?? (error instanceof Error ? error.name : 'error')})`;
    return { issue: { file, path: '', message } };
  }
}
