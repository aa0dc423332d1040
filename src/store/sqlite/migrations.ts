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
];
