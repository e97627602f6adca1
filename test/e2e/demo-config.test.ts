import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CONFIG } from '../../src/cli/demo.js';
import { DaemonProcess, simControl, startSimulatorProcess, tempDir, type SimulatorProcess } from '../helpers/daemon-harness.js';

/**
 * The shipped demo config, exactly as a newcomer runs it (only ports and data directory moved so
 * it can run beside anything else): the README's steps and verdicts must hold.
 */
let sim: SimulatorProcess;
let daemon: DaemonProcess;
let tmp: ReturnType<typeof tempDir>;

interface Bench { instruments: { id: string; transport: { port: number } }[]; operator: { port: number } }

beforeAll(async () => {
  tmp = tempDir('mpocert-demo-');
  sim = await startSimulatorProcess({ meter: 0, switch: 0, control: 0, multiPortMeter: 0 });
  const cfg = parse(readFileSync(DEMO_CONFIG, 'utf8')) as { dataDir: string; http: { port: number; token: string }; benches: Bench[] };
  cfg.dataDir = join(tmp.dir, 'data');
  cfg.http.port = 0;
  const bench = cfg.benches[0]!;
  const port = (e: { kind: string; port?: number }): number => e.port!;
  bench.instruments.find((i) => i.id === 'mpm')!.transport.port = port(sim.endpoints.multiPortMeter as { kind: string; port?: number });
  bench.instruments.find((i) => i.id === 'switch')!.transport.port = port(sim.endpoints.switch as { kind: string; port?: number });
  bench.operator.port = sim.endpoints.control.port;
  const path = join(tmp.dir, 'demo.json');
  writeFileSync(path, JSON.stringify(cfg));
  daemon = await new DaemonProcess(path).start();
});

afterAll(async () => {
  await daemon?.kill('SIGTERM');
  sim?.child.kill('SIGTERM');
  tmp?.remove();
});

const token = (): string => (parse(readFileSync(DEMO_CONFIG, 'utf8')) as { http: { token: string } }).http.token;

describe('the shipped demo bench', () => {
  it('gives the verdicts the README shows', async () => {
    expect((await daemon.api('POST', '/benches/demo/reference', undefined, token())).status).toBe(200);
    const verdicts: Record<string, string> = {};
    for (const serial of ['DEMO-0001', 'DEMO-0002', 'DEMO-0003', 'DEMO-0004', 'DEMO-0005']) {
      const job = await daemon.api<{ state: string; verdict: string }>('POST', '/jobs', { bench: 'demo', operator: 'newcomer', serial, wait: true }, token());
      expect(job.json.state).toBe('completed');
      verdicts[serial] = job.json.verdict;
    }
    // 0003 (fibers 3/4 swapped) passes loss and fails polarity: the multi-port meter sees where
    // each fiber's light arrives. 0005 is good from end A and bad at end B's connector.
    expect(verdicts).toEqual({ 'DEMO-0001': 'PASS', 'DEMO-0002': 'FAIL', 'DEMO-0003': 'FAIL', 'DEMO-0004': 'INVALID', 'DEMO-0005': 'FAIL' });
    expect(await simControl(sim, 'DUT?')).toBe('mtp12-om4-far-end-bad B'); // the last assembly, turned round for end B
  });

  it('names the swapped positions of DEMO-0003 and the far-end connector of DEMO-0005', async () => {
    const swap = await daemon.api<{ certificate: { evaluation: { reasons: string[]; fibers: { outcome: string }[] } } }>('GET', '/certificates/3');
    expect(swap.json.certificate.evaluation.fibers.every((f) => f.outcome === 'PASS')).toBe(true);
    expect(swap.json.certificate.evaluation.reasons).toEqual([
      "polarity: declared B (expected type B) but 2 position(s) differ (3 swapped, 4 swapped); best fit is type B [rule polarity: TIA-568.3-E: the measured end-to-end map must equal the declared polarity's map]",
    ]);
    const far = await daemon.api<{ certificate: { evaluation: { fibers: { fiber: number; judgments: { end: string; wavelengthNm: number; value: number; outcome: string }[] }[] } } }>('GET', '/certificates/5');
    const failing = far.json.certificate.evaluation.fibers.flatMap((f) => f.judgments.filter((j) => j.outcome === 'FAIL').map((j) => `${f.fiber} ${j.end} ${j.wavelengthNm} ${j.value}`));
    expect(failing).toEqual(['5 B 850 0.85', '5 B 1300 0.8']);
  });

  it('judges each fiber against one MTP mated pair (0.60 dB): launch cord in, far end into the detector', async () => {
    const cert = await daemon.api<{ certificate: { evaluation: { fibers: { judgments: { limit: number; basis: string }[] }[] } } }>('GET', '/certificates/2');
    const limits = new Set(cert.json.certificate.evaluation.fibers.flatMap((f) => f.judgments.map((j) => j.limit)));
    expect([...limits]).toEqual([0.6]);
  });
});
