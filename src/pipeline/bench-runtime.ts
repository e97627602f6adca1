import type { BenchConfig } from '../config/schema.js';
import { JobRefusedError } from '../errors.js';
import {
  isLightSource,
  isLossTestSet,
  isMultiFiberLightSource,
  isMultiPortPowerMeter,
  type MultiFiberLightSource,
  type MultiPortPowerMeter,
  isOpticalSwitch,
  isPowerMeter,
  type AnyInstrument,
  type InstrumentIdentity,
  type InstrumentStatus,
  type LightSource,
  type LossTestSet,
  type OpticalSwitch,
  type PowerMeter,
} from '../instruments/capabilities.js';
import type { Operator } from './operator.js';

/** `lightSource`: the source the bench sets to each sweep's wavelength; absent, it is set by hand. */
export type BenchMethod =
  | { kind: 'switch-and-meter'; powerMeter: PowerMeter; switch: OpticalSwitch; lightSource?: LightSource }
  | { kind: 'switch-and-multiport-meter'; multiPortMeter: MultiPortPowerMeter; switch: OpticalSwitch; lightSource?: LightSource }
  | { kind: 'mpo-source-and-multiport-meter'; mpoSource: MultiFiberLightSource; multiPortMeter: MultiPortPowerMeter }
  | { kind: 'loss-test-set'; lossTestSet: LossTestSet };

/**
 * How a bench's parts are made from its config. The pipeline knows capabilities, never a driver:
 * the daemon (the composition root, src/daemon/bench-parts.ts) passes the drivers' registry and
 * the operator kinds; tests pass in-memory instruments.
 */
export interface BenchParts {
  instrument(config: BenchConfig['instruments'][number]): AnyInstrument;
  operator(benchId: string, config: BenchConfig['operator']): Operator;
}

/**
 * A configured bench brought to life: its instruments (created from config, not yet trusted to
 * be online) and the roles the measurement method gives them.
 */
export class BenchRuntime {
  readonly instruments: Map<string, AnyInstrument>;
  readonly method: BenchMethod;
  readonly operator: Operator;

  constructor(
    readonly config: BenchConfig,
    parts: BenchParts,
  ) {
    this.instruments = new Map(config.instruments.map((c) => [c.id, parts.instrument(c)]));
    this.operator = parts.operator(config.id, config.operator);
    this.method = this.resolveMethod();
  }

  get id(): string {
    return this.config.id;
  }

  /**
   * Whether the bench sees where each fiber's light arrives (so it measures polarity): a
   * multi-port meter or a loss-test set does; a single large-area meter cannot.
   */
  get resolvesPositions(): boolean {
    return this.method.kind !== 'switch-and-meter';
  }

  private resolveMethod(): BenchMethod {
    const m = this.config.method;
    const get = (id: string): AnyInstrument => this.instruments.get(id)!; // ids checked when the config loaded
    const source = (id: string | undefined): { lightSource?: LightSource } => {
      if (id === undefined) return {};
      const inst = this.instruments.get(id);
      if (!inst) throw new JobRefusedError('BAD_ROLE', `no instrument "${id}" on bench "${this.id}" for the light source`, { bench: this.id });
      if (!isLightSource(inst)) throw new JobRefusedError('BAD_ROLE', `instrument "${id}" is not a light source`, { bench: this.id });
      return { lightSource: inst };
    };
    if (m.kind === 'switch-and-meter') {
      const meter = get(m.powerMeter);
      const sw = get(m.switch);
      if (!isPowerMeter(meter)) throw new JobRefusedError('BAD_ROLE', `instrument "${m.powerMeter}" is not a power meter`, { bench: this.id });
      if (!isOpticalSwitch(sw)) throw new JobRefusedError('BAD_ROLE', `instrument "${m.switch}" is not an optical switch`, { bench: this.id });
      return { kind: 'switch-and-meter', powerMeter: meter, switch: sw, ...source(m.lightSource) };
    }
    if (m.kind === 'switch-and-multiport-meter') {
      const meter = get(m.multiPortMeter);
      const sw = get(m.switch);
      if (!isMultiPortPowerMeter(meter)) throw new JobRefusedError('BAD_ROLE', `instrument "${m.multiPortMeter}" is not a multi-port power meter`, { bench: this.id });
      if (!isOpticalSwitch(sw)) throw new JobRefusedError('BAD_ROLE', `instrument "${m.switch}" is not an optical switch`, { bench: this.id });
      return { kind: 'switch-and-multiport-meter', multiPortMeter: meter, switch: sw, ...source(m.lightSource) };
    }
    if (m.kind === 'mpo-source-and-multiport-meter') {
      const meter = get(m.multiPortMeter);
      const src = get(m.mpoSource);
      if (!isMultiPortPowerMeter(meter)) throw new JobRefusedError('BAD_ROLE', `instrument "${m.multiPortMeter}" is not a multi-port power meter`, { bench: this.id });
      if (!isMultiFiberLightSource(src)) throw new JobRefusedError('BAD_ROLE', `instrument "${m.mpoSource}" is not an MPO source with per-fiber outputs`, { bench: this.id });
      return { kind: 'mpo-source-and-multiport-meter', multiPortMeter: meter, mpoSource: src };
    }
    const lts = get(m.lossTestSet);
    if (!isLossTestSet(lts)) throw new JobRefusedError('BAD_ROLE', `instrument "${m.lossTestSet}" is not a loss-test set`, { bench: this.id });
    return { kind: 'loss-test-set', lossTestSet: lts };
  }

  private readonly connecting = new Map<string, Promise<unknown>>();

  /** One connect at a time per instrument: a job and the reconnect monitor may both ask. */
  private connectOnce(inst: AnyInstrument): Promise<unknown> {
    let pending = this.connecting.get(inst.id);
    if (!pending) {
      pending = inst.connect().finally(() => this.connecting.delete(inst.id));
      this.connecting.set(inst.id, pending);
    }
    return pending;
  }

  /** Connects whatever is not online; rejects with the first instrument's error. */
  async ensureConnected(): Promise<void> {
    for (const inst of this.instruments.values()) {
      if (inst.status().state !== 'online') await this.connectOnce(inst);
    }
  }

  /**
   * Tries every instrument that is not online, once, and never rejects: at start-up (a bench may
   * be switched off) and from the daemon's reconnect monitor, so /status shows an instrument
   * online again soon after it returns, not only when the next job needs it.
   */
  async connectAllSettled(): Promise<void> {
    await Promise.allSettled([...this.instruments.values()].filter((i) => i.status().state !== 'online').map((i) => this.connectOnce(i)));
  }

  /** Every instrument's identity, asked now (not cached): what a reference or certificate records. */
  async identifyAll(): Promise<InstrumentIdentity[]> {
    const out: InstrumentIdentity[] = [];
    for (const inst of this.instruments.values()) out.push(await inst.identify());
    return out;
  }

  status(): InstrumentStatus[] {
    return [...this.instruments.values()].map((i) => i.status());
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.instruments.values()].map((i) => i.close()));
  }
}
