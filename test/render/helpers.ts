/**
 * Fixtures for the render tests: normalized events built from the shipped
 * samples by the real provider adapters, redacted as routing redacts them,
 * and template folders written to temporary directories.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HERALD, type EventProviderId, type NormalizedEvent } from '../../src/core/event.js';
import type { ChannelType } from '../../src/core/message.js';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { redactPaths } from '../../src/core/redact.js';
import { sampleAlertEvent } from '../../src/pipeline/events/sample-events.js';
import { PROVIDERS } from '../../src/providers/registry.js';
import { loadSample } from '../../src/providers/samples.js';
import type { TemplateScope } from '../../src/render/templates.js';

export const SHIPPED_TEMPLATES = path.join(PACKAGE_ROOT, 'templates');
export const TESTDATA = path.join(PACKAGE_ROOT, 'test', 'render', 'testdata');

const RECEIVED_MS = Date.UTC(2026, 10, 22, 9, 30, 1, 512);

/** The shipped sample of `type` as the event templates see: normalized, personal fields redacted. */
export function sampleEvent(provider: EventProviderId, type: string, changes: (payload: Record<string, unknown>) => void = () => {}): NormalizedEvent {
  if (provider === HERALD) return { ...sampleAlertEvent(type, RECEIVED_MS), id: '019a9c1e-7b2e-7c41-9a57-2f4d1c0e8b11' };
  const adapter = PROVIDERS[provider];
  const payload = loadSample(provider, type);
  changes(payload);
  const event: NormalizedEvent = {
    specversion: '1.0',
    id: '019a9c1e-7b2e-7c41-9a57-2f4d1c0e8b11',
    source: provider === 'legaltalent' ? 'kyc' : provider,
    provider,
    ...adapter.normalize(payload, { body: Buffer.from(JSON.stringify(payload)), headers: {} }, RECEIVED_MS),
    receivedAt: new Date(RECEIVED_MS).toISOString(),
    datacontenttype: 'application/json',
    data: payload,
  };
  return redactPaths(
    event,
    adapter.personalFields.map((field) => `data.${field}`),
  );
}

/** A scope for rendering `event` to a destination of `type`. */
export function scopeFor(event: unknown, type: ChannelType, rule = 'test-rule'): TemplateScope {
  return { event, rule: { name: rule }, destination: { name: `test-${type}`, type } };
}

// Every folder the tests write goes under one root, removed when the test process ends.
let root: string | undefined;

/** Writes `templates` ({ name: { file: content } }) into a fresh temporary folder and returns it. */
export function templatesFolder(templates: Record<string, Record<string, string>>): string {
  if (!root) {
    const created = mkdtempSync(path.join(tmpdir(), 'herald-render-test-'));
    process.on('exit', () => rmSync(created, { recursive: true, force: true }));
    root = created;
  }
  const dir = mkdtempSync(path.join(root, 'templates-'));
  for (const [name, files] of Object.entries(templates)) {
    mkdirSync(path.join(dir, name));
    for (const [file, content] of Object.entries(files)) writeFileSync(path.join(dir, name, file), content);
  }
  return dir;
}
