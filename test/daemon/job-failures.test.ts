import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRODUCTS } from '../../fixtures/harness/products.js';
import {
  benchConfig,
  DaemonProcess,
  simControl,
  startSimulatorProcess,
  tempDir,
  writeConfig,
  type SimulatorProcess,
} from '../helpers/daemon-harness.js';

interface JobReply {
  id: string;
  state: string;
  reason?: string;
  certificateId?: number;
  error?: string;
  message?: string;
}

let sim: SimulatorProcess;
let tmp: ReturnType<typeof tempDir>;
let daemon: DaemonProcess;

beforeAll(async () => {
  sim = await startSimulatorProcess({ meter: 0, switch: 0, control: 0 });
  tmp = tempDir('mpocert-failures-');
  const unplugged = {
    ...benchConfig({ id: 'unplugged', sim }),
    instruments: [
      // Port 1 on loopback: nothing listens there, as with an instrument that is switched off.
      { id: 'meter', dialect: 'thorlabs-pm100', timeoutMs: 500, transport: { kind: 'tcp', host: '127.0.0.1', port: 1 } },
      { id: 'switch', dialect: 'dicon-mems-switch', timeoutMs: 500, transport: { kind: 'tcp', host: '127.0.0.1', port: sim.endpoints.switch.kind === 'tcp' ? sim.endpoints.switch.port : 0 } },
    ],
  };
  const link = {
    kind: 'link',
    fiberCount: 12,
    fiberType: 'OM4',
    lengthM: 100,
    connections: 2,
    splices: 0,
    wavelengthsNm: [850],
    connectors: { A: { family: 'MTP', gender: 'female' }, B: { family: 'MTP', gender: 'female' } },
    requiredQuantities: ['insertionLoss'],
    limitSet: { id: 'mpocert-default', version: '1.1.0' },
  };
  const products = {
    ...PRODUCTS,
    'LINK-10G-100M': { ...link, application: '10GBASE-SR' },
    'LINK-XYZ': { ...link, application: '1.6TBASE-XYZ' },
    'MTP8-OM4': { ...PRODUCTS['MTP12-OM4-LOSS'], fiberCount: 8 },
    // A looser part number whose serials are MPO-...: a GOOD-1 cannot be certified as it.
    'MPO12-OM4-LOSS': {
      ...PRODUCTS['MTP12-OM4-LOSS'],
      serialPattern: 'MPO-[0-9]+',
      connectors: { A: { family: 'MPO', gender: 'female' }, B: { family: 'MPO', gender: 'female' } },
    },
    // The same part with MPO connectors (0.75 dB) and no serial pattern: a looser product.
    'MPO12-LOOSE': { ...PRODUCTS['MTP12-OM4-LOSS'], connectors: { A: { family: 'MPO', gender: 'female' }, B: { family: 'MPO', gender: 'female' } } },
    'MTP12-OS2-APC': {
      ...PRODUCTS['MTP12-OM4-LOSS'],
      fiberType: 'OS2',
      connectors: { A: { family: 'MTP', gender: 'female', polish: 'APC' }, B: { family: 'MTP', gender: 'female', polish: 'APC' } },
    },
  };
  daemon = await new DaemonProcess(
    writeConfig(tmp.dir, [benchConfig({ id: 'b1', sim }), unplugged], { reference: { maxAgeHours: 24 }, products }),
  ).start();
});

afterAll(async () => {
  await daemon?.kill('SIGTERM');
  sim?.child.kill('SIGTERM');
  tmp?.remove();
});

