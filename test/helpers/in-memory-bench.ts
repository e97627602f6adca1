/**
 * In-memory instruments on the optical model the simulators use (OpticalBench): a power meter
 * whose reading takes `readDelayMs` of (fake-able) timer time, a 1xN switch, and an operator that
 * performs each physical step on the model. For unit tests of the job runner with fake timers:
 * no socket, no process, the same light.
 */
import { OpticalBench } from '../../fixtures/simulators/optical-bench.js';
import { OpticalRangeError, MeterSettingsChangedError } from '../../src/instruments/errors.js';
import type { InstrumentIdentity, InstrumentStatus, MultiFiberLightSource, MultiPortPowerMeter, OpticalSwitch, PortReading, PowerMeter } from '../../src/instruments/capabilities.js';
import type { Operator, OperatorStep } from '../../src/pipeline/operator.js';
import { InstrumentTimeoutError } from '../../src/errors.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

abstract class MemoryInstrument {
  online = false;
  constructor(
    readonly id: string,
    readonly dialect: string,
    protected readonly identity: InstrumentIdentity,
  ) {}
  async connect(): Promise<InstrumentIdentity> {
    this.online = true;
    return this.identity;
  }
  async identify(): Promise<InstrumentIdentity> {
    return this.identity;
  }
  status(): InstrumentStatus {
    return { id: this.id, dialect: this.dialect, port: `memory:${this.id}`, state: this.online ? 'online' : 'offline', identity: this.identity };
  }
  async close(): Promise<void> {
    this.online = false;
  }
}

export class MemoryMeter extends MemoryInstrument implements PowerMeter {
  readonly capabilities = { powerMeter: true } as const;
  wavelengthNm = 1550;
  readings = 0;
  /** The wavelength the meter really uses (a power cycle behind the port changes it). */
  actualNm: number | undefined;
  /** Readings after this many hang (never answer within the timeout). */
  hangAfter = Infinity;

  constructor(
    private readonly model: OpticalBench,
    private readonly readDelayMs = 20,
    private readonly timeoutMs = 1000,
  ) {
    super('meter', 'memory-meter', { manufacturer: 'Memory', model: 'PM-0', serialNumber: 'M1', firmware: '1.0', raw: 'Memory,PM-0,M1,1.0' });
  }
  async setWavelength(nm: number): Promise<void> {
    this.wavelengthNm = nm;
    this.actualNm = nm;
  }
  async getWavelength(): Promise<number> {
    return this.actualNm ?? this.wavelengthNm;
  }
  async readPowerDbm(): Promise<number> {
    if (this.readings >= this.hangAfter) {
      await sleep(this.timeoutMs);
      throw new InstrumentTimeoutError(`no complete reply from memory:meter within ${this.timeoutMs} ms`, { port: 'memory:meter', command: 'MEAS:POW?' });
    }
    this.readings++;
    await sleep(this.readDelayMs);
    const p = this.model.powerAtMeterDbm(this.actualNm ?? this.wavelengthNm);
    if (p === null) throw new OpticalRangeError('no-light', 'no light', { port: 'memory:meter', command: 'MEAS:POW?' });
    return p;
  }
  async confirmSettings(nm: number): Promise<void> {
    if ((this.actualNm ?? this.wavelengthNm) !== nm) {
      throw new MeterSettingsChangedError(`meter settings changed since they were set (wavelength reads ${this.actualNm} nm, not ${nm} nm)`, { port: 'memory:meter', command: 'WAV?' });
    }
  }
  async zero(): Promise<void> {}
}

export class MemorySwitch extends MemoryInstrument implements OpticalSwitch {
  readonly capabilities = { opticalSwitch: true } as const;
  constructor(private readonly model: OpticalBench) {
    super('switch', 'memory-switch', { manufacturer: 'Memory', model: 'SW-12', serialNumber: 'S1', firmware: '1.0', raw: 'Memory,SW-12,S1,1.0' });
  }
  async channelCount(): Promise<number> {
    return this.model.channels;
  }
  async selectChannel(n: number): Promise<void> {
    this.model.selected = n;
  }
  async selectedChannel(): Promise<number> {
    return this.model.selected;
  }
}

/** Performs each step on the model, after `stepMs` of timer time; `steps` records them. */
export class ModelOperator implements Operator {
  readonly kind = 'model';
  readonly steps: string[] = [];
  constructor(
    private readonly model: OpticalBench,
    private readonly assemblies: Record<string, string>,
    private readonly stepMs = 0,
  ) {}
  async perform(step: OperatorStep, subject?: { id: string }): Promise<void> {
    this.steps.push(step.id);
    if (this.stepMs) await sleep(this.stepMs);
    if (step.id === 'launch-cord-only') {
      this.model.removeDut();
      this.model.removePlug();
    } else if (step.id === 'mate-reference-plug') this.model.insertPlug();
    else if (step.id === 'connect-end-A') this.model.insertDut(this.assemblies[subject?.id ?? ''] ?? 'missing');
    else this.model.turn();
  }
}

/** A multi-port meter reading every position of the model at once, `readDelayMs` per query. */
export class MemoryMultiPortMeter extends MemoryInstrument implements MultiPortPowerMeter {
  readonly capabilities = { multiPortPowerMeter: true } as const;
  wavelengthNm = 1550;
  queries = 0;
  constructor(
    private readonly model: OpticalBench,
    private readonly readDelayMs = 20,
    private readonly noLightBelowDbm = -60,
  ) {
    super('mpm', 'memory-mpm', { manufacturer: 'Memory', model: 'MPM-12', serialNumber: 'P1', firmware: '1.0', raw: 'Memory,MPM-12,P1,1.0' });
  }
  async portCount(): Promise<number> {
    return this.model.channels;
  }
  async setWavelength(nm: number): Promise<void> {
    this.wavelengthNm = nm;
  }
  async readAllPorts(): Promise<PortReading[]> {
    this.queries++;
    await sleep(this.readDelayMs);
    return Array.from({ length: this.model.channels }, (_, i) => {
      const p = this.model.powerAtPositionDbm(this.wavelengthNm, i + 1);
      return p === null || p < this.noLightBelowDbm ? 'no-light' : p > 10 ? 'saturated' : p;
    });
  }
  async confirmSettings(): Promise<void> {}
}

/** An MPO source with one output per fiber, on the model; `lit` records every set of fibers it was asked to light. */
export class MemoryMpoSource extends MemoryInstrument implements MultiFiberLightSource {
  readonly capabilities = { multiFiberLightSource: true } as const;
  readonly lit: number[][] = [];
  constructor(private readonly model: OpticalBench) {
    super('mpo', 'memory-mpo-source', { manufacturer: 'Memory', model: 'MPO-SOURCE-12', serialNumber: 'L1', firmware: '1.0', raw: 'Memory,MPO-SOURCE-12,L1,1.0' });
    model.mpoSource = { nm: 1310, lit: new Set() };
  }
  async fiberCount(): Promise<number> {
    return this.model.channels;
  }
  async setWavelength(nm: number): Promise<void> {
    this.model.mpoSource = { nm, lit: this.model.mpoSource?.lit ?? new Set() };
  }
  async light(fibers: readonly number[]): Promise<void> {
    this.lit.push([...fibers]);
    this.model.mpoSource = { nm: this.model.mpoSource?.nm ?? 1310, lit: new Set(fibers) };
  }
}
