/**
 * How the processes sharing a PostgreSQL store tell a dead process from a
 * slow one. Each serving process holds, on a connection of its own, a
 * session-level advisory lock whose key names the schema and the process's
 * claimant (the name on its claims). PostgreSQL drops the lock the moment the
 * session ends: at once when the process exits or is killed (its socket
 * closes), and within about 11 s when a machine vanishes (the TCP keepalives
 * set below give up on it). A claim whose claimant holds no lock belongs to a
 * dead process, and release-dead-claims.ts gives it back to the queue.
 *
 * Keys are two int4s: hashtext('herald:' || schema) and hashtext(claimant),
 * so installations in different schemas of one database never see each
 * other's locks (herald's migration lock is a single bigint key: another
 * space). A hash collision between two live claimants only makes a dead one
 * look alive: its claims then wait for their expiry, never the reverse.
 */
import pg from 'pg';
import { StoreUnavailableError } from '../../core/errors.js';
import type { PostgresTarget } from './connection.js';

/** The first key of every liveness lock: the schema's, as SQL. */
export const LIVENESS_NAMESPACE = `hashtext('herald:' || current_schema())`;
/** The two keys of a claimant's lock, as SQL; $1 is the claimant. */
export const LIVENESS_KEYS = `${LIVENESS_NAMESPACE}, hashtext($1)`;

/** After the lock's connection is lost (server restart, network), try again this often. */
const RECONNECT_MS = 1000;

export class LivenessLock {
  private client: pg.Client | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly target: PostgresTarget,
    private readonly claimant: string,
  ) {}

  /** Whether this process holds its lock now: it claims nothing while it does not. */
  get held(): boolean {
    return this.client !== undefined;
  }

  /** Connects and takes the lock; throws when either fails. */
  async take(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.target.connectionString,
      application_name: 'herald liveness',
      connectionTimeoutMillis: 5_000,
      // The client notices a dead server, the server a dead client machine: probes after 5 s idle, 3 x 2 s.
      keepAlive: true,
      keepAliveInitialDelayMillis: 5_000,
      options: [
        this.target.schema ? `-c search_path=${this.target.schema}` : '',
        '-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3',
      ]
        .filter(Boolean)
        .join(' '),
    });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(${LIVENESS_KEYS}) AS locked`, [this.claimant]);
      if (!rows[0]!.locked) throw new Error('another session holds the lock of this claimant');
    } catch (error) {
      await client.end().catch(() => {});
      throw new StoreUnavailableError(error);
    }
    if (this.closed) return void (await client.end().catch(() => {}));
    this.client = client;
  }

  /** Drops the lock (shutdown): from now on this process's claims count as a dead process's. */
  async release(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  /** The connection is gone, and the lock with it: take it again as soon as the server answers. */
  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    void client.end().catch(() => {});
    this.reconnectLater();
  }

  private reconnectLater(): void {
    if (this.closed) return;
    this.retry = setTimeout(() => {
      this.take().catch(() => this.reconnectLater());
    }, RECONNECT_MS);
    this.retry.unref();
  }
}