describe('jobs that cannot finish', () => {
  it('aborts the job when the meter stops answering, naming port and command, with no certificate', async () => {
    expect((await daemon.api('POST', '/benches/b1/reference')).status).toBe(200);
    // Enough dropped replies to outlast the driver's one retry.
    expect(await simControl(sim, 'FAULT meter drop 4')).toBe('OK');
    const job = await daemon.api<JobReply>('POST', '/jobs', { bench: 'b1', operator: 'ci', serial: 'GOOD-1', wait: true });
    await simControl(sim, 'FAULT CLEAR');
    expect(job.json.state).toBe('aborted');
    expect(job.json.certificateId).toBeUndefined();
    expect(job.json.reason).toMatch(/port=tcp:\/\/127\.0\.0\.1:\d+/);
    expect(job.json.reason).toMatch(/command=/);
    expect((await daemon.api<{ total: number }>('GET', '/certificates')).json.total).toBe(0);
    // The stored job says the same after the fact.
    const stored = await daemon.api<JobReply>('GET', `/jobs/${job.json.id}`);
    expect(stored.json).toMatchObject({ state: 'aborted', reason: job.json.reason });

    const metrics = await daemon.api('GET', '/metrics');
    expect(metrics.text).toMatch(/mpocert_instrument_errors_total\{bench="b1",code="INSTRUMENT_TIMEOUT"\} 1/);

    // The bench recovers: the next job on it completes.
    const next = await daemon.api<JobReply>('POST', '/jobs', { bench: 'b1', operator: 'ci', serial: 'GOOD-1', wait: true });
    expect(next.json.state).toBe('completed');
  });

  it('shows an unplugged instrument offline and refuses to reference through it', async () => {
    const status = await daemon.api<{ benches: { id: string; instruments: { id: string; state: string; lastError?: { message: string } }[] }[] }>('GET', '/status');
    const meter = status.json.benches.find((b) => b.id === 'unplugged')!.instruments.find((i) => i.id === 'meter')!;
    expect(meter.state).not.toBe('online');
    const ref = await daemon.api<{ error: string; message: string }>('POST', '/benches/unplugged/reference');
    expect(ref.status).toBe(502);
    expect(ref.json.error).toBe('INSTRUMENT_DISCONNECTED');
    expect(ref.json.message).toContain('tcp://127.0.0.1:1');
  });

  it('refuses a job on an expired reference', async () => {
    const expiring = tempDir('mpocert-expiry-');
    const short = await new DaemonProcess(
      writeConfig(expiring.dir, [benchConfig({ id: 'b1', sim })], { reference: { maxAgeHours: 0.0001 } }), // 0.36 s
    ).start();
    try {
      expect((await short.api('POST', '/benches/b1/reference')).status).toBe(200);
      await new Promise((r) => setTimeout(r, 500));
      const job = await short.api<JobReply>('POST', '/jobs', { bench: 'b1', operator: 'ci', serial: 'GOOD-1', wait: true });
      expect(job.status).toBe(422);
      expect(job.json.error).toBe('REFERENCE_EXPIRED');
      expect(job.json.message).toMatch(/^bench "b1" reference is 0\.0 h old, older than allowed: reference it again/);
    } finally {
      await short.kill('SIGTERM');
      expiring.remove();
    }
  });

  it('certifies an installed link, a configured product, against the application budget', async () => {
    const job = await daemon.api<JobReply>('POST', '/jobs', { bench: 'b1', operator: 'installer', linkId: 'GOOD-1', product: 'LINK-10G-100M', wait: true });
    expect(job.json.state).toBe('completed');
    const cert = await daemon.api<{ verdict: string; certificate: { evaluation: { fibers: { judgments: { limit: number; headroomDb: number; value: number }[] }[] } } }>(
      'GET',
      `/certificates/${job.json.certificateId}`,
    );
    // Budget: 2 x 0.75 + 0.1 km x 3.5 dB/km = 1.85 dB; 10GBASE-SR on OM4 allows 2.9 dB: the lower, 1.85, judges.
    const j = cert.json.certificate.evaluation.fibers[0]!.judgments[0]!;
    expect(j.limit).toBe(1.85);
    // Headroom against the application's channel: 2.9 - 0.21 (mtp12-om4-good, fiber 1 at 850 nm) = 2.69 dB.
    expect([j.value, j.headroomDb]).toEqual([0.21, 2.69]);
    expect(cert.json.verdict).toBe('PASS');
    const list = await daemon.api<{ items: { linkId: string; serial: string | null }[] }>('GET', '/certificates?linkId=GOOD-1');
    expect(list.json.items).toEqual([expect.objectContaining({ linkId: 'GOOD-1', serial: null })]);
  });
});

