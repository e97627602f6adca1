import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { root, tempDir } from '../helpers/daemon-harness.js';

/** What a person at a terminal sees: one line naming the problem, an exit code, never a stack trace. */
const tmp = tempDir('mpocert-cli-');
afterAll(() => tmp.remove());

function mpocert(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'dist/src/cli/main.js'), ...args], { encoding: 'utf8', env: { ...process.env, MPOCERT_URL: 'http://127.0.0.1:1' } });
  expect(r.stderr).not.toMatch(/^\s+at /m);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('mpocert command errors', () => {
  it('names the config file and the problem', () => {
    const missing = join(tmp.dir, 'nope.yaml');
    expect(mpocert('serve', '--config', missing)).toMatchObject({ status: 2, stderr: `mpocert: cannot read config file: ENOENT (file=${missing})\n` });
    const bad = join(tmp.dir, 'bad.yaml');
    writeFileSync(bad, 'dataDir: x\nhttp: { token: 0123456789abcdefX }\nbenches: []\n');
    expect(mpocert('serve', '--config', bad)).toMatchObject({
      status: 2,
      stderr: `mpocert: config key benches: must NOT have fewer than 1 items (file=${bad} key=benches)\n`,
    });
  });

  it('says where it looked when no daemon answers', () => {
    const r = mpocert('status');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^mpocert: no mpocert daemon answers at http:\/\/127\.0\.0\.1:1 \(is it running\? start it with "npm start" or "mpocert serve"\)/);
  });

  it('refuses certify without exactly one subject', () => {
    expect(mpocert('certify', '--bench', 'demo')).toMatchObject({ status: 2, stderr: 'mpocert certify: give exactly one of --serial (assembly) or --link (installed link)\n' });
  });

  it('judges a record offline with the documented exit codes', () => {
    expect(mpocert('evaluate', join(root, 'fixtures/records/assembly-mtp12-om4-pass.json')).status).toBe(0);
    const fail = mpocert('evaluate', join(root, 'fixtures/records/assembly-mtp12-om4-fail-fiber7.json'));
    expect(fail.status).toBe(1);
    expect(JSON.parse(fail.stdout)).toMatchObject({ verdict: 'FAIL' });
    const bad = join(tmp.dir, 'bad-record.json');
    writeFileSync(bad, JSON.stringify({ kind: 'assembly' }));
    expect(mpocert('evaluate', bad)).toMatchObject({ status: 2, stderr: 'mpocert evaluate: /serialNumber: is required\n' });
  });

  it('rejects an unknown command', () => {
    const r = mpocert('certfy');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("error: unknown command 'certfy'");
  });
});
