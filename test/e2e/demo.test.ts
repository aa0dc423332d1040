import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/core/paths.js';

describe('npm run demo', function () {
  this.timeout(60_000);

  it('exits 0 and prints what each destination received', async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [path.join(PACKAGE_ROOT, 'dist/demo/run.js')], { timeout: 50_000 }, (error, out, err) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout: out, stderr: err }),
      );
    });
    assert.equal(code, 0, stderr + stdout);
    for (const provider of [
      'kyc kyc.session.rejected',
      'kyc watchlist.match',
      'owleyes verification.failed',
      'faceio DELETION',
      'facesign media.user_photo',
      'facesign session.status',
    ]) {
      assert.match(stdout, new RegExp(`sent ${provider.replace('.', '\\.')}: 200`));
    }
    assert.match(stdout, /compliance-slack \(Slack stand-in\) received [1-9]\d* messages/);
    assert.match(stdout, /compliance-email \(SMTP server\) received [1-9]\d* emails/);
    assert.match(stdout, /crm \(webhook receiver\) received [1-9]\d* signed webhooks/);
    assert.match(stdout, /signature verified/);
    assert.match(stdout, /FaceSign session sess_8Kq2vX4mN7pR is complete/, 'the session.status message says the status fetched from the API');
  });
});
