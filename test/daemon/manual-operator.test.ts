/**
 * A manual bench: the daemon asks the person at the bench for every physical step and waits for
 * the confirmation (a scanned serial, or a button), over HTTP and through `mpocert certify` at a
 * terminal. The physical actions are done on the simulator's control port, as the person would.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchConfig, DaemonProcess, root, simControl, sleep, startSimulatorProcess, tempDir, writeConfig, type SimulatorProcess } from '../helpers/daemon-harness.js';

interface JobView {
  id: string;
  state: string;
  verdict?: string;
  reason?: string;
  errorCode?: string;
  certificateId?: number;
  progress: { step: string; end?: string; waitingFor?: { id: string; instruction: string; confirmSerial?: string; timeoutS: number } };
}

let sim: SimulatorProcess;
let tmp: ReturnType<typeof tempDir>;
let daemon: DaemonProcess;

beforeAll(async () => {
  sim = await startSimulatorProcess({ meter: 0, switch: 0, control: 0, multiPortMeter: 0 });
  tmp = tempDir('mpocert-manual-');
  const manual = (id: string, confirmTimeoutS: number) => ({ ...benchConfig({ id, sim, multiPort: true }), operator: { kind: 'manual', confirmTimeoutS } });
  daemon = await new DaemonProcess(writeConfig(tmp.dir, [manual('m1', 60), manual('slow', 5)])).start();
});

afterAll(async () => {
  await daemon?.kill('SIGTERM');
  sim?.child.kill('SIGTERM');
  tmp?.remove();
});

async function waitFor(jobId: string, until: (v: JobView) => boolean): Promise<JobView> {
  for (let i = 0; i < 200; i++) {
    const v = (await daemon.api<JobView>('GET', `/jobs/${jobId}`)).json;
    if (until(v)) return v;
    await sleep(50);
  }
  throw new Error(`job ${jobId} never reached the expected state`);
}

/** Waits until the bench asks for `step` (GET /status), as the person at the bench waits for the prompt. */
async function promptFor(bench: string, step: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const status = await daemon.api<{ benches: { id: string; waitingFor: { id: string } | null }[] }>('GET', '/status');
    if (status.json.benches.find((b) => b.id === bench)?.waitingFor?.id === step) return;
    await sleep(25);
  }
  throw new Error(`bench ${bench} never asked for ${step}`);
}

/**
 * A reference on a manual bench: the person connects the launch cord alone, then, when asked (not
 * before: a plug mated during the reference would lower it), mates it to the plug.
 */
async function referenceManually(bench: string): Promise<void> {
  const pending = daemon.api('POST', `/benches/${bench}/reference`);
  for (const [step, action] of [
    ['launch-cord-only', 'DUT REMOVE'],
    ['mate-reference-plug', 'PLUG INSERT'],
  ] as const) {
    await promptFor(bench, step);
    await simControl(sim, action);
    expect((await daemon.api('POST', `/benches/${bench}/confirm`, { step })).status).toBe(200);
  }
  expect((await pending).status).toBe(200);
}

