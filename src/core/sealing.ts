/**
 * Sealing: how herald encrypts what it keeps at rest (README, "Encryption at
 * rest"). AES-256-GCM from node:crypto, a fresh 12-byte nonce per value, and
 * the key id in front of every sealed value so that a value sealed under an
 * older key stays readable while `herald keys rotate` re-seals it.
 *
 * - A sealed text is `hs1:<key id>:<base64 of nonce | tag | ciphertext>`.
 * - Sealed bytes (media files) are `HSB1`, the key id as 4 bytes, then
 *   nonce | tag | ciphertext.
 *
 * The key id is the first 8 hex digits of the SHA-256 of the key: it names a
 * key in messages without revealing it. `context` (an event id, a delivery
 * id...) is authenticated with the value, so a sealed value moved to another
 * row does not open there. No message or error ever contains a key.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** The environment variable of the current data key, and the one listing older keys that still open what they sealed. */
export const DATA_KEY_ENV = 'HERALD_DATA_KEY';
export const OLD_DATA_KEYS_ENV = 'HERALD_DATA_KEYS_OLD';

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const TEXT_PREFIX = 'hs1:';
const BYTES_MAGIC = Buffer.from('HSB1', 'ascii');
const SEALED_TEXT = /^hs1:([0-9a-f]{8}):([A-Za-z0-9+/]+={0,2})$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** A data key that cannot be used (malformed setting). The message names the variable, never its value. */
export class DataKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataKeyError';
  }
}

/**
 * A sealed value that cannot be opened: sealed under a key this herald does not
 * have, or altered. Names the key id (never a key) and what to do.
 */
export class SealedDataError extends Error {
  constructor(
    message: string,
    readonly keyId: string | null,
  ) {
    super(message);
    this.name = 'SealedDataError';
  }
}

/** The id of a key: the first 8 hex digits of its SHA-256. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/** A new data key for HERALD_DATA_KEY: 32 random bytes, base64. */
export function generateDataKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

/** Whether a stored text is a sealed value (rather than a value stored as it is). */
export function isSealedText(value: string): boolean {
  return value.startsWith(TEXT_PREFIX);
}

/** Whether stored bytes are sealed. */
export function isSealedBytes(value: Buffer): boolean {
  return value.length >= BYTES_MAGIC.length && value.subarray(0, BYTES_MAGIC.length).equals(BYTES_MAGIC);
}

/** The key id a sealed text or sealed bytes were sealed under, or null for a value stored as it is. */
export function sealedKeyId(value: string | Buffer): string | null {
  if (typeof value === 'string') return isSealedText(value) ? value.slice(TEXT_PREFIX.length, TEXT_PREFIX.length + 8) : null;
  return isSealedBytes(value) ? value.subarray(4, 8).toString('hex') : null;
}

/**
 * The data keys herald holds: the current one, which seals, and older ones,
 * which only open. Without a current key nothing is sealed (values are stored
 * as they are), but sealed values still need their key to be read.
 */
export class DataKeyring {
  private readonly keys = new Map<string, Buffer>();
  /** The id of the key that seals, or null when there is none. */
  readonly currentKeyId: string | null;

  constructor(current: Buffer | null, old: readonly Buffer[] = []) {
    for (const key of [...(current ? [current] : []), ...old]) {
      if (key.length !== KEY_BYTES) throw new DataKeyError(`a data key must be ${KEY_BYTES} bytes`);
      this.keys.set(keyIdOf(key), key);
    }
    this.currentKeyId = current ? keyIdOf(current) : null;
  }

  /**
   * Reads HERALD_DATA_KEY (the current key) and HERALD_DATA_KEYS_OLD (older
   * keys, comma-separated) from `env`: each the base64 of 32 bytes. A
   * DataKeyError names the variable that is wrong, never its value.
   */
  static fromEnv(env: NodeJS.ProcessEnv): DataKeyring {
    const current = env[DATA_KEY_ENV]?.trim() ? parseKey(env[DATA_KEY_ENV]!.trim(), DATA_KEY_ENV) : null;
    const old = (env[OLD_DATA_KEYS_ENV] ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean)
      .map((k, i) => parseKey(k, `${OLD_DATA_KEYS_ENV} (key ${i + 1})`));
    return new DataKeyring(current, old);
  }

