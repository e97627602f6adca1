import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  benchConfig,
  DaemonProcess,
  startSimulatorProcess,
  tempDir,
  writeConfig,
  type SimulatorProcess,
} from '../support/daemon-harness.js';

interface JobReply {
  id: string;
  state: string;
  certificateId?: number;
}
interface SetupIssue {
  code: string;
  subject: string;
  message: string;
}
interface Cert {
  verdict: string;
  certificate: {
    evaluation: {
      setup: { accepted: boolean; warnings: SetupIssue[]; wear: { role: string; id: string; matingsSinceVerification: number; ratedMatingCycles: number }[] };
    };
    subject: { description: { setup: { launchCord: { id: string; matingCount: number } } } };
  };
}

let sim: SimulatorProcess;
let tmp: ReturnType<typeof tempDir>;
let daemon: DaemonProcess;

beforeAll(async () => {
  sim = await startSimulatorProcess({ meter: 0, switch: 0, control: 0 });
  tmp = tempDir('mpocert-cords-');
  const wearBench = {
    ...benchConfig({ id: 'wear', sim }),
    // A cord rated for 5 matings: warn from 4 (80 %), refuse the 6th.
    testCords: { launchCord: { id: 'LC-1', connector: { family: 'MTP', gender: 'male' }, ratedMatingCycles: 5 } },
  };
  const genderBench = {
    ...benchConfig({ id: 'gender', sim }),
    testCords: { launchCord: { id: 'LC-F', connector: { family: 'MTP', gender: 'female' } } },
  };
  daemon = await new DaemonProcess(writeConfig(tmp.dir, [wearBench, genderBench])).start();
  expect((await daemon.api('POST', '/benches/wear/reference')).status).toBe(200);
  expect((await daemon.api('POST', '/benches/gender/reference')).status).toBe(200);
});

afterAll(async () => {
  await daemon?.kill('SIGTERM');
  sim?.child.kill('SIGTERM');
  tmp?.remove();
});

const certify = (bench: string, serial: string) => daemon.api<JobReply & { error?: string; message?: string }>('POST', '/jobs', { bench, operator: 'ci', serial, wait: true });

describe('test cords', () => {
  it('counts matings, warns from 80 % of the rated cycles and refuses past 100 % until re-verified', async () => {
    const counts: number[] = [];
    for (let i = 1; i <= 5; i++) {
      const job = await certify('wear', 'GOOD-1');
      expect(job.json.state).toBe('completed');
      const cert = (await daemon.api<Cert>('GET', `/certificates/${job.json.certificateId}`)).json;
      counts.push(cert.certificate.subject.description.setup.launchCord.matingCount);
      const warned = cert.certificate.evaluation.setup.warnings.map((w) => w.code);
      expect(warned).toEqual(i >= 4 ? ['CORD_WEAR_WARNING'] : []);
      expect(cert.verdict).toBe('PASS');
    }
    expect(counts).toEqual([1, 2, 3, 4, 5]);

    const refused = await certify('wear', 'GOOD-1');
    expect(refused.status).toBe(422);
    expect(refused.json.error).toBe('CORD_WORN_OUT');
    expect(refused.json.message).toContain('launch cord LC-1 has 6 matings, past its rated 5');

    const cords = await daemon.api<{ cords: { cordId: string; matingCount: number }[] }>('GET', '/benches/wear/cords');
    expect(cords.json.cords).toMatchObject([{ role: 'launchCord', cordId: 'LC-1', matingCount: 5 }]);

    expect((await daemon.api('POST', '/benches/wear/cords/LC-1/reverify', { operator: 'qa' }, null)).status).toBe(401);
    const reverified = await daemon.api<{ matingCount: number; reverifiedAtMatingCount: number; reverifiedBy: string }>(
      'POST',
      '/benches/wear/cords/LC-1/reverify',
      { operator: 'qa' },
    );
    expect(reverified.json).toMatchObject({ matingCount: 5, reverifiedAtMatingCount: 5, reverifiedBy: 'qa' });

    const after = await certify('wear', 'GOOD-1');
    expect(after.json.state).toBe('completed');
    const cert = (await daemon.api<Cert>('GET', `/certificates/${after.json.certificateId}`)).json;
    expect(cert.certificate.evaluation.setup.wear).toEqual([{ role: 'launchCord', id: 'LC-1', matingsSinceVerification: 1, ratedMatingCycles: 5 }]);
  });

  it('refuses a female launch cord on a female assembly before measuring, and records no job', async () => {
    const refused = await certify('gender', 'GOOD-1');
    expect(refused.status).toBe(422);
    expect(refused.json.error).toBe('GENDER_MISMATCH');
    expect(refused.json.message).toMatch(/female.*female/);
    const cords = await daemon.api<{ cords: { matingCount: number }[] }>('GET', '/benches/gender/cords');
    expect(cords.json.cords[0]!.matingCount).toBe(0);
  });
});
