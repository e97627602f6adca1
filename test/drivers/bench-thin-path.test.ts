import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { startSimulatedBench, type SimulatedBench } from '../../fixtures/simulators/bench.js';
import { createInstrument } from '../../drivers/registry.js';
import type { OpticalSwitch, PowerMeter } from '../../src/instruments/capabilities.js';
import { OpticalRangeError } from '../../src/instruments/errors.js';

async function control(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(line + '\n'));
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\n')) {
        s.destroy();
        resolve(buf.trim());
      }
    });
    s.on('error', reject);
  });
}

describe('walking-skeleton thin path over TCP', () => {
  let bench: SimulatedBench;
  let meter: PowerMeter;
  let sw: OpticalSwitch;
  beforeAll(async () => {
    bench = await startSimulatedBench({});
    meter = createInstrument({ id: 'pm', dialect: 'thorlabs-pm100', transport: { kind: 'tcp', host: bench.meter.kind === 'tcp' ? bench.meter.host : '', port: bench.meter.kind === 'tcp' ? bench.meter.port : 0 } }) as PowerMeter;
    sw = createInstrument({ id: 'sw', dialect: 'dicon-mems-switch', transport: { kind: 'tcp', host: '127.0.0.1', port: bench.switch.kind === 'tcp' ? bench.switch.port : 0 } }) as OpticalSwitch;
  });
  afterAll(async () => {
    await meter?.close();
    await sw?.close();
    await bench?.close();
  });

  it('references and measures fiber 7 of the 0.9 dB assembly', async () => {
    const id = await meter.connect();
    expect(id.manufacturer).toBe('Thorlabs');
    await sw.connect();
    expect(await sw.channelCount()).toBe(12);
    expect(await control(bench.control.port, 'DUT REMOVE')).toBe('OK');
    await meter.setWavelength(850);
    await sw.selectChannel(7);
    const ref = await meter.readPowerDbm();
    expect(ref).toBeCloseTo(-20 - 0.12, 6);
    expect(await control(bench.control.port, 'DUT INSERT mtp12-om4-fiber7-0.9dB')).toBe('OK');
    expect(await control(bench.control.port, 'DUT?')).toBe('mtp12-om4-fiber7-0.9dB A'); // end A on the launch cord
    const meas = await meter.readPowerDbm();
    expect(ref - meas).toBeCloseTo(0.9, 6);
    await meter.setWavelength(1300);
    expect(ref - (await meter.readPowerDbm())).toBeCloseTo(0.5 + 0.85, 6);
    expect(await control(bench.control.port, 'DUT INSERT nope')).toMatch(/^ERR unknown assembly/);
  });

  it('a dark fiber rejects with no-light, never a number', async () => {
    bench.control_('DUT INSERT mtp12-om4-dark-fiber-5');
    await sw.selectChannel(5);
    await expect(meter.readPowerDbm()).rejects.toBeInstanceOf(OpticalRangeError);
    expect(meter.status().state).toBe('online');
  });
});