  /**
   * The raw keys, the current one first, for the same keyring on another
   * thread of this process (the deliver thread: `new DataKeyring(...)` there).
   * Key material: never logged, never sent outside the process.
   */
  material(): { current: Buffer | null; old: Buffer[] } {
    const keys = [...this.keys.values()];
    return this.currentKeyId === null ? { current: null, old: keys } : { current: keys[0]!, old: keys.slice(1) };
  }

  /** Whether values are sealed when written. */
  get sealing(): boolean {
    return this.currentKeyId !== null;
  }

  /** The ids of every key held, the current one first. */
  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  /** Seals a text under the current key; a SealedDataError when there is none. */
  sealText(plaintext: string, context: string): string {
    const { keyId, parts } = this.encrypt(Buffer.from(plaintext, 'utf8'), context);
    return `${TEXT_PREFIX}${keyId}:${Buffer.concat(parts).toString('base64')}`;
  }

  /** Opens a sealed text; a SealedDataError naming the key id when its key is not held or it was altered. */
  openText(sealed: string, context: string): string {
    const match = SEALED_TEXT.exec(sealed);
    if (!match) throw new SealedDataError('a stored value starts like a sealed one but is not: the store was altered', null);
    return this.decrypt(match[1]!, Buffer.from(match[2]!, 'base64'), context).toString('utf8');
  }

  /** Seals bytes under the current key (media files). */
  sealBytes(plaintext: Buffer, context: string): Buffer {
    const { keyId, parts } = this.encrypt(plaintext, context);
    return Buffer.concat([BYTES_MAGIC, Buffer.from(keyId, 'hex'), ...parts]);
  }

  /** Opens sealed bytes. */
  openBytes(sealed: Buffer, context: string): Buffer {
    if (!isSealedBytes(sealed) || sealed.length < 8 + NONCE_BYTES + TAG_BYTES) {
      throw new SealedDataError('stored bytes are not sealed ones: the store was altered', null);
    }
    return this.decrypt(sealed.subarray(4, 8).toString('hex'), sealed.subarray(8), context);
  }

  private encrypt(plaintext: Buffer, context: string): { keyId: string; parts: Buffer[] } {
    const keyId = this.currentKeyId;
    if (keyId === null) throw new SealedDataError(`nothing can be sealed without a data key: set ${DATA_KEY_ENV}`, null);
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(keyId)!, nonce);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { keyId, parts: [nonce, cipher.getAuthTag(), ciphertext] };
  }

  private decrypt(keyId: string, body: Buffer, context: string): Buffer {
    const key = this.keys.get(keyId);
    if (!key) {
      const held = this.keys.size === 0 ? `no data key is set (${DATA_KEY_ENV})` : `the keys set are ${this.keyIds.join(', ')}`;
      throw new SealedDataError(
        `stored data is sealed with data key ${keyId}, which this herald does not have (${held}): ` +
          `set that key in ${DATA_KEY_ENV}, or list it in ${OLD_DATA_KEYS_ENV}`,
        keyId,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, NONCE_BYTES));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(body.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(body.subarray(NONCE_BYTES + TAG_BYTES)), decipher.final()]);
    } catch {
      throw new SealedDataError(`a value sealed with data key ${keyId} does not open: it was altered, or moved from another row`, keyId);
    }
  }
}

function parseKey(text: string, variable: string): Buffer {
  const bytes = BASE64.test(text) ? Buffer.from(text, 'base64') : undefined;
  if (!bytes || bytes.length !== KEY_BYTES) {
    throw new DataKeyError(`${variable} must be the base64 of ${KEY_BYTES} random bytes: make one with \`herald keys generate --data-key\``);
  }
  return bytes;
}
