/**
 * What herald uses when the config leaves a setting out, written as in the
 * file. The schema announces the same values as `default`s (editors show them,
 * and ajv fills them into blocks that are present); a test keeps the two in step.
 */
export const DEFAULTS = {
  // The operations listener (server.admin), when there is one, is local unless the file says otherwise.
  server: { port: 8080, host: '0.0.0.0', bodyLimit: '256kb', requestTimeout: '15s', shutdownGrace: '30s', adminHost: '127.0.0.1' },
  store: 'sqlite:./data/herald.db',
  rules: './rules',
  templates: './templates',
  retention: '30d',
  delivery: {
    timeout: '10s',
    retry: ['5s', '30s', '2m', '10m', '30m', '1h', '3h', '6h', '12h', '24h'],
    maxAge: '3d',
    thread: true,
  },
  alerts: {
    enabled: true,
    // Like Alertmanager's repeat_interval: a destination down all day alerts
    // once an hour, not once per failed delivery.
    every: '1h',
    queueAge: '15m',
    checkEvery: '30s',
  },
  source: {
    allowBareToken: false,
    // FaceSign and Owl Eyes both document about 5 minutes (docs/providers.md).
    tolerance: '300s',
    signedPayload: 'timestamp.body',
    signatureEncoding: 'hex',
    pii: 'redact',
    // FACEIO sends no event id, so its dedupe key is a hash of the body: only a
    // retry of the same body is a duplicate, and two real events can have equal
    // bodies (the same person authenticating twice on one day). Everyone else
    // dedupes by event id for as long as events are kept (the retention).
    faceioDedupeWindow: '10m',
  },
  console: { sessionTimeout: '30m' },
  /** A FaceSign source's session API (pipeline/stages/enrich.ts). */
  sessionApi: {
    enrich: ['session.status', 'analysis.*'],
    timeout: '10s',
    giveUpAfter: '5m',
    rate: '10/s',
    allowPrivateNetwork: false,
  },
  /** The media archive (pipeline/stages/media-archive.ts). */
  media: {
    store: 'file:./data/media',
    maxBytes: '50mb',
    allowPrivateNetwork: false,
    linkTtl: '7d',
    timeout: '60s',
  },
} as const;
