/**
 * References, reference cords and what a person at the bench gets wrong, on the real daemon and
 * simulated bench: a device left in the path, a device never connected, a cord that is not
 * reference grade, a verification too old, a worn cord, a wrong gender.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchConfig, DaemonProcess, simControl, startSimulatorProcess, tempDir, writeConfig, type SimulatorProcess } from '../helpers/daemon-harness.js';

interface JobReply {
  state: string;
  certificateId?: number;
  verdict?: string;
}
interface Cert {
  verdict: string;
  certificate: {
    subject: { description: { setup: { launchCord: { matingCount: number; verification?: { id: string; maxLossDb: number; matingCount: number } } } } };
    evaluation: {
      reasons: string[];
      setup: {
        warnings: { code: string }[];
        wear: unknown[];
        verifications: { cordId: string; verificationId: string; against: string; maxLossDb: number; limitDb: number; matingsSince: number }[];
      };
    };
  };
}

let sim: SimulatorProcess;
let tmp: ReturnType<typeof tempDir>;
let daemon: DaemonProcess;
const PLUG = { id: 'RP-1', connector: { family: 'MTP', gender: 'female' } };

beforeAll(async () => {
  sim = await startSimulatorProcess({ meter: 0, switch: 0, control: 0 });
  tmp = tempDir('mpocert-cords-');
  const bench = (id: string, testCords: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ ...benchConfig({ id, sim }), testCords, ...extra });
  const male = (id: string, extra: Record<string, unknown> = {}) => ({ id, connector: { family: 'MTP', gender: 'male' }, ...extra });
  daemon = await new DaemonProcess(
    writeConfig(
      tmp.dir,
      [
        // A cord rated for 5 matings: warn from 4 (80 %), refuse the 6th; verifications count from the reference.
        bench('wear', { launchCord: male('LC-W', { ratedMatingCycles: 5 }), referencePlug: PLUG }),
        bench('gender', { launchCord: { id: 'LC-F', connector: { family: 'MTP', gender: 'female' } }, referencePlug: PLUG }),
        bench('noplug', { launchCord: male('LC-N') }),
        bench('dirty', { launchCord: male('LC-D'), referencePlug: PLUG }),
        // The source's nominal output, 0.3 dB of room: a first reference through a device is refused.
        bench('nominal', { launchCord: male('LC-S'), referencePlug: PLUG }, { source: { nominalDbm: { '850': -20.0, '1300': -20.5 }, maxBelowDb: 0.3 } }),
        bench('drop', { launchCord: male('LC-R'), referencePlug: PLUG }),
      ],
      { cordVerification: { maxAgeDays: 7, maxMatings: 8 } },
    ),
  ).start();
});

afterAll(async () => {
  await daemon?.kill('SIGTERM');
  sim?.child.kill('SIGTERM');
  tmp?.remove();
});

const certify = (bench: string, serial: string) => daemon.api<JobReply & { error?: string; message?: string }>('POST', '/jobs', { bench, operator: 'ci', serial, wait: true });
const reference = (bench: string, body?: unknown) =>
  daemon.api<{ error?: string; message?: string; takenAt: string; cordVerification?: { maxLossDb: number | null; against: string; matingCount: number; lossDb: Record<string, number[]> }; acceptedDespite?: { reason: string; checks: string[] } }>(
    'POST',
    `/benches/${bench}/reference`,
    body,
  );
const cert = async (id: number): Promise<Cert> => (await daemon.api<Cert>('GET', `/certificates/${id}`)).json;

describe('reference cords', () => {
  it('verifies the launch cord against the reference plug at every reference, and the certificate names that verification', async () => {
    const ref = await reference('wear');
    expect(ref.status).toBe(200);
    // The simulator's plug pair loses 0.04 0.05 0.03 0.06 0.04 0.05 0.07 ... dB per fiber: highest 0.07.
    expect(ref.json.cordVerification).toMatchObject({ cordId: 'LC-W', against: 'RP-1', maxLossDb: 0.07, matingCount: 1 });
    expect(ref.json.cordVerification!.lossDb['850']).toEqual([0.04, 0.05, 0.03, 0.06, 0.04, 0.05, 0.07, 0.04, 0.03, 0.05, 0.06, 0.04]);
    const job = await certify('wear', 'GOOD-1');
    const c = await cert(job.json.certificateId!);
    expect(c.verdict).toBe('PASS');
    expect(c.certificate.evaluation.setup.verifications).toEqual([
      { role: 'launchCord', cordId: 'LC-W', verificationId: expect.any(String), at: expect.any(String), against: 'RP-1', maxLossDb: 0.07, limitDb: 0.1, matingsSince: 1 },
    ]);
  });

  it('counts matings from the verification, warns from 80 % of the rated cycles, refuses past 100 % until verified again', async () => {
    const warned: string[][] = [];
    for (let i = 2; i <= 5; i++) {
      const job = await certify('wear', 'GOOD-1');
      expect(job.json.verdict).toBe('PASS');
      warned.push((await cert(job.json.certificateId!)).certificate.evaluation.setup.warnings.map((w) => w.code));
    }
    // Matings since verification: 2, 3, 4, 5 (the verification itself was mating 1 of the cord).
    expect(warned).toEqual([[], [], ['CORD_WEAR_WARNING'], ['CORD_WEAR_WARNING']]);
    const refused = await certify('wear', 'GOOD-1');
    expect(refused.status).toBe(422);
    expect(refused.json.error).toBe('CORD_WORN_OUT');
    expect(refused.json.message).toContain('launch cord LC-W has 6 matings since it was verified, past its rated 5');
    expect((await reference('wear')).status).toBe(200);
    const after = await certify('wear', 'GOOD-1');
    expect((await cert(after.json.certificateId!)).certificate.evaluation.setup.wear).toEqual([
      { role: 'launchCord', id: 'LC-W', matingsSinceVerification: 1, ratedMatingCycles: 5 },
    ]);
  });

  it('refuses a cord that was never verified (no reference plug on the bench)', async () => {
    expect((await reference('noplug')).json.cordVerification).toBeUndefined();
    const refused = await certify('noplug', 'GOOD-1');
    expect(refused.status).toBe(422);
    expect(refused.json.error).toBe('CORD_NOT_VERIFIED');
    expect(refused.json.message).toContain('launch cord LC-N has no recorded verification as a reference-grade cord');
  });

  it('refuses a cord whose verification is above the reference grade (a dirty cord: 0.15 dB against 0.10 dB)', async () => {
    expect(await simControl(sim, 'PLUG LOSS 0.15')).toBe('OK');
    try {
      const ref = await reference('dirty');
      expect(ref.json.cordVerification!.maxLossDb).toBe(0.15);
    } finally {
      await simControl(sim, 'PLUG LOSS 0.04');
    }
    const refused = await certify('dirty', 'GOOD-1');
    expect(refused.status).toBe(422);
    expect(refused.json.error).toBe('CORD_NOT_REFERENCE_GRADE');
    expect(refused.json.message).toMatch(/^launch cord LC-D lost up to 0\.15 dB in verification [0-9a-f-]+ against RP-1, above the 0\.10 dB multimode reference grade: clean or replace it/);
  });

  it('refuses a cord mated more often since its verification than the quality plan allows (8)', async () => {
    expect((await reference('dirty')).json.cordVerification!.maxLossDb).toBe(0.04); // clean again
    for (let i = 1; i <= 8; i++) expect((await certify('dirty', 'GOOD-1')).json.verdict).toBe('PASS');
    const refused = await certify('dirty', 'GOOD-1');
    expect(refused.json.error).toBe('CORD_VERIFICATION_EXPIRED');
    expect(refused.json.message).toContain('launch cord LC-D has been mated 9 times since verification');
  });

  it('refuses a female launch cord on a female assembly before measuring, and mates nothing', async () => {
    expect((await reference('gender')).status).toBe(200);
    const before = (await daemon.api<{ cords: { matingCount: number }[] }>('GET', '/benches/gender/cords')).json.cords[0]!.matingCount;
    const refused = await certify('gender', 'GOOD-1');
    expect(refused.status).toBe(422);
    expect(refused.json.error).toBe('GENDER_MISMATCH');
    expect(refused.json.message).toMatch(/female-female mating refused/);
    expect((await daemon.api<{ cords: { matingCount: number }[] }>('GET', '/benches/gender/cords')).json.cords[0]!.matingCount).toBe(before);
  });
});

describe('a person who leaves the device in the path, or never connects it', () => {
  it('refuses a reference well below the last accepted one through the same cord, stores nothing, and a device left in the path even when a person overrides', async () => {
    const first = await reference('drop');
    expect(first.status).toBe(200);
    await simControl(sim, 'DUT INSERT mtp12-om4-good');
    await simControl(sim, 'OPERATOR STICKY');
    try {
      const refused = await reference('drop');
      expect(refused.status).toBe(422);
      expect(refused.json.error).toBe('REFERENCE_IMPLAUSIBLE');
      // mtp12-om4-good loses 0.21 0.18 0.33 0.27 0.15 0.4 0.24 0.3 0.19 0.45 0.26 0.22 dB at 850 nm:
      // every fiber above 0.2 dB is named (fibers 2, 5 and 9 drop by less).
      expect(refused.json.message).toContain('at 850 nm the reference is lower than the last accepted one through LC-R');
      expect(refused.json.message).toContain('by more than 0.20 dB on fiber 1 0.21 dB, fiber 3 0.33 dB, fiber 4 0.27 dB, fiber 6 0.40 dB, fiber 7 0.24 dB, fiber 8 0.30 dB, fiber 10 0.45 dB, fiber 11 0.26 dB, fiber 12 0.22 dB');
      expect(refused.json.message).toContain('a device or adapter still in the light path');
      const status = await daemon.api<{ benches: { id: string; reference: { takenAt: string } | null }[] }>('GET', '/status');
      expect(status.json.benches.find((b) => b.id === 'drop')!.reference!.takenAt).toBe(first.json.takenAt);
      // Overriding the drop check does not get a device-in-path reference through: the cord
      // verification then reads about 0 dB (the plug never reached the launch cord).
      const overridden = await reference('drop', { acceptDespite: 'source module replaced, work order 4711' });
      expect(overridden.status).toBe(422);
      expect(overridden.json.message).toMatch(/^reference refused, nothing stored: the launch cord reads within 0\.03 dB of 0 dB on every fiber through reference plug RP-1: the plug was not in the light path/);
    } finally {
      await simControl(sim, 'OPERATOR NORMAL');
      await simControl(sim, 'DUT REMOVE');
    }
  });

  it('accepts a lower reference with a reason (a weaker source fitted), and the certificate says so', async () => {
    expect((await reference('drop')).status).toBe(200);
    await simControl(sim, 'SOURCE OFFSET -0.5');
    try {
      expect((await reference('drop')).json.error).toBe('REFERENCE_IMPLAUSIBLE');
      const accepted = await reference('drop', { acceptDespite: 'source module replaced, work order 4711' });
      expect(accepted.status).toBe(200);
      // Both wavelengths dropped 0.50 dB on every fiber: two checks overridden, each recorded.
      expect(accepted.json.acceptedDespite!.reason).toBe('source module replaced, work order 4711');
      expect(accepted.json.acceptedDespite!.checks.map((c) => c.slice(0, 60))).toEqual([
        'at 850 nm the reference is lower than the last accepted one ',
        'at 1300 nm the reference is lower than the last accepted one',
      ]);
      const job = await certify('drop', 'GOOD-1');
      const c = (await daemon.api<{ certificate: { reference: { acceptedDespite?: { reason: string } }; subject: { product: string } } }>('GET', `/certificates/${job.json.certificateId}`)).json;
      expect(c.certificate.reference.acceptedDespite?.reason).toBe('source module replaced, work order 4711');
      expect(c.certificate.subject.product).toBe('MTP12-OM4-LOSS');
    } finally {
      await simControl(sim, 'SOURCE OFFSET 0');
    }
  });

  it('refuses a first reference taken through a device: below the source nominal power', async () => {
    await simControl(sim, 'DUT INSERT mtp12-om4-good');
    await simControl(sim, 'OPERATOR STICKY');
    try {
      const refused = await reference('nominal');
      expect(refused.status).toBe(422);
      // Source -20.00 dBm at 850 nm, launch cord 0.10-0.14 dB, device 0.15-0.45 dB: fiber 10 reads
      // -20 - 0.13 - 0.45 = -20.58 dBm, more than 0.3 dB below nominal.
      expect(refused.json.message).toContain("at 850 nm the reference is more than 0.30 dB below the source's nominal -20.00 dBm on");
      expect(refused.json.message).toContain('fiber 10 -20.58 dBm');
    } finally {
      await simControl(sim, 'OPERATOR NORMAL');
      await simControl(sim, 'DUT REMOVE');
    }
    expect((await reference('nominal')).status).toBe(200);
  });

  it('a job whose device was never connected (every fiber about 0 dB) is INVALID, naming the likely cause', async () => {
    await simControl(sim, 'OPERATOR FORGETFUL');
    let job;
    try {
      job = await certify('nominal', 'GOOD-1');
    } finally {
      await simControl(sim, 'OPERATOR NORMAL');
    }
    expect(job.json.verdict).toBe('INVALID');
    const reasons = (await cert(job.json.certificateId!)).certificate.evaluation.reasons;
    expect(reasons).toHaveLength(4); // 850 and 1300 nm, ends A and B
    expect(reasons[0]).toBe(
      'every fiber at 850 nm, end A reads within 0.03 dB of 0 dB (largest 0.00 dB): nothing is in the light path. The launch cord was measured against itself: the device under test was not connected, or the reference was taken through it. Connect the device (or re-reference with the launch cord alone) and test again [rule no-device-in-path: IEC 61280-4-5 / TIA-526-14 one-cord method: a device under test adds at least one mated pair to every fiber]',
    );
  });
});
