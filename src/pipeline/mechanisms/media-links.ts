/**
 * herald's links to archived media (README, "Media archive"):
 * `<server.publicUrl>/media/<id>?exp=<unix s>&sig=<hmac>`, where sig is the
 * base64url HMAC-SHA256 of `<id>.<exp>` under a key herald keeps. The key is
 * derived (HKDF-SHA256, its own `info`) from `media.linkSecret` when the config
 * sets one, else from a random secret herald generates once and keeps in the
 * event store, so that every process on one store signs and checks alike and
 * links survive restarts. A link works until `exp`: `media.linkTtl` after the
 * message was made. Signatures are compared in constant time.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ArchivedMedia, NormalizedEvent } from '../../core/event.js';
import type { MediaConfig } from '../../core/config.js';
import type { Store } from '../../store/store.js';

/** The name of the generated secret in the store. */
const SECRET_NAME = 'media-links';
const KEY_INFO = 'herald media links v1';

/** What a link's check found. */
export type LinkCheck = 'valid' | 'bad-signature' | 'expired';

export class MediaLinks {
  constructor(
    private readonly key: Buffer,
    private readonly publicUrl: string,
    private readonly ttlMs: number,
  ) {}

  /** The links of a config's media archive, with the key from its linkSecret or the store's shared secret. */
  static async create(media: MediaConfig, publicUrl: string, store: Store): Promise<MediaLinks> {
    const secret = media.linkSecret !== undefined ? Buffer.from(media.linkSecret, 'utf8') : await store.sharedSecret(SECRET_NAME, randomBytes(32));
    const key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), KEY_INFO, 32));
    return new MediaLinks(key, publicUrl, media.linkTtlMs);
  }

  /** A link to media `id` that works until `now` + linkTtl, and that time (unix seconds). */
  link(id: string, now: number): { url: string; exp: number } {
    const exp = Math.floor((now + this.ttlMs) / 1000);
    return { url: `${this.publicUrl}/media/${encodeURIComponent(id)}?exp=${exp}&sig=${this.signature(id, String(exp))}`, exp };
  }

  /** Checks a link's `exp` and `sig` for media `id`: the signature first (a forged exp says nothing), then the time. */
  check(id: string, exp: unknown, sig: unknown, now: number): LinkCheck {
    if (typeof exp !== 'string' || typeof sig !== 'string' || !/^[0-9]{1,12}$/.test(exp)) return 'bad-signature';
    const expected = Buffer.from(this.signature(id, exp));
    const given = Buffer.from(sig);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'bad-signature';
    return Number(exp) * 1000 > now ? 'valid' : 'expired';
  }

  /**
   * The event as rules and templates see it: its archived media with a link
   * made now. Events without an archived file are returned as they are.
   */
  withLink(event: NormalizedEvent, now: number): NormalizedEvent {
    const archived = event.media?.archived;
    if (!archived) return event;
    const { url, exp } = this.link(archived.id, now);
    const linked: ArchivedMedia = { ...archived, url, linkExpires: new Date(exp * 1000).toISOString() };
    return { ...event, media: { ...event.media!, archived: linked } };
  }

  private signature(id: string, exp: string): string {
    return createHmac('sha256', this.key).update(`${id}.${exp}`).digest('base64url');
  }
}