describe('nobody can change what is certified', () => {
  const job = (body: Record<string, unknown>) => daemon.api<{ error: string; message: string }>('POST', '/jobs', { bench: 'b1', operator: 'ci', wait: true, ...body });

  it('refuses any inline subject: fewer fibers, a looser limit set, a long length, own cords or a polarity map', async () => {
    const product = { kind: 'assembly', fiberCount: 8, fiberType: 'OM4', lengthM: 1000, connectors: { A: { family: 'MTP', gender: 'female' }, B: { family: 'MTP', gender: 'female' } }, limitSet: { id: 'acme-loose', version: '1' } };
    for (const subject of [product, { ...product, setup: {} }, { polarity: { declared: 'B', measuredMap: { '1': 12 } } }, {}]) {
      const refused = await job({ serial: 'BAD-7', subject });
      expect(refused.status).toBe(400);
      expect(refused.json.message).toBe(
        "a job names a configured product (product, or the bench's default) and the serial or link id; it may not describe the subject itself [rule subject-from-product: mpocert: what is certified comes from the products configured on the daemon, never from the request] (bench=b1)",
      );
    }
  });

  it('refuses a product whose fiber count is not the bench\'s, before measuring', async () => {
    const refused = await job({ serial: 'GOOD-1', product: 'MTP8-OM4' });
    expect(refused.status).toBe(422);
    expect(refused.json.error).toBe('FIBER_COUNT_MISMATCH');
    expect(refused.json.message).toMatch(/^product MTP8-OM4 has 8 fibers; bench "b1" measures 12: certify it on a 8-fiber bench/);
  });

  it('refuses a serial that is not one of the named product\'s (its serial pattern)', async () => {
    const refused = await job({ serial: 'GOOD-1', product: 'MPO12-OM4-LOSS' });
    expect(refused.status).toBe(400);
    expect(refused.json.message).toMatch(/^GOOD-1 is not a serial of product MPO12-OM4-LOSS \(its serials match \^\(\?:MPO-\[0-9\]\+\)\$\)/);
  });

  it('refuses a serial that is another product\'s (its serial pattern) as the default product', async () => {
    const refused = await job({ serial: 'MPO-7' });
    expect(refused.status).toBe(400);
    expect(refused.json.message).toMatch(/^MPO-7 is a serial of product MPO12-OM4-LOSS \(its serials match \^\(\?:MPO-\[0-9\]\+\)\$\), not of MTP12-OM4-LOSS/);
  });

  it('a subject keeps its product: BAD-7 failed as an MTP assembly and cannot be retested as a looser MPO one', async () => {
    const failed = await job({ serial: 'BAD-7' });
    expect(failed.json).toMatchObject({ state: 'completed', verdict: 'FAIL' });
    const retest = await job({ serial: 'BAD-7', product: 'MPO12-LOOSE' });
    expect(retest.status).toBe(422);
    expect(retest.json.error).toBe('PRODUCT_CHANGED');
    expect(retest.json.message).toMatch(new RegExp(`^BAD-7 was certified as product MTP12-OM4-LOSS \\(certificate ${(failed.json as { certificateId?: number }).certificateId}\\); it cannot be certified as MPO12-LOOSE: an assembly keeps its product`));
    // The same product again is a retest, and allowed.
    expect((await job({ serial: 'BAD-7' })).json).toMatchObject({ state: 'completed', verdict: 'FAIL' });
  });

  it('refuses a product that declares polarity on a bench that cannot measure it', async () => {
    const refused = await job({ serial: 'SWAP-34', product: 'MTP12-OM4-B' });
    expect(refused.status).toBe(422);
    expect(refused.json.error).toBe('POLARITY_NOT_MEASURABLE');
    expect(refused.json.message).toContain("bench \"b1\" cannot see where each fiber's light arrives (one large-area meter)");
  });

  it('refuses a single-mode product on a multimode (850/1300 nm) bench before measuring', async () => {
    const refused = await job({ serial: 'GOOD-1', product: 'MTP12-OS2-APC' });
    expect(refused.status).toBe(400);
    expect(refused.json.message).toBe('/wavelengthsNm/0: 850 nm is not a singlemode test wavelength for OS2 (1260-1675 nm)');
  });

  it('refuses a link whose application the limit set does not know, before a cord is mated', async () => {
    const refused = await job({ linkId: 'L-1', product: 'LINK-XYZ' });
    expect(refused.status).toBe(400);
    expect(refused.json.message).toMatch(/^\/application: 1\.6TBASE-XYZ is not in limit set mpocert-default@1\.1\.0/);
  });
});

describe('a reference belongs to its switch channels', () => {
  it('refuses a job after the fiber-to-channel offset changed', async () => {
    const own = await startSimulatorProcess({ meter: 0, switch: 0, control: 0 }, ['--channels', '13']);
    const t = tempDir('mpocert-offset-');
    try {
      const bench = benchConfig({ id: 'b1', sim: own });
      const first = await new DaemonProcess(writeConfig(t.dir, [bench])).start();
      expect((await first.api('POST', '/benches/b1/reference')).status).toBe(200);
      await first.kill('SIGTERM');
      const second = await new DaemonProcess(writeConfig(t.dir, [{ ...bench, channelOffset: 1 }])).start();
      const job = await second.api<{ error: string; message: string }>('POST', '/jobs', { bench: 'b1', operator: 'ci', serial: 'GOOD-1', wait: true });
      expect(job.status).toBe(422);
      expect(job.json.error).toBe('REFERENCE_OTHER_CHANNELS');
      expect(job.json.message).toBe('bench "b1" was referenced with channel offset 0, it now has 1: reference it again (bench=b1)');
      await second.kill('SIGTERM');
    } finally {
      own.child.kill('SIGTERM');
      t.remove();
    }
  });
});
