/**
 * The layer rule of eslint.config.js, run through ESLint's Node API on code
 * that exists only in memory: an import that points up a layer, or a library
 * outside its folder, fails lint; an import down a layer passes.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { ESLint } from 'eslint';
import { PACKAGE_ROOT } from '../../src/core/paths.js';

describe('the layer rule (eslint.config.js)', function () {
  // Loading typescript-eslint takes a few seconds on a busy machine.
  this.timeout(60_000);
  const eslint = new ESLint({ cwd: PACKAGE_ROOT });

  /** The messages of the layer rule for `code` as if it were the file `file`. */
  async function layerProblems(file: string, code: string): Promise<string[]> {
    const [result] = await eslint.lintText(code, { filePath: path.join(PACKAGE_ROOT, file) });
    return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
  }

  it('reports core importing the pipeline', async () => {
    const problems = await layerProblems('src/core/x.ts', "import { Ingest } from '../pipeline/stages/ingest.js';\nexport const x = Ingest;\n");
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /src\/core\/ must not import .*pipeline/);
  });

  it('reports a type-only import up a layer too', async () => {
    const problems = await layerProblems('src/channels/x.ts', "import type { RoutingSet } from '../pipeline/stages/route.js';\nexport type X = RoutingSet;\n");
    assert.equal(problems.length, 1);
  });

  it('reports the pipeline importing http, and a folder of the second layer importing its neighbour', async () => {
    assert.equal((await layerProblems('src/pipeline/stages/x.ts', "import { createApp } from '../../http/app.js';\nexport const x = createApp;\n")).length, 1);
    assert.equal((await layerProblems('src/render/x.ts', "import { loadConfig } from '../config/load.js';\nexport const x = loadConfig;\n")).length, 1);
  });

  it('reports Koa outside http/ and a database driver outside its store', async () => {
    assert.equal((await layerProblems('src/pipeline/x.ts', "import Koa from 'koa';\nexport const x = Koa;\n")).length, 1);
    assert.equal((await layerProblems('src/store/sqlite/x.ts', "import pg from 'pg';\nexport const x = pg;\n")).length, 1);
  });

  it('lets an import point down the layers, and each library stay in its folder', async () => {
    assert.deepEqual(
      await layerProblems(
        'src/pipeline/stages/x.ts',
        "import { newEventId } from '../../core/ids.js';\nimport type { Store } from '../../store/store.js';\nexport type X = Store;\nexport const x = newEventId;\n",
      ),
      [],
    );
    assert.deepEqual(await layerProblems('src/cli/x.ts', "import { startHerald } from '../app/start-herald.js';\nexport const x = startHerald;\n"), []);
    assert.deepEqual(await layerProblems('src/http/x.ts', "import Koa from 'koa';\nexport const x = Koa;\n"), []);
    assert.deepEqual(await layerProblems('src/store/postgres/x.ts', "import pg from 'pg';\nexport const x = pg;\n"), []);
  });
});
