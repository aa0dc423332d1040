/** Configs for tests, built in code (no YAML), with distinctive test secrets. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AlertsConfig, HeraldConfig, SourceConfig } from '../../src/core/config.js';
import type { ProviderId } from '../../src/core/event.js';
import { PACKAGE_ROOT } from '../../src/core/paths.js';

export const NO_RULES_DIR = path.join(PACKAGE_ROOT, 'test/fixtures/no-rules');
export const SHIPPED_RULES_DIR = path.join(PACKAGE_ROOT, 'rules');
export const SHIPPED_TEMPLATES_DIR = path.join(PACKAGE_ROOT, 'templates');

export const TEST_SECRETS = {
  facesign: 'fs-test-secret-7Hq2',
  faceio: 'fio-test-token-9Lm4',
  legaltalent: 'lt-test-secret-3Kd8',
  owleyes: 'oe-test-secret-5Wz1',
} as const satisfies Record<ProviderId, string>;

export function testSource(name: string, provider: ProviderId, overrides: Partial<SourceConfig> = {}): SourceConfig {
  return {
    name,
    provider,
    secrets: provider === 'faceio' ? [] : [TEST_SECRETS[provider]],
    tokens: provider === 'faceio' ? [TEST_SECRETS.faceio] : [],
    allowBareToken: false,
    toleranceMs: 300_000,
    signedPayload: 'timestamp.body',
    signatureEncoding: 'hex',
    dedupeWindowMs: provider === 'faceio' ? 600_000 : 30 * 86_400_000,
    pii: 'redact',
    ...overrides,
  };
}

/** One source per provider, named after it. */
export function testSources(): Record<ProviderId, SourceConfig> {
  return {
    facesign: testSource('facesign', 'facesign'),
    faceio: testSource('faceio', 'faceio'),
    legaltalent: testSource('legaltalent', 'legaltalent'),
    owleyes: testSource('owleyes', 'owleyes'),
  };
}

/** The shipped defaults of `alerts` (src/config/defaults.ts), in ms. */
export const ALERT_DEFAULTS: AlertsConfig = { enabled: true, everyMs: 3_600_000, queueAgeMs: 900_000, checkEveryMs: 30_000 };

export function testConfig(store: string, overrides: Partial<HeraldConfig> = {}): HeraldConfig {
  return {
    file: '/dev/null',
    server: { port: 0, host: '127.0.0.1', bodyLimitBytes: 256 * 1024, requestTimeoutMs: 15_000, shutdownGraceMs: 30_000, trustProxy: false },
    store,
    rulesDir: NO_RULES_DIR,
    templatesDir: SHIPPED_TEMPLATES_DIR,
    retentionMs: 30 * 86_400_000,
    sources: testSources(),
    destinations: {},
    // On one thread here, unlike herald's default: an injected clock stays on it anyway, and the
    // deliver thread's own tests turn it on (test/pipeline/stages/deliver-thread.test.ts).
    delivery: { timeoutMs: 10_000, retryMs: [5_000], maxAgeMs: 3 * 86_400_000, thread: false },
    // Off here: an alert is one more event and delivery in tests about something else
    // (most use a rule that sends every event somewhere). The alert tests turn it on.
    alerts: { ...ALERT_DEFAULTS, enabled: false },
    console: { users: [], sessionTimeoutMs: 30 * 60_000 },
    ...overrides,
  };
}

/** The `hook` webhook destination of written test configs (a test-only signing secret). */
export const TEST_HOOK = '  hook: { type: webhook, url: "https://crm.example.com/hook", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }';

/**
 * Writes `herald.config.yaml` in `dir` for CLI tests of rules and templates:
 * a FaceSign source, the given rules and templates folders and destination
 * lines (default: the `hook` webhook). Returns its path.
 */
export function writeRulesConfig(dir: string, rulesDir: string, templatesDir: string, destinations: string[] = [TEST_HOOK]): string {
  const file = path.join(dir, 'herald.config.yaml');
  writeFileSync(
    file,
    [
      'server: { port: 0 }',
      'store: sqlite:./herald.db',
      `rules: ${JSON.stringify(rulesDir)}`,
      `templates: ${JSON.stringify(templatesDir)}`,
      'sources:',
      `  facesign: { provider: facesign, secrets: ["${TEST_SECRETS.facesign}"] }`,
      'destinations:',
      ...destinations,
      '',
    ].join('\n'),
  );
  return file;
}
