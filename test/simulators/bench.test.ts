import { afterEach, describe, expect, it } from 'vitest';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSimulatedBench, type SimulatedBench } from '../../fixtures/simulators/bench.js';
import { createInstrument } from '../../drivers/registry.js';
import type { OpticalSwitch, PowerMeter } from '../../src/instruments/capabilities.js';
import { loadAssembly } from '../../fixtures/dut/assembly-model.js';
import { OpticalRangeError } from '../../src/instruments/errors.js';
import { transportOf } from '../helpers/sim-transport.js';

const run = promisify(execFile);
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close().catch(() => undefined);
});


/** A minimal certification: per wavelength, reference every fiber without DUT, then measure with it. */
async function certify(bench: SimulatedBench, dut: string, meterDialect: 'thorlabs-pm100' | 'newport-1936' = 'thorlabs-pm100') {
  const meter = createInstrument({ id: 'm', dialect: meterDialect, transport: transportOf(bench.meter), timeoutMs: 1000 }) as PowerMeter;
  const sw = createInstrument({ id: 's', dialect: 'dicon-mems-switch', transport: transportOf(bench.switch), timeoutMs: 1000 }) as OpticalSwitch;
  open.push(meter, sw);
  await meter.connect();
  await sw.connect();
  const out: Record<number, (number | 'dark')[]> = {};
  for (const nm of [850, 1300]) {
    await meter.setWavelength(nm);
    bench.control_('DUT REMOVE');
    const ref: number[] = [];
    for (let f = 1; f <= 12; f++) {
      await sw.selectChannel(f);
      ref.push(await meter.readPowerDbm());
    }
    bench.control_(`DUT INSERT ${dut}`);
    out[nm] = [];
    for (let f = 1; f <= 12; f++) {
      await sw.selectChannel(f);
      const p = await meter.readPowerDbm().catch((e: unknown) => (e instanceof OpticalRangeError && e.condition === 'no-light' ? 'dark' : Promise.reject(e)));
      out[nm]!.push(p === 'dark' ? 'dark' : Math.round((ref[f - 1]! - p) * 1e4) / 1e4);
    }
  }
  return out;
}

describe('simulated bench, same assembly over TCP and over serial ptys', () => {
  it('certifies with identical results by config alone', async () => {
    const a = loadAssembly('mtp12-om4-fiber7-0.9dB');
    const tcp = await startSimulatedBench({});
    open.push(tcp);
    const viaTcp = await certify(tcp, a.name);
    const pty = await startSimulatedBench({ transport: 'pty' });
    open.push(pty);
    expect(pty.meter.kind).toBe('serial');
    const viaPty = await certify(pty, a.name);
    expect(viaPty).toEqual(viaTcp);
    expect(viaTcp[850]).toEqual(a.lossDb['850']);
    expect(viaTcp[1300]).toEqual(a.lossDb['1300']);
    expect(viaTcp[850]![6]).toBe(0.9);
    expect(viaTcp[1300]![6]).toBe(0.85);
  });

  it('dark fiber and dirty connector come out as expected (Newport meter)', async () => {
    const b = await startSimulatedBench({ meterDialect: 'newport-1936' });
    open.push(b);
    const dark = await certify(b, 'mtp12-om4-dark-fiber-5', 'newport-1936');
    expect(dark[850]![4]).toBe('dark');
    const dirty = await certify(b, 'mtp12-om4-dirty-connector', 'newport-1936');
    expect(dirty[850]).toEqual(loadAssembly('mtp12-om4-good').lossDb['850']!.map((x) => Math.round((x + 0.3) * 1e4) / 1e4));
  });
});

