import Database from 'better-sqlite3';
import { withBodyCodec } from '../helpers/stored-body.js';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  benchConfig,
  DaemonProcess,
  root,
  simControl,
  SAMPLE_ASSEMBLIES,
  startSimulatorProcess,
  tempDir,
  transportOf,
  writeConfig,
  type SimulatorProcess,
} from '../helpers/daemon-harness.js';

/**
 * Issue 5's acceptance run: two benches in one daemon, at once. Bench "lts" uses an MPO loss-test
 * set over Modbus TCP (it sees where each fiber's light arrives, so it verifies polarity); bench
 * "pty" uses the PM100 and DiCon dialects over socat pseudo-terminals through the native
 * serialport binding.
 */
const run = promisify(execFile);
let tcpSim: SimulatorProcess;
let ptySim: SimulatorProcess;
let daemon: DaemonProcess;
let tmp: ReturnType<typeof tempDir>;

interface JobReply {
  id: string;
  state: string;
  certificateId: number;
  verdict: string;
  reason?: string;
}
interface Cert {
  id: number;
  verdict: string;
  benchId: string;
  signature: { hash: string; prevHash: string | null };
  certificate: {
    polarityMeasured: boolean;
    evaluation: {
      fibers: { fiber: number; outcome: string }[];
      polarity?: { outcome?: string; classification?: { bestFit: string | null }; differencesFromDeclared?: { position: number; expected: number; measured: number | null; kind: string }[] };
    };
  };
}

beforeAll(async () => {
  tmp = tempDir('mpocert-two-benches-');
  mkdirSync(join(tmp.dir, 'pty'));
  [tcpSim, ptySim] = await Promise.all([
    startSimulatorProcess({ meter: 0, switch: 0, control: 0 }, ['--lts-port', '0']),
    startSimulatorProcess({ meter: 0, switch: 0, control: 0 }, ['--transport', 'pty', '--pty-dir', join(tmp.dir, 'pty')]),
  ]);
  const lts = tcpSim.endpoints.lossTestSet!;
  const ltsBench = {
    ...benchConfig({ id: 'lts', sim: tcpSim }),
    // A loss-test set sees where light arrives: it certifies the product that declares polarity B.
    defaultProduct: 'MTP12-OM4-B',
    method: { kind: 'loss-test-set', lossTestSet: 'lts' },
    instruments: [{ id: 'lts', dialect: 'modbus-loss-test-set', profile: lts.profile, timeoutMs: 2000, transport: transportOf(lts) }],
  };
  const ptyBench = benchConfig({ id: 'pty', sim: ptySim });
  expect((ptyBench.instruments as { transport: { kind: string } }[]).map((i) => i.transport.kind)).toEqual(['serial', 'serial']);
  daemon = await new DaemonProcess(writeConfig(tmp.dir, [ltsBench, ptyBench])).start();
  const refs = await Promise.all([daemon.api('POST', '/benches/lts/reference'), daemon.api('POST', '/benches/pty/reference')]);
  expect(refs.map((r) => r.status)).toEqual([200, 200]);
});

afterAll(async () => {
  await daemon?.kill('SIGTERM');
  tcpSim?.child.kill('SIGTERM');
  ptySim?.child.kill('SIGTERM');
  tmp?.remove();
});

async function certifyBoth(serial: string): Promise<{ lts: Cert; pty: Cert }> {
  // Started together: the benches run their jobs at the same time.
  const [a, b] = await Promise.all(
    ['lts', 'pty'].map((bench) => daemon.api<JobReply>('POST', '/jobs', { bench, operator: 'ci', serial, wait: true })),
  );
  expect([a!.json.state, b!.json.state]).toEqual(['completed', 'completed']);
  const [lts, pty] = await Promise.all([a!, b!].map((j) => daemon.api<Cert>('GET', `/certificates/${j.json.certificateId}`)));
  return { lts: lts!.json, pty: pty!.json };
}

