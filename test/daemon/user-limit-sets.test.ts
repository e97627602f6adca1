/**
 * User limit sets on the daemon: logged at start-up with file and hash, shown on the face of every
 * certificate they judge, and never allowed to take a shipped id (which would re-judge every
 * certificate naming that id without a version).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRODUCTS } from '../../fixtures/harness/products.js';
import { benchConfig, DaemonProcess, root, startSimulatorProcess, tempDir, writeConfig, type SimulatorProcess } from '../helpers/daemon-harness.js';

let sim: SimulatorProcess;
let tmp: ReturnType<typeof tempDir>;
let daemon: DaemonProcess;
let userFile: string;

/** A customer spec tighter than MTP: 0.35 dB multimode, on top of the shipped grades. */
const ACME = {
  id: 'acme-trunks',
  version: '2.1',
  title: 'ACME trunk spec',
  source: 'ACME purchase spec 4711 rev B',
  includes: [{ id: 'mtp-mpo-connector-grades', version: '1.1.0' }],
  connectorGrades: { 'ACME-MTP': { insertionLossDb: { multimode: 0.35 }, ratedMatingCycles: 500 } },
};

beforeAll(async () => {
  sim = await startSimulatorProcess({ meter: 0, switch: 0, control: 0 });
  tmp = tempDir('mpocert-user-sets-');
  mkdirSync(join(tmp.dir, 'limits'));
  userFile = join(tmp.dir, 'limits', 'acme.json');
  writeFileSync(userFile, JSON.stringify(ACME, null, 2));
  const products = {
    ...PRODUCTS,
    'ACME-12': {
      ...PRODUCTS['MTP12-OM4-LOSS'],
      connectors: { A: { family: 'MTP', gender: 'female', grade: 'ACME-MTP' }, B: { family: 'MTP', gender: 'female', grade: 'ACME-MTP' } },
      limitSet: { id: 'acme-trunks', version: '2.1' },
    },
  };
  // The product's grade is ACME's: so must the launch cord's be (an MTP cord, 0.60 dB, would be refused).
  const testCords = { launchCord: { id: 'LC-A', connector: { family: 'MTP', gender: 'male', grade: 'ACME-MTP' } }, referencePlug: { id: 'RP-A', connector: { family: 'MTP', gender: 'female' } } };
  daemon = await new DaemonProcess(
    writeConfig(tmp.dir, [{ ...benchConfig({ id: 'b1', sim }), defaultProduct: 'ACME-12', testCords }], { products, limits: { userDir: join(tmp.dir, 'limits') } }),
  ).start();
});

afterAll(async () => {
  await daemon?.kill('SIGTERM');
  sim?.child.kill('SIGTERM');
  tmp?.remove();
});

describe('user limit sets', () => {
  it('are logged at start-up with their file and SHA-256', () => {
    const sha256 = createHash('sha256').update(readFileSync(userFile)).digest('hex');
    const line = daemon.log.find((l) => l.includes('user limit set loaded'));
    expect(JSON.parse(line!)).toMatchObject({ msg: 'user limit set loaded', limitSet: 'acme-trunks@2.1', sha256, file: expect.stringMatching(/limits\/acme\.json$/) });
  });

  it('are shown on the face of the certificate they judge: JSON, page and CSV', async () => {
    expect((await daemon.api('POST', '/benches/b1/reference')).status).toBe(200);
    const job = await daemon.api<{ certificateId: number; verdict: string }>('POST', '/jobs', { bench: 'b1', operator: 'ci', serial: 'GOOD-1', wait: true });
    // mtp12-om4-good goes up to 0.45 dB: against ACME's 0.35 dB it fails.
    expect(job.json.verdict).toBe('FAIL');
    const id = job.json.certificateId;
    const cert = await daemon.api<{ limitSet: { id: string; version: string }; certificate: { evaluation: { limitSet: { origin: string; fileSha256: string } } } }>('GET', `/certificates/${id}`);
    const sha256 = createHash('sha256').update(readFileSync(userFile)).digest('hex');
    expect(cert.json.limitSet).toEqual({ id: 'acme-trunks', version: '2.1' });
    expect(cert.json.certificate.evaluation.limitSet).toMatchObject({ origin: 'user', fileSha256: sha256 });
    expect((await daemon.api('GET', `/certificates/${id}?format=html`)).text).toContain(`(acme-trunks version 2.1) <b>user limit set</b>, file sha256 ${sha256}`);
    expect((await daemon.api('GET', `/certificates/${id}?format=csv`)).text.split('\r\n')[1]).toMatch(new RegExp(`^${id},GOOD-1,FAIL,acme-trunks@2\\.1 \\(user set\\),1,850,A,`));
  });

  it('may not take a shipped id: the daemon refuses to start and says why', () => {
    const bad = tempDir('mpocert-user-sets-bad-');
    try {
      mkdirSync(join(bad.dir, 'limits'));
      writeFileSync(join(bad.dir, 'limits', 'loose.json'), JSON.stringify({ ...ACME, id: 'mtp-mpo-connector-grades', version: '9.0' }));
      const config = writeConfig(bad.dir, [benchConfig({ id: 'b1', sim })], { limits: { userDir: join(bad.dir, 'limits') } });
      const r = spawnSync(process.execPath, [join(root, 'dist/src/cli/main.js'), 'serve', '--config', config], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^mpocert: .*loose\.json: \/id: mtp-mpo-connector-grades is a shipped limit set \(.*mtp-mpo-connector-grades@1\.\d\.\d\.json\); a user set needs an id of its own \(e\.g\. acme-mtp-mpo-connector-grades\)\n$/);
    } finally {
      bad.remove();
    }
  });
});