describe('fault injection: every fault ends in a clear error or a successful retry, never a wrong value', () => {
  for (const transport of ['tcp', 'pty'] as const) {
    it(`meter and switch faults over ${transport}`, async () => {
      const b = await startSimulatedBench({ transport, dut: 'mtp12-om4-good' });
      open.push(b);
      const meter = createInstrument({ id: 'm', dialect: 'thorlabs-pm100', transport: transportOf(b.meter), timeoutMs: 400 }) as PowerMeter;
      const sw = createInstrument({ id: 's', dialect: 'dicon-mems-switch', transport: transportOf(b.switch), timeoutMs: 400 }) as OpticalSwitch;
      open.push(meter, sw);
      await meter.connect();
      await sw.connect();
      await meter.setWavelength(850);
      await sw.selectChannel(3);
      const expected = -20 - 0.11 - 0.33;
      const faults = [
        { kind: 'delay', arg: 100 },
        { kind: 'drop' },
        { kind: 'garble' },
        { kind: 'late', arg: 700 },
        { kind: 'disconnect', arg: 200 },
      ] as const;
      for (const f of faults) {
        b.inject('meter', f);
        const got = await meter.readPowerDbm().then(
          (v) => v,
          (e: unknown) => e,
        );
        if (typeof got === 'number') expect(got, `after ${f.kind}`).toBeCloseTo(expected, 6);
        else expect((got as Error).name, `after ${f.kind}`).toMatch(/Instrument(Timeout|Disconnected|Reply)Error/);
        // and the next reading is right
        let next: number | undefined;
        for (let i = 0; i < 10 && next === undefined; i++) next = await meter.readPowerDbm().catch(() => undefined);
        expect(next, `recovered after ${f.kind}`).toBeCloseTo(expected, 6);
      }
      for (const f of [{ kind: 'drop' }, { kind: 'garble' }, { kind: 'late', arg: 700 }] as const) {
        b.inject('switch', f);
        await sw.selectChannel(5).catch(() => undefined);
        expect(await sw.selectedChannel()).toBe(5);
        await sw.selectChannel(3);
      }
      expect(meter.status().state).toBe('online');
    });
  }
});

describe('control port and CLI process', () => {
  it('run-bench prints one JSON line, serves the control protocol, exits on SIGTERM', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mpocert-build-'));
    open.push({ close: async () => fs.rmSync(out, { recursive: true, force: true }) });
    // Compile (other people's files may have errors: tsc still emits ours).
    await run(process.execPath, [path.resolve('node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--outDir', out]).catch(() => undefined);
    const js = path.join(out, 'fixtures/simulators/run-bench.js');
    expect(fs.existsSync(js)).toBe(true);
    // the compiled tree needs the package's node_modules and the data dirs: link them
    fs.symlinkSync(path.resolve('node_modules'), path.join(out, 'node_modules'));
    fs.writeFileSync(path.join(out, 'package.json'), '{"type":"module"}');
    fs.symlinkSync(path.resolve('fixtures/assemblies'), path.join(out, 'fixtures/assemblies'));
    fs.symlinkSync(path.resolve('drivers/profiles'), path.join(out, 'drivers/profiles'));
    const child = spawn(process.execPath, [js, '--host', '127.0.0.1', '--meter-port', '0', '--switch-port', '0', '--control-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    open.push({
      close: async () => {
        if (child.exitCode === null) child.kill('SIGKILL');
      },
    });
    const line = await new Promise<string>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
      });
      child.on('exit', (c) => reject(new Error(`exited ${c}`)));
    });
    const info = JSON.parse(line) as { meter: { port: number }; switch: { port: number }; control: { host: string; port: number } };
    expect(info.meter.port).toBeGreaterThan(0);
    const net = await import('node:net');
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.connect(info.control.port, '127.0.0.1', () => s.write('DUT INSERT mtp12-om4-good\nDUT?\nDUT REMOVE\nDUT?\nBOGUS\n'));
      let buf = '';
      s.on('data', (d) => {
        buf += d.toString();
        if (buf.split('\n').length > 5) {
          s.destroy();
          resolve(buf);
        }
      });
      s.on('error', reject);
    });
    expect(reply.split('\n').slice(0, 5)).toEqual(['OK', 'mtp12-om4-good A', 'OK', 'NONE', 'ERR unknown command "BOGUS"']);
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 120_000);
});
