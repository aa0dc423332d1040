/**
 * PostgreSQL schema migrations, applied in order; each runs once and its number
 * is recorded in schema_migrations. Never edit a shipped one: append a new one.
 *
 * Several herald processes may start at the same instant against an empty
 * schema: the pending migrations run in ONE transaction under an advisory lock,
 * so the first process applies them and the others, once they get the lock,
 * find them applied. A role without CREATE rights can run herald against a
 * schema an owner migrated (`herald migrate`): nothing is locked or created
 * when the schema is already up to date.
 */
import type pg from 'pg';
import { StoreUnavailableError } from '../../core/errors.js';

export const POSTGRES_MIGRATIONS: readonly string[] = [
  /* 1: events, their dedupe keys, and claims for routing */ `
  CREATE TABLE events (
    id text COLLATE "C" PRIMARY KEY,      -- UUIDv7: sorts by time received
    source text NOT NULL,
    provider text NOT NULL,
    type text NOT NULL,
    category text NOT NULL,
    outcome text,
    subject text,
    time text NOT NULL,
    received_at timestamptz NOT NULL,
    provider_event_id text,
    dedupe_key text NOT NULL,
    body json NOT NULL,                   -- the normalized event; json keeps the text exactly as written
    routed_at timestamptz,
    rules_version text,
    -- Which process is routing the event, until when (ms since epoch): the
    -- others skip it meanwhile, and take it over if that process died.
    route_claimed_by text,
    route_claim_expires_at bigint
  );
  CREATE INDEX events_source ON events (source, id);
  CREATE INDEX events_unrouted ON events (id) WHERE routed_at IS NULL;
  CREATE INDEX events_received ON events (received_at);
  -- One row per (source, key) while the key is remembered; an expired row is
  -- taken over by the next event with that key.
  CREATE TABLE event_dedupe (
    source text COLLATE "C" NOT NULL,
    dedupe_key text COLLATE "C" NOT NULL,
    event_id text COLLATE "C" NOT NULL,
    expires_at bigint NOT NULL,           -- ms since epoch
    PRIMARY KEY (source, dedupe_key)
  );
  CREATE INDEX event_dedupe_expires ON event_dedupe (expires_at);
  `,
  /* 2: deliveries and their attempts */ `
  CREATE TABLE deliveries (
    id text COLLATE "C" PRIMARY KEY,      -- UUIDv7; also the outbound webhook-id
    event_id text COLLATE "C" NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    rule text NOT NULL,
    destination text NOT NULL,
    template text NOT NULL,
    message json,                         -- the rendered message; null when rendering failed
    status text NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at bigint NOT NULL,      -- ms since epoch
    claimed_by text,
    claim_expires_at bigint,              -- ms since epoch
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    last_error text
  );
  -- What the deliver stage asks for: due, unclaimed work of one destination.
  CREATE INDEX deliveries_due ON deliveries (destination, next_attempt_at) WHERE status = 'pending';
  -- The few deliveries claimed right now: for nextDueAt and releasing claims, without scanning a backlog.
  CREATE INDEX deliveries_claimed ON deliveries (destination) WHERE status = 'pending' AND claim_expires_at IS NOT NULL;
  CREATE INDEX deliveries_event ON deliveries (event_id);
  CREATE INDEX deliveries_dead ON deliveries (updated_at) WHERE status = 'dead';
  CREATE TABLE attempts (
    delivery_id text COLLATE "C" NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt integer NOT NULL,
    started_at bigint NOT NULL,           -- ms since epoch
    duration_ms integer NOT NULL,
    outcome text NOT NULL,                -- delivered | retry | dead
    status integer,                       -- HTTP status or SMTP reply code
    reason text,
    error text,
    response_excerpt text,
    PRIMARY KEY (delivery_id, attempt)
  );
  `,
  /* 3: the audit log: who did what to what (store.ts AuditEntry) */ `
  CREATE TABLE audit_log (
    id text COLLATE "C" PRIMARY KEY,      -- UUIDv7: sorts by time written
    at bigint NOT NULL,                   -- ms since epoch
    actor text NOT NULL,
    action text NOT NULL,
    target text COLLATE "C" NOT NULL,
    detail json                           -- or null
  );
  CREATE INDEX audit_log_target ON audit_log (target, id);
  `,
  /* 4: what went wrong while routing an event (a rule's condition threw on it) */ `
  ALTER TABLE events ADD COLUMN routing_errors json;  -- list of {rule, error}; null when nothing did
  `,
  /* 5: a retried delivery's maximum age and retry schedule count from its retry */ `
  ALTER TABLE deliveries ADD COLUMN retried_at bigint;  -- ms since epoch; null until retried
  `,
  /* 6: one row that readiness writes, to know the database takes writes */ `
  CREATE TABLE store_probe (id integer PRIMARY KEY CHECK (id = 1), written_at bigint NOT NULL);
  `,
  /* 7: the events reserved for routing right now, by claimant: a dead process's are released at once */ `
  CREATE INDEX events_route_claimed ON events (route_claimed_by) WHERE routed_at IS NULL AND route_claimed_by IS NOT NULL;
  `,
  /* 8: events waiting for enrichment (pipeline/stages/enrich.ts) before they are routed */ `
  ALTER TABLE events ADD COLUMN enrich_due_at bigint;   -- ms since epoch; NULL: nothing to wait for
  ALTER TABLE events ADD COLUMN enrich_attempts integer NOT NULL DEFAULT 0;
  CREATE INDEX events_enrich_due ON events (enrich_due_at) WHERE enrich_due_at IS NOT NULL;
  `,
  /* 9: the media archive (pipeline/stages/media-archive.ts): records, bytes kept in the database, shared secrets */ `
  CREATE TABLE media (
    id text COLLATE "C" PRIMARY KEY,      -- the event's id: one file per event
    event_id text NOT NULL,               -- no foreign key: retention deletes the event, then the file and this row
    subject text,
    sha256 text NOT NULL,
    bytes bigint NOT NULL,
    content_type text NOT NULL,
    created_at bigint NOT NULL            -- ms since epoch
  );
  CREATE INDEX media_event ON media (event_id);
  CREATE INDEX media_subject ON media (subject);
  CREATE TABLE media_content (id text COLLATE "C" PRIMARY KEY, content bytea NOT NULL);  -- media.store: store
  CREATE TABLE shared_secrets (name text PRIMARY KEY, value bytea NOT NULL);
  `,
  /* 10: batches of rules with group, digest or throttle (routing/batching.ts) and their pending events */ `
  CREATE TABLE batches (
    id text COLLATE "C" PRIMARY KEY,      -- UUIDv7
    rule text NOT NULL,
    destination text NOT NULL,
    template text NOT NULL,
    key text COLLATE "C" NOT NULL,        -- the key's values, a JSON array
    key_label text NOT NULL,
    key_values json NOT NULL,             -- path -> value
    spec json NOT NULL,                   -- the rule's batching when the last event joined
    pending integer NOT NULL DEFAULT 0,
    due_at bigint,                        -- ms since epoch; NULL: nothing to send
    last_sent_at bigint,                  -- ms since epoch
    window_start bigint,                  -- the throttle's window, ms since epoch
    window_sent integer NOT NULL DEFAULT 0,
    suppressed integer NOT NULL DEFAULT 0,
    -- Which process is sending the batch, until when (ms since epoch).
    claimed_by text,
    claim_expires_at bigint,
    UNIQUE (rule, destination, template, key)
  );
  CREATE INDEX batches_due ON batches (due_at) WHERE due_at IS NOT NULL;
  CREATE TABLE batch_events (
    batch_id text COLLATE "C" NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    event_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (batch_id, event_id)
  );
  CREATE INDEX batch_events_event ON batch_events (event_id);
  `,
  /* 11: email and Slack threads: who starts each, and how the rest refer to it (core/threads.ts) */ `
  CREATE TABLE threads (
    destination text COLLATE "C" NOT NULL,
    thread_key text COLLATE "C" NOT NULL,   -- a hash (pipeline/events/message-thread.ts): no personal value
    owner_delivery text COLLATE "C" NOT NULL, -- the delivery that starts the thread
    parent text,                            -- Slack: the first message's ts; email: its Message-ID
    parent_channel text,                    -- Slack: the channel ID of the first message
    created_at bigint NOT NULL,             -- ms since epoch
    used_at bigint NOT NULL,                -- ms since epoch: the latest message of the thread
    PRIMARY KEY (destination, thread_key)
  );
  CREATE INDEX threads_used ON threads (used_at);
  `,
  /* 12: a subject's events (herald erase, store.ts eraseSubject; the console's timeline) and the console's event filters that can be rare (a subject, a type, an outcome such as "match"), newest or oldest first */ `
  CREATE INDEX events_subject ON events (subject, id);
  CREATE INDEX events_type ON events (type, id);
  CREATE INDEX events_outcome ON events (outcome, id);
  `,
  /* 13: the attempts of the last minutes, for each destination's delivery rate (store.ts recentAttempts; the console's Destinations page) */ `
  CREATE INDEX attempts_started ON attempts (started_at);
  `,
];

