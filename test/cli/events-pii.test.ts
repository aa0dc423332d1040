/**
 * `herald events list|show` and personal data: masked by default, shown with
 * `--pii`, which is written to the audit log in the user's name, on the store
 * and through a running herald's admin API alike.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { NormalizedEvent } from '../../src/core/event.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { runHerald } from '../helpers/cli.js';
import { startTestHerald, tempDir, type TestHerald } from '../helpers/herald.js';
import { writeHookConfig } from '../helpers/herald-process.js';
import { event } from '../store/contract.js';

const PERSONAL = ['Ada Lovelace', '1815-12-10', 'P1234567'];
const kyc = (): NormalizedEvent =>
  event('kyc', {
    provider: 'legaltalent',
    type: 'kyc.session.approved',
    data: { id: 'evt_1', data: { session_id: 's1', extracted_data: { full_name: PERSONAL[0], date_of_birth: PERSONAL[1], document_number: PERSONAL[2] } } },
  });
const shows = (text: string) => PERSONAL.filter((value) => text.includes(value));

describe('herald events and personal data', function () {
  this.timeout(60_000);

  describe('on the store', () => {
    let dir: string;
    let config: string;
    const stored = kyc();
    const withStore = async <T>(work: (store: SqliteStore) => Promise<T>): Promise<T> => {
      const store = new SqliteStore(path.join(dir, 'herald.db'));
      try {
        return await work(store);
      } finally {
        await store.close();
      }
    };

    before(async () => {
      dir = tempDir();
      config = writeHookConfig(dir, 0, 'http://127.0.0.1:9');
      await withStore(async (store) => {
        await store.migrate();
        await store.insertEvent({ event: stored, dedupeKey: stored.id, dedupeUntilMs: Date.now() + 60_000 });
      });
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('masks personal fields in show --json and list --json, and audits nothing', async () => {
      const show = await runHerald(['--config', config, 'events', 'show', stored.id, '--json']);
      assert.equal(show.code, 0, show.stderr);
      assert.deepEqual(shows(show.stdout), []);
      assert.match(show.stdout, /"extracted_data": "\[redacted\]"/);
      const list = await runHerald(['--config', config, 'events', 'list', '--json']);
      assert.equal(list.code, 0, list.stderr);
      assert.deepEqual(shows(list.stdout), []);
      assert.deepEqual(await withStore((store) => store.listAudit()), []);
    });

    it('shows them with --pii, after writing the reading to the audit log in the name of HERALD_ACTOR', async () => {
      const show = await runHerald(['--config', config, 'events', 'show', stored.id, '--json', '--pii'], { HERALD_ACTOR: 'carol' });
      assert.equal(show.code, 0, show.stderr);
      assert.deepEqual(shows(show.stdout), PERSONAL);
      const audit = await withStore((store) => store.listAudit());
      assert.deepEqual(
        audit.map((e) => [e.actor, e.action, e.target, (e.detail as { via: string }).via]),
        [['carol', 'event.pii.read', stored.id, 'cli']],
      );
    });
  });

  describe('through the admin API', () => {
    const token = 'events-pii-admin-token';
    let herald: TestHerald;
    const stored = kyc();
    before(async () => {
      herald = await startTestHerald({}, { stages: false, adminToken: token });
      await herald.store.insertEvent({ event: stored, dedupeKey: stored.id, dedupeUntilMs: Date.now() + 60_000 });
    });
    after(() => herald.stop());

    it('masks by default; --pii shows them and the API audits the reading with the user name the CLI sends', async () => {
      const env = { HERALD_ADMIN_TOKEN: token, HERALD_ACTOR: 'dave' };
      const masked = await runHerald(['events', 'show', stored.id, '--json', '--api', herald.url], env);
      assert.equal(masked.code, 0, masked.stderr);
      assert.deepEqual(shows(masked.stdout), []);
      assert.deepEqual(await herald.store.listAudit(), []);
      const shown = await runHerald(['events', 'show', stored.id, '--json', '--pii', '--api', herald.url], env);
      assert.equal(shown.code, 0, shown.stderr);
      assert.deepEqual(shows(shown.stdout), PERSONAL);
      const audit = await herald.store.listAudit();
      assert.deepEqual(
        audit.map((e) => [e.actor, e.target, e.detail]),
        [['dave', stored.id, { via: 'api', remoteAddress: '127.0.0.1' }]],
      );
    });
  });
});