describe('a manual bench asks for every physical step', () => {
  it('waits for end A, refuses a wrong serial, then turns the assembly for end B on the confirmation', async () => {
    await referenceManually('m1');
    const started = await daemon.api<JobView>('POST', '/jobs', { bench: 'm1', operator: 'ci', serial: 'GOOD-1' });
    expect(started.status).toBe(202);
    const atA = await waitFor(started.json.id, (v) => v.progress.waitingFor?.id === 'connect-end-A');
    expect(atA.progress.waitingFor).toMatchObject({ instruction: 'connect end A of GOOD-1 to launch cord LC-1, end B to the detector', confirmSerial: 'GOOD-1', timeoutS: 60 });

    const wrong = await daemon.api<{ message: string }>('POST', '/benches/m1/confirm', { step: 'connect-end-A', serial: 'BAD-7' });
    expect(wrong.status).toBe(400);
    expect(wrong.json.message).toBe('scanned serial "BAD-7" is not the assembly under test (GOOD-1): put GOOD-1 on the bench (bench=m1 step=connect-end-A)');
    const wrongStep = await daemon.api<{ error: string }>('POST', '/benches/m1/confirm', { step: 'turn-assembly' });
    expect([wrongStep.status, wrongStep.json.error]).toEqual([422, 'WRONG_STEP']);

    await simControl(sim, 'DUT INSERT mtp12-om4-good');
    expect((await daemon.api('POST', '/benches/m1/confirm', { step: 'connect-end-A', serial: 'GOOD-1' })).status).toBe(200);
    const atB = await waitFor(started.json.id, (v) => v.progress.waitingFor?.id === 'turn-assembly');
    expect(atB.progress.waitingFor!.instruction).toBe('turn GOOD-1 round: end B to launch cord LC-1, end A to the detector');
    expect(await simControl(sim, 'DUT TURN')).toBe('OK B');
    // A button is not enough: scanning the serial again is what proves the assembly is on the bench.
    const button = await daemon.api<{ message: string }>('POST', '/benches/m1/confirm', { step: 'turn-assembly' });
    expect([button.status, button.json.message]).toEqual([400, 'scan GOOD-1\'s serial to confirm "turn GOOD-1 round: end B to launch cord LC-1, end A to the detector" (bench=m1 step=turn-assembly)']);
    expect((await daemon.api('POST', '/benches/m1/confirm', { step: 'turn-assembly', serial: 'GOOD-1' })).status).toBe(200);
    const done = await waitFor(started.json.id, (v) => v.state !== 'running');
    expect([done.state, done.verdict]).toEqual(['completed', 'PASS']);
  });

  it('a turn confirmed but never made (end A measured twice) is INVALID, never a PASS for end B', async () => {
    // FAR-B-5: a bad connector at end B (fiber 5 from end B over its limit); measured from end A only, it would pass.
    const started = await daemon.api<JobView>('POST', '/jobs', { bench: 'm1', operator: 'ci', serial: 'FAR-B-5' });
    await waitFor(started.json.id, (v) => v.progress.waitingFor?.id === 'connect-end-A');
    await simControl(sim, 'DUT INSERT mtp12-om4-far-end-bad');
    expect((await daemon.api('POST', '/benches/m1/confirm', { step: 'connect-end-A', serial: 'FAR-B-5' })).status).toBe(200);
    await waitFor(started.json.id, (v) => v.progress.waitingFor?.id === 'turn-assembly');
    // The person scans the serial again, but leaves end A on the launch cord.
    expect((await daemon.api('POST', '/benches/m1/confirm', { step: 'turn-assembly', serial: 'FAR-B-5' })).status).toBe(200);
    const done = await waitFor(started.json.id, (v) => v.state !== 'running');
    expect([done.state, done.verdict]).toEqual(['completed', 'INVALID']);
    const cert = (await daemon.api<{ certificate: { evaluation: { reasons: string[] } } }>('GET', `/certificates/${done.certificateId}`)).json;
    expect(cert.certificate.evaluation.reasons).toContainEqual(expect.stringMatching(/^every end B reading repeats end A's within 0\.005 dB \(largest difference 0\.00\d? dB, 24 readings\): end A was measured twice, the assembly was not turned/));
  });

  it('a reference that expires while the bench waits for the person is not used: the job ends, no certificate', async () => {
    // A second daemon on the same simulator with a 3.6 s reference lifetime (its own bench id and data).
    const t = tempDir('mpocert-manual-expiry-');
    const short = await new DaemonProcess(
      writeConfig(t.dir, [{ ...benchConfig({ id: 'e1', sim, multiPort: true }), operator: { kind: 'manual', confirmTimeoutS: 60 } }], { reference: { maxAgeHours: 0.001 } }),
    ).start();
    try {
      const pending = short.api('POST', '/benches/e1/reference');
      for (const [step, action] of [['launch-cord-only', 'DUT REMOVE'], ['mate-reference-plug', 'PLUG INSERT']] as const) {
        for (let i = 0; i < 200; i++) {
          const st = await short.api<{ benches: { waitingFor: { id: string } | null }[] }>('GET', '/status');
          if (st.json.benches[0]?.waitingFor?.id === step) break;
          await sleep(25);
        }
        await simControl(sim, action);
        expect((await short.api('POST', '/benches/e1/confirm', { step })).status).toBe(200);
      }
      expect((await pending).status).toBe(200);
      const started = await short.api<JobView>('POST', '/jobs', { bench: 'e1', operator: 'ci', serial: 'GOOD-1' });
      expect(started.status).toBe(202); // the reference is fresh now
      await sleep(4000); // the person takes longer than the reference lives
      await simControl(sim, 'DUT INSERT mtp12-om4-good');
      expect((await short.api('POST', '/benches/e1/confirm', { step: 'connect-end-A', serial: 'GOOD-1' })).status).toBe(200);
      for (let i = 0; i < 200; i++) {
        const v = (await short.api<JobView>('GET', `/jobs/${started.json.id}`)).json;
        if (v.progress.waitingFor?.id === 'turn-assembly') break;
        await sleep(25);
      }
      await simControl(sim, 'DUT TURN');
      expect((await short.api('POST', '/benches/e1/confirm', { step: 'turn-assembly', serial: 'GOOD-1' })).status).toBe(200);
      let done: JobView | undefined;
      for (let i = 0; i < 200 && (!done || done.state === 'running'); i++) {
        done = (await short.api<JobView>('GET', `/jobs/${started.json.id}`)).json;
        await sleep(25);
      }
      expect(done!.state).toBe('aborted');
      expect(done!.reason).toMatch(/^the reference of \S+ was \d+ s old by the last reading \(\S+\), older than allowed: reference bench "e1" again and retest/);
      expect((await short.api<{ total: number }>('GET', '/certificates')).json.total).toBe(0);
    } finally {
      await short.kill('SIGTERM');
      t.remove();
    }
  }, 30_000);

  it('a step nobody confirms ends the job cleanly, saying which step, with no certificate', async () => {
    await referenceManually('slow');
    const started = await daemon.api<JobView>('POST', '/jobs', { bench: 'slow', operator: 'ci', serial: 'GOOD-1' });
    const ended = await waitFor(started.json.id, (v) => v.state !== 'running');
    expect(ended.state).toBe('aborted');
    expect(ended.reason).toBe('nobody confirmed "connect end A of GOOD-1 to launch cord LC-1, end B to the detector" within 5 s: the job stopped before measuring anything more (bench=slow step=connect-end-A)');
    expect((await daemon.api<{ total: number }>('GET', '/certificates?bench=slow')).json.total).toBe(0);
  }, 20_000);

  it('`mpocert certify` at a terminal prints each step and confirms it with the scanned serial', async () => {
    const cli = spawn(process.execPath, [join(root, 'dist/src/cli/main.js'), 'certify', '--bench', 'm1', '--serial', 'BAD-7', '--config', daemon.configPath, '--operator', 'scanner'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // The config says port 0 (the daemon picked one): point the CLI at it.
      env: { ...process.env, MPOCERT_URL: daemon.base },
    });
    let out = '';
    cli.stdout.on('data', (d: Buffer) => (out += d.toString()));
    cli.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const until = async (text: string): Promise<void> => {
      for (let i = 0; i < 200 && !out.includes(text); i++) await sleep(50);
      expect(out).toContain(text);
    };
    await until('>> connect end A of BAD-7 to launch cord LC-1, end B to the detector');
    expect(out).toContain('   scan BAD-7 when done; the bench waits 60 s');
    await simControl(sim, 'DUT INSERT mtp12-om4-fiber7-0.9dB');
    cli.stdin.write('BAD-7\n'); // the barcode scanner types the serial and Enter
    await until('>> turn BAD-7 round: end B to launch cord LC-1, end A to the detector');
    await simControl(sim, 'DUT TURN');
    cli.stdin.write('\n'); // Enter alone is refused: the CLI says so and asks again
    await until('   not confirmed: scan BAD-7\'s serial to confirm');
    cli.stdin.write('BAD-7\n');
    const code = await new Promise<number | null>((resolve) => cli.once('exit', resolve));
    expect(code, out).toBe(1); // FAIL
    expect(out).toMatch(/^BAD-7: FAIL {2}\(certificate \d+, job [0-9a-f-]+\)$/m);
    expect(out).toContain('  fiber 7 end A 850 nm insertion loss: FAIL 0.90 dB, limit 0.60 dB, margin -0.30 dB');
    expect(out).toContain('  fiber 6 end B 850 nm insertion loss: FAIL 0.90 dB, limit 0.60 dB, margin -0.30 dB');
  });
});
