/**
 * `herald rules test <event.json | --sample SOURCE:TYPE>`: which rules fire for
 * an event and every message they would send, rendered; sends nothing, stores
 * nothing. The file is a normalized event, or a provider payload with --source.
 * `--session <file>` enriches the event with a FaceSign session, as the enrich
 * stage would (pipeline/stages/enrich.ts), without calling FaceSign.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { HERALD, type NormalizedEvent } from '../../core/event.js';
import { enriched } from '../../pipeline/stages/enrich.js';
import { normalizeEvent } from '../../pipeline/events/normalize.js';
import { planRouting } from '../../pipeline/stages/route.js';
import { sampleAlertEvent, sampleEvent } from '../../pipeline/events/sample-events.js';
import { previewBatches } from '../../pipeline/operator/batch-preview.js';
import { EVENT_PROVIDERS, PROVIDERS } from '../../providers/registry.js';
import type { HeraldSetup } from '../../app/setup.js';
import { loadSetupOrExit } from '../config-option.js';
import { renderRulesTest, renderRulesTestBatches, type RulesTestBatchReport, type RulesTestReport } from './rules-test-report.js';

interface RulesTestOptions {
  sample?: string;
  session?: string;
  source?: string;
  json?: boolean;
}

/** The events of the files: each holds an event (or payload), or a JSON array of them. */
function eventsFrom(setup: HeraldSetup, files: string[], options: RulesTestOptions, command: Command): NormalizedEvent[] {
  if (options.sample || files.length === 0) return [eventFrom(setup, files[0], options, command)];
  return files.flatMap((file) => {
    const json = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    const items = Array.isArray(json) ? json : [json];
    return items.map((item) => eventOf(setup, file, item as Record<string, unknown>, options, command));
  });
}

function eventFrom(setup: HeraldSetup, file: string | undefined, options: RulesTestOptions, command: Command): NormalizedEvent {
  const { sources } = setup.config;
  if (options.sample) {
    const [sourceName, type] = options.sample.split(/:(.*)/s);
    const source = sources[sourceName ?? ''];
    // herald's own alerts: `--sample herald:herald.breaker.opened`.
    if ((!source && sourceName !== HERALD) || !type) {
      command.error(`--sample takes SOURCE:TYPE with a source from the config (${Object.keys(sources).join(', ')}), or ${HERALD} for herald's own alerts`);
    }
    try {
      return source ? sampleEvent(source, PROVIDERS[source.provider], type) : sampleAlertEvent(type);
    } catch (error) {
      command.error(error instanceof Error ? error.message : String(error)); // no sample of that type
    }
  }
  if (!file) command.error('give an event file or --sample SOURCE:TYPE');
  return eventOf(setup, file, JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>, options, command);
}

/** One event of a file: a normalized event, or a provider payload normalized as received on --source. */
function eventOf(setup: HeraldSetup, file: string, json: Record<string, unknown>, options: RulesTestOptions, command: Command): NormalizedEvent {
  const { sources } = setup.config;
  if (json.specversion === '1.0') return json as unknown as NormalizedEvent;
  const source = sources[options.source ?? ''];
  if (!source) command.error(`${file} is a provider payload, not a normalized event: say which source it came in on with --source NAME`);
  return normalizeEvent(source, PROVIDERS[source.provider], json, { body: Buffer.from(JSON.stringify(json)), headers: {} }, Date.now());
}

/** The event enriched with the session in `file`: FaceSign's answer `{ session: {...} }`, or the session itself. */
function withSessionFrom(file: string, event: NormalizedEvent, command: Command): NormalizedEvent {
  const json = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  const answer = json !== null && typeof json === 'object' && Object.hasOwn(json, 'session') ? (json as { session: unknown }).session : json;
  if (answer === null || typeof answer !== 'object' || Array.isArray(answer)) {
    command.error(`${file} is not a FaceSign session: give the JSON answer of GET /sessions/{id}, { "session": { "status": ... } }`);
  }
  return enriched(event, 1, answer as Record<string, unknown>, Date.now(), null);
}

export function rulesCommand(): Command {
  const rules = new Command('rules').description('work with the rule files');
  rules
    .command('test')
    .description('show which rules fire for an event and every message they would send; sends nothing')
    .argument('[events...]', 'normalized events (JSON), or provider payloads with --source; a file may hold a JSON array of them')
    .option('-s, --sample <source:type>', 'use the shipped sample of this type, as received on this source')
    .option('--source <name>', 'the source a provider payload came in on')
    .option('--session <file>', "a FaceSign session (GET /sessions/{id}'s answer) to enrich the event with, as herald would")
    .option('--json', 'print JSON for scripts')
    .action(async (files: string[], options: RulesTestOptions, command: Command) => {
      const setup = loadSetupOrExit(command);
      let events = eventsFrom(setup, files, options, command);
      if (options.session) events = events.map((event) => withSessionFrom(options.session!, event, command));
      const reports = events.map((event) => reportFor(setup, event, command));
      const batching = events.length > 1 || reports.some((r) => r.batched !== undefined);
      if (!batching) {
        const [report] = reports;
        process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : renderRulesTest(report!));
        if (report!.fired.some((f) => f.notifications.some((n) => n.error))) process.exitCode = 1;
        return;
      }
      const preview = await previewBatches(events, setup.routing, EVENT_PROVIDERS);
      const result: RulesTestBatchReport = { events: reports, batches: preview };
      process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : renderRulesTestBatches(result));
      const failed = reports.some((r) => r.fired.some((f) => f.notifications.some((n) => n.error))) || preview.messages.some((m) => m.error);
      if (failed) process.exitCode = 1;
    });
  return rules;
}

/** Which rules fire for one event, with the messages of those that send one per event. */
function reportFor(setup: HeraldSetup, event: NormalizedEvent, command: Command): RulesTestReport {
  const provider = EVENT_PROVIDERS[event.provider];
  if (!provider) command.error(`unknown provider "${String(event.provider)}" in the event`);
  const plan = planRouting(event, setup.routing, provider);
  const planned = plan.notifications;
  const report: RulesTestReport = {
    event,
    rulesVersion: setup.routing.rules.version,
    rulesTotal: setup.routing.rules.rules.length,
    fired: [...new Set(planned.map((p) => p.rule))].map((rule) => ({
      rule: rule.name,
      file: rule.file,
      notifications: planned
        .filter((p) => p.rule === rule)
        .map(({ delivery }) => ({
          destination: delivery.destination,
          channel: setup.routing.destinations[delivery.destination]!.type,
          template: delivery.template,
          message: delivery.message,
          ...(delivery.error && { error: delivery.error }),
        })),
    })),
  };
  const batched = [...new Set(plan.batched.map((b) => b.rule))].map((rule) => ({ rule: rule.name, file: rule.file, kind: rule.batching!.kind }));
  return batched.length > 0 ? { ...report, batched } : report;
}
