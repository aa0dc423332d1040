/**
 * `herald console hash-password`: reads a password on stdin (its first line)
 * and prints its scrypt hash for a console user's `passwordHash` (README,
 * "Console"). The password is never an argument: it would show in `ps` and
 * the shell history. Needs no config.
 */
import { Command } from 'commander';
import { hashPassword } from '../../core/password-hash.js';
import { CliError, EXIT } from '../exit.js';

/** Shorter passwords are refused: a console account guards personal data. */
const MIN_PASSWORD_LENGTH = 12;

/** The first line of stdin (without its line ending), read to the end or to the first newline. */
async function readFirstLine(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/, 1)[0] ?? '';
}

export function consoleCommand(): Command {
  const command = new Command('console').description('the web console (/console): its users');
  command
    .command('hash-password')
    .description("read a password on stdin (one line) and print its scrypt hash, for a console user's passwordHash")
    .action(async () => {
      if (process.stdin.isTTY) process.stderr.write('password (shown as you type; or pipe it in), then Enter:\n');
      const password = await readFirstLine();
      if (password.length < MIN_PASSWORD_LENGTH) {
        throw new CliError(`the password is ${password.length} characters long: give at least ${MIN_PASSWORD_LENGTH}`, EXIT.input);
      }
      process.stdout.write(`${await hashPassword(password)}\n`);
      process.stdin.destroy();
    });
  return command;
}
