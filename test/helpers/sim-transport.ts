import type { InstrumentConfig } from '../../drivers/registry.js';
import type { SimulatedBench } from '../../fixtures/simulators/bench.js';

/** A simulated line instrument's endpoint as the `transport` of an instrument config. */
export function transportOf(e: SimulatedBench['meter'] | SimulatedBench['switch']): InstrumentConfig['transport'] {
  return e.kind === 'tcp' ? { kind: 'tcp', host: e.host, port: e.port } : { kind: 'serial', path: e.path, ...(e.baudRate ? { baudRate: e.baudRate } : {}) };
}
