/**
 * The Santec MPM-210H driver against the simulated meter on loopback TCP, behind the simulated
 * optical bench: every port in one read, light found where the lit fiber arrives, the transcript
 * of what the driver sends, settings lost by a power cycle caught by confirmSettings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInstrument } from '../../drivers/registry.js';
import { MeterSettingsChangedError } from '../../src/instruments/errors.js';
import { startSimulatedBench, type SimulatedBench } from '../../fixtures/simulators/bench.js';
import type { MultiPortPowerMeter, OpticalSwitch } from '../../src/instruments/capabilities.js';

let bench: SimulatedBench;
let mpm: MultiPortPowerMeter;
let sw: OpticalSwitch;
const port = (e: { kind: string; port?: number }): number => e.port!;

beforeAll(async () => {
  bench = await startSimulatedBench({ mpmPort: 0 });
  mpm = createInstrument({ id: 'mpm', dialect: 'santec-mpm-210h', timeoutMs: 1000, transport: { kind: 'tcp', host: '127.0.0.1', port: port(bench.multiPortMeter!) } }) as MultiPortPowerMeter;
  sw = createInstrument({ id: 'sw', dialect: 'dicon-mems-switch', transport: { kind: 'tcp', host: '127.0.0.1', port: port(bench.switch) } }) as OpticalSwitch;
  await sw.connect();
});
afterAll(async () => {
  await mpm?.close();
  await sw?.close();
  await bench?.close();
});

describe('Santec MPM-210H', () => {
  it('identifies, counts 3 modules x 4 ports, and sets itself up with the documented commands', async () => {
    const id = await mpm.connect();
    expect(id).toMatchObject({ manufacturer: 'Santec', model: 'MPM-210H', serialNumber: '22110451', firmware: 'Ver.2.0' });
    expect(await mpm.portCount()).toBe(12);
    await mpm.setWavelength(850);
    expect(bench.devices.multiPortMeter!.received).toEqual(['*IDN?', 'IDIS?', 'WMOD CONST1', 'AUTO 1', 'UNIT 0', 'ERR?', 'WAV 850', 'ERR?', 'WAV?']);
  });

  it('reads every port at once: light only where the lit fiber arrives, the rest no light', async () => {
    bench.control_('DUT REMOVE');
    await sw.selectChannel(3);
    // Launch cord alone: straight through, source -20.00 dBm, cord 0.11 dB on fiber 3.
    expect(await mpm.readAllPorts()).toEqual(['no-light', 'no-light', -20.11, ...Array(9).fill('no-light')]);
    // A type B trunk: fiber 3 arrives at position 10, 0.33 dB lower (mtp12-om4-good at 850 nm).
    bench.control_('DUT INSERT mtp12-om4-good');
    const ports = await mpm.readAllPorts();
    expect(ports.findIndex((p) => typeof p === 'number') + 1).toBe(10);
    expect(ports[9]).toBeCloseTo(-20.11 - 0.33, 6);
    // Turned round: end B position 3 carries the fiber from end A position 10, back at 3... at end A.
    bench.control_('DUT TURN');
    const turned = await mpm.readAllPorts();
    expect(turned.findIndex((p) => typeof p === 'number') + 1).toBe(10);
    expect(turned[9]).toBeCloseTo(-20.11 - 0.45, 6); // fiber 10 of end A loses 0.45 dB
  });

  it('a power cycle behind the open link (back to 1550 nm) is caught by confirmSettings, never certified', async () => {
    await mpm.setWavelength(850);
    await mpm.confirmSettings(850);
    bench.inject('mpm', { kind: 'reset', arg: 0 });
    await mpm.readAllPorts().catch(() => undefined);
    const err = await mpm.confirmSettings(850).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MeterSettingsChangedError);
    expect((err as Error).message).toBe('meter settings changed since they were set (wavelength reads 1550 nm, not 850 nm): the readings since are suspect');
  });

  it('a power cycle while the link was down is caught too: the reopen re-applies the settings but remembers they were lost', async () => {
    await mpm.setWavelength(850);
    await mpm.confirmSettings(850);
    // Power cycle (back to 1550 nm), then the connection drops for 200 ms.
    bench.inject('mpm', { kind: 'reset', arg: 0 });
    bench.inject('mpm', { kind: 'disconnect', arg: 200 });
    await mpm.readAllPorts().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 400));
    await mpm.readAllPorts(); // reopens: settings re-applied, so this reading is right again
    const err = await mpm.confirmSettings(850).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MeterSettingsChangedError);
    expect((err as Error).message).toBe('meter settings changed since they were set (wavelength reads 1550 nm, not 850 nm on reopening the link): the readings since are suspect');
    // A new sweep starts clean.
    await mpm.setWavelength(850);
    await mpm.confirmSettings(850);
  });
});
