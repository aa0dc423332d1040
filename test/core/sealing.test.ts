/** The sealing envelope (core/sealing.ts): AES-256-GCM with key ids; errors name a key id, never a key. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DataKeyError, DataKeyring, generateDataKey, keyIdOf, sealedKeyId, SealedDataError } from '../../src/core/sealing.js';

describe('sealing (encryption at rest)', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);

  it('seals text and bytes so that only the key opens them, with the key id in front', () => {
    const keys = new DataKeyring(k1);
    const sealed = keys.sealText('{"name":"Ada Lovelace"}', 'event:1');
    assert.ok(!sealed.includes('Ada'));
    assert.equal(sealedKeyId(sealed), keyIdOf(k1));
    assert.match(keyIdOf(k1), /^[0-9a-f]{8}$/);
    assert.equal(keys.openText(sealed, 'event:1'), '{"name":"Ada Lovelace"}');
    assert.notEqual(keys.sealText('same', 'c'), keys.sealText('same', 'c'), 'a fresh nonce each time');
    const image = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
    const bytes = keys.sealBytes(image, 'media:1');
    assert.equal(bytes.indexOf(image), -1);
    assert.equal(sealedKeyId(bytes), keyIdOf(k1));
    assert.deepEqual(keys.openBytes(bytes, 'media:1'), image);
  });

  it('opens what an older key sealed, and seals under the current one', () => {
    const old = new DataKeyring(k1).sealText('payload', 'event:1');
    const rotated = new DataKeyring(k2, [k1]);
    assert.equal(rotated.openText(old, 'event:1'), 'payload');
    assert.equal(sealedKeyId(rotated.sealText('payload', 'event:1')), keyIdOf(k2));
    assert.deepEqual(rotated.keyIds, [keyIdOf(k2), keyIdOf(k1)]);
  });

  it('refuses a value of a key it lacks, naming the key id and never a key', () => {
    const sealed = new DataKeyring(k2).sealText('payload', 'event:1');
    for (const keys of [new DataKeyring(k1), new DataKeyring(null)]) {
      assert.throws(
        () => keys.openText(sealed, 'event:1'),
        (error: unknown) => {
          assert.ok(error instanceof SealedDataError);
          assert.equal(error.keyId, keyIdOf(k2));
          assert.match(error.message, new RegExp(`data key ${keyIdOf(k2)}`));
          assert.match(error.message, /HERALD_DATA_KEY/);
          for (const key of [k1, k2]) assert.ok(!error.message.includes(key.toString('base64')));
          return true;
        },
      );
    }
  });

  it('refuses an altered value, and one moved to another row', () => {
    const keys = new DataKeyring(k1);
    const sealed = keys.sealText('payload', 'event:1');
    assert.throws(() => keys.openText(sealed, 'event:2'), /does not open/);
    const body = Buffer.from(sealed.split(':')[2]!, 'base64');
    body.writeUInt8(body.at(-1)! ^ 1, body.length - 1);
    assert.throws(() => keys.openText(`hs1:${keyIdOf(k1)}:${body.toString('base64')}`, 'event:1'), /altered/);
  });

  it('reads its keys from the environment, and says which variable is wrong without repeating it', () => {
    const current = generateDataKey();
    const old = generateDataKey();
    const keys = DataKeyring.fromEnv({ HERALD_DATA_KEY: current, HERALD_DATA_KEYS_OLD: ` ${old} ,` });
    assert.deepEqual(keys.keyIds, [keyIdOf(Buffer.from(current, 'base64')), keyIdOf(Buffer.from(old, 'base64'))]);
    assert.equal(DataKeyring.fromEnv({}).sealing, false);
    const short = randomBytes(16).toString('base64');
    assert.throws(
      () => DataKeyring.fromEnv({ HERALD_DATA_KEY: short }),
      (error: unknown) => error instanceof DataKeyError && /HERALD_DATA_KEY must be/.test(error.message) && !error.message.includes(short),
    );
    assert.throws(() => DataKeyring.fromEnv({ HERALD_DATA_KEY: current, HERALD_DATA_KEYS_OLD: `${old},nonsense` }), /HERALD_DATA_KEYS_OLD \(key 2\)/);
  });
});
