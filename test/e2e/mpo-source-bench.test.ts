/**
 * The all-fibers-lit bench end to end: the real daemon process (dist/) drives the MPO source
 * (mpocert-mpo-source) and the Santec MPM-210H multi-port meter over loopback TCP, both simulated
 * as their own process with the stand-in operator. Every fiber is lit at once for loss; coded
 * subsets give polarity.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchConfig, DaemonProcess, simControl, startSimulatorProcess, tempDir, transportOf, writeConfig, type SimulatorProcess } from '../helpers/daemon-harness.js';

let sim: SimulatorProcess;
let daemon: DaemonProcess;
let tmp: ReturnType<typeof tempDir>;

interface Cert {
  verdict: string;
  certificate: {
    polarityMeasured: boolean;
    readings: { fiber: number; end?: string; wavelengthNm: number; receivedAt?: number | null; lossDb: number | null }[];
    evaluation: { fibers: { fiber: number; outcome: string }[]; polarity?: { outcome?: string; differencesFromDeclared?: unknown[] } };
  };
}

beforeAll(async () => {
  tmp = tempDir('mpocert-mpo-bench-');
  sim = await startSimulatorProcess({ meter: 0, switch: 0, control: 0, multiPortMeter: 0, mpoSource: 0 });
  const bench = {
    ...benchConfig({ id: 'mpo', sim, multiPort: true }),
    method: { kind: 'mpo-source-and-multiport-meter', mpoSource: 'src', multiPortMeter: 'mpm' },
    instruments: [
      { id: 'mpm', dialect: 'santec-mpm-210h', timeoutMs: 1000, transport: transportOf(sim.endpoints.multiPortMeter!) },
      { id: 'src', dialect: 'mpocert-mpo-source', timeoutMs: 1000, transport: transportOf(sim.endpoints.mpoSource!) },
    ],
  };
  daemon = await new DaemonProcess(writeConfig(tmp.dir, [bench])).start();
  const ref = await daemon.api('POST', '/benches/mpo/reference');
  expect(ref.status).toBe(200);
});

afterAll(async () => {
  await daemon?.kill('SIGTERM');
  sim?.child.kill('SIGTERM');
  tmp?.remove();
});

async function certify(serial: string): Promise<Cert> {
  const job = await daemon.api<{ state: string; certificateId: number; reason?: string }>('POST', '/jobs', { bench: 'mpo', operator: 'ci', serial, wait: true });
  expect(job.json).toMatchObject({ state: 'completed' });
  return (await daemon.api<Cert>('GET', `/certificates/${job.json.certificateId}`)).json;
}

describe('MPO source + multi-port meter bench (every fiber lit at once)', () => {
  it('passes the good type B trunk with polarity measured; each end A fiber f arrives at 13 - f', async () => {
    const c = await certify('GOOD-1');
    expect(c.verdict).toBe('PASS');
    expect(c.certificate.polarityMeasured).toBe(true);
    expect(c.certificate.evaluation.polarity).toMatchObject({ outcome: 'PASS' });
    const endA = c.certificate.readings.filter((r) => r.end !== 'B' && r.wavelengthNm === 850);
    expect(endA.map((r) => r.receivedAt)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('fails fibers 3 and 4 swapped on polarity (loss fine), and fiber 7 at 0.90 dB on loss', async () => {
    const swapped = await certify('SWAP-34');
    expect(swapped.verdict).toBe('FAIL');
    expect(swapped.certificate.evaluation.fibers.every((f) => f.outcome === 'PASS')).toBe(true);
    expect(swapped.certificate.evaluation.polarity!.differencesFromDeclared).toEqual([
      { position: 3, expected: 10, measured: 9, kind: 'swapped', withPosition: 4 },
      { position: 4, expected: 9, measured: 10, kind: 'swapped', withPosition: 3 },
    ]);
    const bad = await certify('BAD-7');
    expect(bad.verdict).toBe('FAIL');
    expect(bad.certificate.evaluation.fibers.filter((f) => f.outcome !== 'PASS').map((f) => f.fiber)).toEqual([6, 7]);
  });

  it('a source power-cycled mid-job (back at 1310 nm, dark) aborts the job: no certificate from light of the wrong wavelength', async () => {
    const before = (await daemon.api<{ total: number }>('GET', '/certificates')).json.total;
    // The power cycle lands just after the source confirmed 850 nm and before every fiber is lit.
    await simControl(sim, 'FAULT mpo reset 3');
    const job = await daemon.api<{ state: string; errorCode?: string; reason?: string }>('POST', '/jobs', { bench: 'mpo', operator: 'ci', serial: 'GOOD-1', wait: true });
    expect(job.json).toMatchObject({ state: 'aborted', errorCode: 'SOURCE_SETTINGS_CHANGED' });
    expect((await daemon.api<{ total: number }>('GET', '/certificates')).json.total).toBe(before);
    await simControl(sim, 'FAULT clear');
    // The bench certifies again once the source is set up afresh by the next job.
    expect((await certify('GOOD-1')).verdict).toBe('PASS');
  });
});