/** Every herald of one database takes this lock to migrate (any schema): migrations are rare and short. */
const MIGRATION_LOCK = 'herald:migrate';

/** Brings the schema up to date; returns its version. `schema` is created when missing. */
export async function migratePostgres(pool: pg.Pool, schema: string | undefined): Promise<number> {
  const latest = POSTGRES_MIGRATIONS.length;
  let client: pg.PoolClient | undefined;
  try {
    if ((await appliedVersion(pool)) >= latest) return latest;
    client = await pool.connect();
    await client.query('BEGIN');
    // A migration may rewrite a big table: not bound by the queue's statement_timeout.
    await client.query('SET LOCAL statement_timeout = 0');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [MIGRATION_LOCK]);
    // Under the lock, look again: another process may have migrated meanwhile.
    if (schema && (await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount === 0) {
      await client.query(`CREATE SCHEMA ${schema}`); // checked against a plain-identifier pattern
    }
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const applied = await appliedVersion(client);
    for (let version = applied + 1; version <= latest; version++) {
      await client.query(POSTGRES_MIGRATIONS[version - 1]!);
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
    }
    await client.query('COMMIT');
    return latest;
  } catch (error) {
    await client?.query('ROLLBACK').catch(() => {});
    throw new StoreUnavailableError(error);
  } finally {
    client?.release();
  }
}

/** The version the schema has (0 when herald never migrated it) and the one this herald needs. */
export async function postgresSchemaVersion(pool: pg.Pool): Promise<{ applied: number; latest: number }> {
  try {
    return { applied: await appliedVersion(pool), latest: POSTGRES_MIGRATIONS.length };
  } catch (error) {
    throw new StoreUnavailableError(error);
  }
}

async function appliedVersion(db: pg.Pool | pg.PoolClient): Promise<number> {
  const table = await db.query<{ exists: boolean }>(`SELECT to_regclass('schema_migrations') IS NOT NULL AS exists`);
  if (!table.rows[0]!.exists) return 0;
  const row = await db.query<{ v: number }>('SELECT COALESCE(MAX(version), 0)::int AS v FROM schema_migrations');
  return row.rows[0]!.v;
}
