/**
 * The Modbus loss-test set's identity comes from the device (serialNumber, referenceEpoch), so the
 * daemon's identity check (src/pipeline/instrument-identity.ts) refuses a reference taken before a
 * replacement or a power cycle; and the completion poll reads status + statusToken in one request.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ModbusLossTestSet } from '../../drivers/modbus-loss-test-set.js';
import { loadProfile, validateProfile, encodeString, decodeString } from '../../drivers/modbus-profile.js';
import { serveLossTestSet, type ServedLossTestSet } from '../../fixtures/simulators/modbus-lts-sim.js';
import { OpticalBench } from '../../fixtures/simulators/optical-bench.js';
import { assertSameInstruments } from '../../src/pipeline/instrument-identity.js';
import { ConfigError, InstrumentReplyError, JobRefusedError } from '../../src/errors.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

async function setUp(profile = 'mpocert-reference', unitId = 1, serialNumber?: string): Promise<{ sim: ServedLossTestSet; lts: ModbusLossTestSet; model: OpticalBench }> {
  const model = new OpticalBench({ channels: 12 });
  const sim = await serveLossTestSet({ model, profile, unitId, ...(serialNumber ? { serialNumber } : {}) });
  cleanups.push(() => sim.close());
  const lts = new ModbusLossTestSet({ id: 'lts', transport: { kind: 'modbus-tcp', host: '127.0.0.1', port: sim.port, unitId }, profile, timeoutMs: 500 });
  cleanups.push(() => lts.close());
  return { sim, lts, model };
}

describe('identity read from the device (reference profile)', () => {
  it('reports the device serial number and reference epoch', async () => {
    const { sim, lts } = await setUp('mpocert-reference', 1, 'LTS-000123');
    const id = await lts.connect();
    expect(id.serialNumber).toBe(`LTS-000123 (reference epoch ${sim.referenceEpoch()})`);
    expect(id.model).toBe('mpocert-reference');
    expect(id.raw).toMatch(/12 fibers, serial LTS-000123, reference epoch 1$/);
    expect(await lts.referenceEpoch()).toBe(1);
  });

  it('identity at reference time equals identity at job time; a measure does not change it', async () => {
    const { lts, model } = await setUp();
    await lts.connect();
    await lts.reference([850, 1300]);
    // What the daemon stores with the reference (measure.ts identifies after referencing).
    const atReference = await lts.identify();
    model.insertDut('mtp12-om4-good');
    const before = await lts.identify();
    expect(() => assertSameInstruments([atReference], [before], 'b1')).not.toThrow();
    await lts.measureAll(850);
    await lts.measureAll(1300);
    const after = await lts.identify();
    expect(() => assertSameInstruments([before], [after], 'b1')).not.toThrow();
  });

  it('a power cycle (reset fault) between reference and measure changes the identity: the stale reference is refused', async () => {
    const { sim, lts } = await setUp();
    await lts.connect();
    await lts.reference([850]);
    const atReference = await lts.identify();
    const epoch = await lts.referenceEpoch();
    sim.inject({ kind: 'reset' });
    const now = await lts.identify();
    expect(await lts.referenceEpoch()).toBe(epoch! + 1);
    expect(now.serialNumber).not.toBe(atReference.serialNumber);
    expect(() => assertSameInstruments([atReference], [now], 'b1')).toThrow(JobRefusedError);
    // Referencing again (what the refusal asks for) gives an identity that then stays put.
    await lts.reference([850]);
    const again = await lts.identify();
    const later = await lts.identify();
    expect(() => assertSameInstruments([again], [later], 'b1')).not.toThrow();
  });

  it('a re-reference behind the daemon (front panel) also changes the epoch', async () => {
    const { lts } = await setUp();
    await lts.reference([850]);
    const atReference = await lts.identify();
    await lts.reference([850]);
    const now = await lts.identify();
    expect(() => assertSameInstruments([atReference], [now], 'b1')).toThrow(JobRefusedError);
  });

  it('a replaced device (another serial on the same address) is refused', async () => {
    const a = await setUp('mpocert-reference', 1, 'LTS-A');
    const b = await setUp('mpocert-reference', 1, 'LTS-B');
    const ia = await a.lts.connect();
    const ib = await b.lts.connect();
    expect(ia.serialNumber).toMatch(/^LTS-A /);
    expect(() => assertSameInstruments([ia], [ib], 'b1')).toThrow(JobRefusedError);
  });
});

describe('a profile without identity registers (acme-lts2-cdab)', () => {
  it('keeps the config-derived identity, marked as not reported by the device', async () => {
    const { lts } = await setUp('acme-lts2-cdab', 7);
    const id = await lts.connect();
    expect(id.serialNumber).toBe('unit 7 (not reported by device)');
    expect(id.raw).toMatch(/serial not reported, reference epoch not reported/);
    expect(await lts.referenceEpoch()).toBeUndefined();
  });
});

describe('completion poll and result ownership', () => {
  it('reads status + statusToken (+ errorCode) in one request', async () => {
    const { sim, lts, model } = await setUp();
    await lts.connect();
    await lts.reference([850]);
    model.insertDut('mtp12-om4-good');
    sim.requestLog.length = 0;
    await lts.measureAll(850);
    const inputReads = sim.requestLog.filter((r) => r.fc === 4);
    const polls = inputReads.filter((r) => r.address <= 1 && r.address + r.quantity > 0);
    expect(polls.length).toBeGreaterThan(0);
    expect(polls.every((r) => r.address === 0 && r.quantity === 3)).toBe(true);
    // sequence and resultToken (input 4, 5) are read together too.
    expect(inputReads.some((r) => r.address === 4 && r.quantity === 2)).toBe(true);
    // An error completion needs no further request for errorCode.
    sim.requestLog.length = 0;
    await expect(lts.measureAll(1310)).rejects.toThrow(/error 1 \(no reference stored/);
    expect(sim.requestLog.filter((r) => r.fc === 4).every((r) => r.address === 0 && r.quantity === 3)).toBe(true);
  });

  it('acme map: the adjacent holding registers are polled in one request', async () => {
    const { sim, lts } = await setUp('acme-lts2-cdab', 7);
    await lts.reference([850]);
    const polls = sim.requestLog.filter((r) => r.fc === 3 && r.address >= 2000 && r.address <= 2002);
    expect(polls.length).toBeGreaterThan(0);
    expect(polls.every((r) => r.address === 2000 && r.quantity === 3)).toBe(true);
  });

  it('a result block carrying another command token is rejected', async () => {
    const { lts } = await setUp();
    await lts.reference([850]);
    await lts.measureAll(850);
    // Without a token to check against, the block reads as before.
    expect(await lts.readResultBlock(850)).toHaveLength(12);
    await expect(lts.readResultBlock(850, 0)).rejects.toBeInstanceOf(InstrumentReplyError);
    await expect(lts.readResultBlock(850, 0)).rejects.toThrow(/belongs to command token \d+, not to this measure \(token 0\)/);
  });
});

describe('identity register validation', () => {
  it('allows string only for serialNumber, and numbers of the listed types', () => {
    const p = structuredClone(loadProfile('mpocert-reference')) as Record<string, any>;
    p.registers.referenceEpoch.dataType = 'string';
    expect(() => validateProfile(p)).toThrow(ConfigError);
    const q = structuredClone(loadProfile('mpocert-reference')) as Record<string, any>;
    q.registers.fiberCount.dataType = 'string';
    expect(() => validateProfile(q)).toThrow(/fiberCount cannot be string/);
    const r = structuredClone(loadProfile('mpocert-reference')) as Record<string, any>;
    r.registers.serialNumber = { address: 150, type: 'input', dataType: 'uint32', access: 'r' };
    expect(validateProfile(r).registers.serialNumber?.dataType).toBe('uint32');
    const s = structuredClone(loadProfile('mpocert-reference')) as Record<string, any>;
    s.registers.serialNumber.address = 155; // 8 registers: runs into referenceEpoch at 160
    expect(() => validateProfile(s)).toThrow(/overlap/);
  });
  it('encodes and decodes string registers', () => {
    const r = loadProfile('mpocert-reference').registers.serialNumber!;
    const words = encodeString(r, 'AB-1');
    expect(words).toEqual([0x4142, 0x2d31, 0, 0, 0, 0, 0, 0]);
    expect(decodeString(words)).toBe('AB-1');
    expect(decodeString([0x0102])).toBeUndefined();
  });
});
