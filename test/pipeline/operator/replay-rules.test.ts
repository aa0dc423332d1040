/**
 * A replay limited to a set of rules (pipeline/operator/replay.ts `rules`),
 * on SQLite and PostgreSQL: two rules out of three, one that sends per event
 * and one that batches, make their deliveries and batch entries and the third
 * nothing; `rule` alone is a set of one; an unknown name in the set is an
 * UnknownRuleError naming it. And a dry run's preview: the first planned
 * messages, rendered as they would be sent, personal fields masked unless
 * asked for.
 */
import assert from 'node:assert/strict';
import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadRouting } from '../../../src/app/setup.js';
import { UnknownRuleError } from '../../../src/core/errors.js';
import type { NormalizedEvent } from '../../../src/core/event.js';
import { PACKAGE_ROOT } from '../../../src/core/paths.js';
import { REPLAY_PREVIEW_LIMIT, replayPage, type ReplayPreviewItem } from '../../../src/pipeline/operator/replay.js';
import { EVENT_PROVIDERS } from '../../../src/providers/registry.js';
import type { Store } from '../../../src/store/store.js';
import { SHIPPED_TEMPLATES_DIR, testConfig } from '../../helpers/config.js';
import { tempDir } from '../../helpers/herald.js';
import { delivery, event } from '../../store/contract.js';
import { STORE_KINDS, type StoreHarness } from '../../helpers/store-harness.js';

/** KYC events to the hook with their personal fields; a group per session; every event to the hook. */
const RULES = `
- name: kyc-hook
  match: { provider: legaltalent }
  pii: include
  notify: [{ to: hook, template: whole-event }]
- name: per-session
  group: { by: [subject], wait: 3s, interval: 10m }
  notify: [{ to: hook, template: group-summary }]
- name: everything
  notify: [{ to: hook, template: whole-event }]
`;
const FULL_NAME = 'Ada Lovelace';

