/**
 * SQLite schema migrations, applied in order; each runs once, in a transaction,
 * and its number is recorded in schema_migrations. Never edit a shipped one:
 * append a new one.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  /* 1: events and their dedupe keys */ `
  CREATE TABLE events (
    id TEXT PRIMARY KEY,               -- UUIDv7: sorts by time received
    source TEXT NOT NULL,
    provider TEXT NOT NULL,
    type TEXT NOT NULL,
    category TEXT NOT NULL,
    outcome TEXT,
    subject TEXT,
    time TEXT NOT NULL,
    received_at TEXT NOT NULL,
    provider_event_id TEXT,
    dedupe_key TEXT NOT NULL,
    body TEXT NOT NULL,                -- the normalized event, JSON
    routed_at TEXT,
    rules_version TEXT
  );
  CREATE INDEX events_source ON events (source, id);
  CREATE INDEX events_unrouted ON events (id) WHERE routed_at IS NULL;
  -- One row per (source, key) while the key is remembered; an expired row is
  -- taken over by the next event with that key.
  CREATE TABLE event_dedupe (
    source TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    event_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,       -- ms since epoch
    PRIMARY KEY (source, dedupe_key)
  ) WITHOUT ROWID;
  `,
  /* 2: deliveries and their attempts */ `
  CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,               -- UUIDv7; also the outbound webhook-id
    event_id TEXT NOT NULL REFERENCES events (id),
    rule TEXT NOT NULL,
    destination TEXT NOT NULL,
    template TEXT NOT NULL,
    message TEXT,                      -- the rendered message, JSON; null when rendering failed
    status TEXT NOT NULL,              -- pending | delivered | dead
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,  -- ms since epoch
    claimed_by TEXT,
    claim_expires_at INTEGER,          -- ms since epoch
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_error TEXT
  );
  -- What the deliver stage asks for: due, unclaimed work of one destination.
  CREATE INDEX deliveries_due ON deliveries (destination, next_attempt_at) WHERE status = 'pending';
  CREATE INDEX deliveries_event ON deliveries (event_id);
  CREATE INDEX deliveries_dead ON deliveries (updated_at) WHERE status = 'dead';
  CREATE TABLE attempts (
    delivery_id TEXT NOT NULL REFERENCES deliveries (id),
    attempt INTEGER NOT NULL,
    started_at INTEGER NOT NULL,       -- ms since epoch
    duration_ms INTEGER NOT NULL,
    outcome TEXT NOT NULL,             -- delivered | retry | dead
    status INTEGER,                    -- HTTP status or SMTP reply code
    reason TEXT,
    error TEXT,
    response_excerpt TEXT,
    PRIMARY KEY (delivery_id, attempt)
  ) WITHOUT ROWID;
  `,
  /* 3: what retention pruning looks up */ `
  CREATE INDEX events_received ON events (received_at);
  CREATE INDEX event_dedupe_expires ON event_dedupe (expires_at);
  `,
  /* 4: claims are kept in memory (claims.ts): one process owns the file */ `
  ALTER TABLE deliveries DROP COLUMN claimed_by;
  ALTER TABLE deliveries DROP COLUMN claim_expires_at;
  `,
  /* 5: the audit log: who did what to what (store.ts AuditEntry) */ `
  CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,               -- UUIDv7: sorts by time written
    at INTEGER NOT NULL,               -- ms since epoch
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT                        -- JSON, or null
  );
  CREATE INDEX audit_log_target ON audit_log (target, id);
  `,
  /* 6: what went wrong while routing an event (a rule's condition threw on it) */ `
  ALTER TABLE events ADD COLUMN routing_errors TEXT;  -- JSON list of {rule, error}; null when nothing did
  `,
  /* 7: a retried delivery's maximum age and retry schedule count from its retry */ `
  ALTER TABLE deliveries ADD COLUMN retried_at INTEGER;  -- ms since epoch; null until retried
  `,
  /* 8: one row that readiness writes, to know the store takes writes (a full disk does not) */ `
  CREATE TABLE store_probe (id INTEGER PRIMARY KEY CHECK (id = 1), written_at INTEGER NOT NULL);
  `,
  /* 9: events waiting for enrichment (pipeline/stages/enrich.ts) before they are routed */ `
  ALTER TABLE events ADD COLUMN enrich_due_at INTEGER;  -- ms since epoch; NULL: nothing to wait for
  ALTER TABLE events ADD COLUMN enrich_attempts INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX events_enrich_due ON events (enrich_due_at) WHERE enrich_due_at IS NOT NULL;
  `,
  /* 10: the media archive (pipeline/stages/media-archive.ts): records, bytes kept in the database, shared secrets; enrichment leases */ `
  CREATE TABLE media (
    id TEXT PRIMARY KEY,               -- the event's id: one file per event
    event_id TEXT NOT NULL,            -- no foreign key: retention deletes the event, then the file and this row
    subject TEXT,
    sha256 TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    created_at INTEGER NOT NULL        -- ms since epoch
  );
  CREATE INDEX media_event ON media (event_id);
  CREATE INDEX media_subject ON media (subject);
  CREATE TABLE media_content (id TEXT PRIMARY KEY, content BLOB NOT NULL);  -- media.store: store
  CREATE TABLE shared_secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL);
  -- 1 while a process holds the event for an enrichment try: a restart gives such events back at once
  ALTER TABLE events ADD COLUMN enrich_leased INTEGER NOT NULL DEFAULT 0;
  `,
  /* 11: batches of rules with group, digest or throttle (routing/batching.ts) and their pending events */ `
  CREATE TABLE batches (
    id TEXT PRIMARY KEY,               -- UUIDv7
    rule TEXT NOT NULL,
    destination TEXT NOT NULL,
    template TEXT NOT NULL,
    key TEXT NOT NULL,                 -- the key's values, a JSON array
    key_label TEXT NOT NULL,
    key_values TEXT NOT NULL,          -- JSON: path -> value
    spec TEXT NOT NULL,                -- JSON: the rule's batching when the last event joined
    pending INTEGER NOT NULL DEFAULT 0,
    due_at INTEGER,                    -- ms since epoch; NULL: nothing to send
    last_sent_at INTEGER,              -- ms since epoch
    window_start INTEGER,              -- the throttle's window, ms since epoch
    window_sent INTEGER NOT NULL DEFAULT 0,
    suppressed INTEGER NOT NULL DEFAULT 0,
    UNIQUE (rule, destination, template, key)
  );
  CREATE INDEX batches_due ON batches (due_at) WHERE due_at IS NOT NULL;
  CREATE TABLE batch_events (
    batch_id TEXT NOT NULL REFERENCES batches (id),
    event_id TEXT NOT NULL,
    PRIMARY KEY (batch_id, event_id)
  ) WITHOUT ROWID;
  CREATE INDEX batch_events_event ON batch_events (event_id);
  `,
  /* 12: email and Slack threads: who starts each, and how the rest refer to it (core/threads.ts) */ `
  CREATE TABLE threads (
    destination TEXT NOT NULL,
    thread_key TEXT NOT NULL,          -- a hash (pipeline/events/message-thread.ts): no personal value
    owner_delivery TEXT NOT NULL,      -- the delivery that starts the thread
    parent TEXT,                       -- Slack: the first message's ts; email: its Message-ID
    parent_channel TEXT,               -- Slack: the channel ID of the first message
    created_at INTEGER NOT NULL,       -- ms since epoch
    used_at INTEGER NOT NULL,          -- ms since epoch: the latest message of the thread
    PRIMARY KEY (destination, thread_key)
  ) WITHOUT ROWID;
  CREATE INDEX threads_used ON threads (used_at);
  `,
  /* 13: a subject's events (herald erase, store.ts eraseSubject; the console's timeline) and the console's event filters that can be rare (a subject, a type, an outcome such as "match"), newest or oldest first */ `
  CREATE INDEX events_subject ON events (subject, id);
  CREATE INDEX events_type ON events (type, id);
  CREATE INDEX events_outcome ON events (outcome, id);
  `,
  /* 14: the attempts of the last minutes, for each destination's delivery rate (store.ts recentAttempts; the console's Destinations page) */ `
  -- With the outcome, the count reads the index alone (and each attempt's delivery for its destination): a quarter of the time
  CREATE INDEX attempts_started ON attempts (started_at, outcome);
  `,
];