describe('two benches at once: Modbus loss-test set over TCP and PM100 + DiCon over socat ptys', () => {
  it('passes the good assembly on both; only the loss-test set verifies its polarity', async () => {
    const { lts, pty } = await certifyBoth('GOOD-1');
    expect([lts.verdict, pty.verdict]).toEqual(['PASS', 'PASS']);
    expect(lts.certificate.polarityMeasured).toBe(true);
    expect(lts.certificate.evaluation.polarity).toMatchObject({ outcome: 'PASS', classification: { bestFit: 'B' } });
    expect(pty.certificate.polarityMeasured).toBe(false);
  });

  it('fails the bad assembly on fiber 7 on both', async () => {
    const { lts, pty } = await certifyBoth('BAD-7');
    for (const c of [lts, pty]) {
      expect(c.verdict).toBe('FAIL');
      // Fiber 7 from end A; from end B (type B) it is position 6.
      expect(c.certificate.evaluation.fibers.filter((f) => f.outcome !== 'PASS').map((f) => f.fiber)).toEqual([6, 7]);
    }
  });

  it('fails the polarity-swapped assembly where polarity is measured, naming positions 3 and 4', async () => {
    const { lts, pty } = await certifyBoth('SWAP-34');
    expect(lts.verdict).toBe('FAIL');
    expect(lts.certificate.evaluation.fibers.every((f) => f.outcome === 'PASS')).toBe(true); // loss is fine
    // Type B: 3 -> 10 and 4 -> 9; swapped, 3 arrives at 9 and 4 at 10.
    expect(lts.certificate.evaluation.polarity!.differencesFromDeclared).toEqual([
      { position: 3, expected: 10, measured: 9, kind: 'swapped', withPosition: 4 },
      { position: 4, expected: 9, measured: 10, kind: 'swapped', withPosition: 3 },
    ]);
    // The switch-and-meter bench cannot see it, so it certifies a product that declares no
    // polarity: its PASS says polarity was not measured.
    expect(pty.verdict).toBe('PASS');
    expect(pty.certificate.polarityMeasured).toBe(false);
  });

  it('refuses a loss-test-set reference taken through a device: the cord verification reads about 0 dB', async () => {
    await simControl(tcpSim, 'DUT INSERT mtp12-om4-good');
    await simControl(tcpSim, 'OPERATOR STICKY');
    try {
      const refused = await daemon.api<{ error: string; message: string }>('POST', '/benches/lts/reference');
      expect([refused.status, refused.json.error]).toEqual([422, 'REFERENCE_IMPLAUSIBLE']);
      expect(refused.json.message).toMatch(/the launch cord reads within 0\.03 dB of 0 dB on every fiber through reference plug RP-1/);
    } finally {
      await simControl(tcpSim, 'OPERATOR NORMAL');
      await simControl(tcpSim, 'DUT REMOVE');
    }
  });

  it('chains each bench separately and signs every certificate; verify catches one edited row', async () => {
    const list = await daemon.api<{ items: { id: number; benchId: string }[] }>('GET', '/certificates?limit=100');
    expect(list.json.items).toHaveLength(6);
    for (const bench of ['lts', 'pty']) {
      const ids = list.json.items.filter((i) => i.benchId === bench).map((i) => i.id).sort((x, y) => x - y);
      const certs = await Promise.all(ids.map(async (id) => (await daemon.api<Cert>('GET', `/certificates/${id}`)).json));
      expect(certs[0]!.signature.prevHash).toBeNull();
      expect(certs[1]!.signature.prevHash).toBe(certs[0]!.signature.hash);
      expect(certs[2]!.signature.prevHash).toBe(certs[1]!.signature.hash);
      for (const id of ids) expect((await daemon.api<{ valid: boolean }>('GET', `/certificates/${id}/verify`)).json.valid).toBe(true);
    }

    const cli = [join(root, 'dist/src/cli/main.js'), 'verify', '--config', daemon.configPath];
    expect((await run(process.execPath, cli)).stdout).toBe('6 certificate(s) checked against 1 trusted key(s), all intact\n');

    // Someone with the database file turns the first FAIL into a PASS.
    const failed = (await daemon.api<{ items: { id: number }[] }>('GET', '/certificates?verdict=FAIL&bench=lts')).json.items.at(-1)!.id;
    // Bodies are stored compressed: edited as an attacker would (decompressed, changed, compressed again).
    const db = withBodyCodec(new Database(join(tmp.dir, 'data', 'mpocert.db')));
    db.exec('DROP TRIGGER certificates_no_update');
    db.prepare("UPDATE certificates SET verdict = 'PASS', body = body_replace(body, '\"verdict\":\"FAIL\"', '\"verdict\":\"PASS\"') WHERE id = ?").run(failed);
    db.close();

    const verdictNow = await daemon.api<{ valid: boolean; problems: { problem: string }[] }>('GET', `/certificates/${failed}/verify`);
    expect(verdictNow.json.valid).toBe(false);
    expect(verdictNow.json.problems.map((p) => p.problem)).toEqual(['content', 'signature']);
    // Served flagged, never as if it were valid: the page says so instead of PASS.
    const page = await daemon.api('GET', `/certificates/${failed}?format=html`);
    expect(page.headers['x-mpocert-integrity']).toBe('FAILED');
    expect(page.text).toContain('<p class="verdict">INTEGRITY CHECK FAILED</p>');
    expect(page.text).toContain('<title>Certificate ' + failed + ': INTEGRITY CHECK FAILED</title>');
    expect(page.text).not.toContain('<p class="verdict">PASS</p>');
    const err = await run(process.execPath, cli).catch((e: { code: number; stdout: string }) => e);
    expect('code' in err && err.code).toBe(1);
    expect(err.stdout).toBe(
      // The edit dropped the append-only guard first: verify reports that too (read-only; the daemon restores it at start-up).
      'certificate 0: schema: the trigger certificates_no_update was dropped outside mpocert\n' +
        `certificate ${failed}: content: content does not match its recorded hash\n` +
        `certificate ${failed}: signature: signature does not match the content\n` +
        '6 certificate(s) checked against 1 trusted key(s), 3 problem(s)\n',
    );
    expect(SAMPLE_ASSEMBLIES['SWAP-34']).toBe('mtp12-om4-polarity-swap-3-4');
  });
});