function routingFor(): ReturnType<typeof loadRouting>['routing'] {
  const dir = tempDir('herald-replay-rules-');
  writeFileSync(path.join(dir, 'rules.yaml'), RULES);
  const templates = path.join(dir, 'templates');
  cpSync(path.join(PACKAGE_ROOT, 'test/fixtures/batching/templates/group-summary'), path.join(templates, 'group-summary'), { recursive: true });
  // A webhook template without webhook.yaml sends the whole event: its personal fields show in the message.
  cpSync(path.join(SHIPPED_TEMPLATES_DIR, 'session-finished'), path.join(templates, 'whole-event'), { recursive: true });
  return loadRouting(
    testConfig('sqlite::memory:', {
      rulesDir: dir,
      templatesDir: templates,
      destinations: {
        hook: { name: 'hook', type: 'webhook', options: { url: 'https://crm.example.com/hook', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' } },
      },
    }),
  ).routing;
}

for (const [name, harness] of STORE_KINDS) {
  describe(`replay of a set of rules, and a dry run's preview: ${name}`, function () {
    this.timeout(20_000);
    const routing = routingFor();
    const since = new Date(Date.now() - 3_600_000).toISOString();
    let stores: StoreHarness;
    let store: Store;
    let kyc: NormalizedEvent;
    let face: NormalizedEvent;

    async function stored(e: NormalizedEvent): Promise<NormalizedEvent> {
      await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
      await store.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries: [] }]);
      return e;
    }

    beforeEach(async () => {
      stores = harness();
      store = await stores.open();
      // Oldest first: the KYC event, then a FaceSign one.
      kyc = await stored(
        event('kyc', {
          provider: 'legaltalent',
          subject: 'kyc_1',
          type: 'kyc.session.rejected',
          outcome: 'rejected',
          data: { id: 'evt_k', data: { session_id: 'kyc_1', extracted_data: { full_name: FULL_NAME } } },
        }),
      );
      face = await stored(event('facesign', { subject: 'sess_A' }));
    });
    afterEach(() => stores.dispose());

    const rulesOf = async (e: NormalizedEvent) => (await store.listDeliveries({ eventId: e.id })).map((d) => d.rule).sort();

    it('replays two rules out of three: the deliveries of one, the batch entries of the other, nothing of the third', async () => {
      const page = await replayPage(store, routing, EVENT_PROVIDERS, { since, rules: ['kyc-hook', 'per-session'] });
      assert.deepEqual(
        { deliveries: page.deliveries, byRule: page.byRule, batched: page.batched, batchedByRule: page.batchedByRule },
        { deliveries: 1, byRule: { 'kyc-hook': 1 }, batched: 2, batchedByRule: { 'per-session': 2 } },
      );
      assert.deepEqual(await rulesOf(kyc), ['kyc-hook']);
      assert.deepEqual(await rulesOf(face), [], "'everything' is not in the set");
      const [group] = await store.claimDueBatches({ limit: 10, claimant: 'test', claimTtlMs: 60_000, now: Date.now() + 60_000 });
      assert.equal(group?.rule, 'per-session');
      assert.equal(page.preview, undefined, 'no preview unless a dry run asks for one');
    });

    it('takes `rule` alone as a set of one; refuses a set with an unknown name, naming it, and stores nothing', async () => {
      const one = await replayPage(store, routing, EVENT_PROVIDERS, { since, rule: 'everything', dryRun: true });
      assert.deepEqual([one.byRule, one.batchedByRule], [{ everything: 2 }, {}]);
      await assert.rejects(
        replayPage(store, routing, EVENT_PROVIDERS, { since, rules: ['kyc-hook', 'nope'] }),
        (error: unknown) => error instanceof UnknownRuleError && error.rule === 'nope' && /no rule "nope"/.test(error.message),
      );
      assert.deepEqual([...(await rulesOf(kyc)), ...(await rulesOf(face))], []);
    });

    it("previews a dry run's first planned messages of the set, rendered, personal fields masked unless asked for; stores nothing", async () => {
      const request = { since, rules: ['kyc-hook', 'per-session'], dryRun: true, preview: true };
      const masked = await replayPage(store, routing, EVENT_PROVIDERS, request);
      const shape = (items: readonly ReplayPreviewItem[]) => items.map((i) => [i.kind, i.eventId, i.rule, i.destination, i.template]);
      assert.deepEqual(shape(masked.preview!), [
        ['delivery', kyc.id, 'kyc-hook', 'hook', 'whole-event'],
        ['batch', kyc.id, 'per-session', 'hook', 'group-summary'],
        ['batch', face.id, 'per-session', 'hook', 'group-summary'],
      ]);
      const [message] = masked.preview!;
      assert.equal(message!.kind === 'batch' ? undefined : message!.status, 'pending');
      const body = JSON.stringify(message!.kind === 'delivery' && message!.message);
      assert.ok(body.includes(kyc.id), 'the webhook body as it would be sent');
      assert.ok(!body.includes(FULL_NAME), 'masked by default');
      assert.equal(masked.preview![2]!.kind === 'batch' && masked.preview![2]!.key, 'sess_A');

      const included = await replayPage(store, routing, EVENT_PROVIDERS, { ...request, pii: 'include' });
      assert.ok(JSON.stringify(included.preview![0]).includes(FULL_NAME), 'as sent, for the rule with pii: include');
      assert.deepEqual([...(await rulesOf(kyc)), ...(await rulesOf(face))], [], 'a dry run stores nothing');
    });

    it('leaves an event not routed yet to routing: nothing planned for it, counted apart, and routing then sends it once', async () => {
      const waiting = event('facesign', { subject: 'sess_waiting' });
      await store.insertEvent({ event: waiting, dedupeKey: waiting.id, dedupeUntilMs: Date.now() + 60_000 });
      const page = await replayPage(store, routing, EVENT_PROVIDERS, { since, rules: ['everything'] });
      assert.deepEqual([page.events, page.deliveries, page.notRouted], [3, 2, 1]);
      assert.deepEqual(await rulesOf(waiting), [], 'the replay made nothing for it');
      await store.markRouted([{ eventId: waiting.id, rulesVersion: 'v1', deliveries: [delivery()] }]);
      assert.equal((await store.listDeliveries({ eventId: waiting.id })).length, 1, "routing's own delivery, and no other");
      const after = await replayPage(store, routing, EVENT_PROVIDERS, { since, rules: ['everything'], dryRun: true });
      assert.deepEqual([after.deliveries, after.notRouted], [3, 0], 'once routed, it is replayed like the others');
    });

    it(`shows at most ${REPLAY_PREVIEW_LIMIT} messages`, async () => {
      for (let i = 0; i < 12; i++) await stored(event('facesign', { subject: `sess_${i}` }));
      const page = await replayPage(store, routing, EVENT_PROVIDERS, { since, rules: ['everything'], dryRun: true, preview: true });
      assert.equal(page.deliveries, 14);
      assert.equal(page.preview!.length, REPLAY_PREVIEW_LIMIT);
      assert.deepEqual(page.preview![0]!.eventId, kyc.id, 'oldest first');
    });
  });
}
