/**
 * herald's JSON Schemas are valid JSON Schema (draft-07, ajv's default): the
 * config's and the rules' files and each provider's payload schema. herald
 * compiles them without this check at start-up (SCHEMA_FILE_OPTIONS in
 * src/config/schema.ts, and the payload validators in ingest.ts), so a
 * mistake in one is caught here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { CONFIG_SCHEMA_FILE } from '../../src/config/schema.js';
import { RULES_SCHEMA_FILE } from '../../src/config/load-rules.js';
import { PROVIDERS } from '../../src/providers/registry.js';

describe("herald's JSON Schemas", () => {
  const ajv = new Ajv({ allErrors: true });
  const schemas: Array<[string, object]> = [
    [CONFIG_SCHEMA_FILE, JSON.parse(readFileSync(CONFIG_SCHEMA_FILE, 'utf8')) as object],
    [RULES_SCHEMA_FILE, JSON.parse(readFileSync(RULES_SCHEMA_FILE, 'utf8')) as object],
    ...Object.values(PROVIDERS).map((provider): [string, object] => [`the ${provider.id} payload schema`, provider.payloadSchema]),
  ];
  for (const [name, schema] of schemas) {
    it(`${name} is valid against the draft-07 meta-schema`, () => {
      assert.equal(ajv.validateSchema(schema), true, ajv.errorsText(ajv.errors));
    });
  }

  it('the check can fail: a schema with a misspelt type is refused', () => {
    assert.equal(ajv.validateSchema({ type: 'strnig' }), false);
  });
});
