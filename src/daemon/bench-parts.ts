/**
 * The composition root for benches: how the daemon makes a bench's instruments (the drivers'
 * registry) and its operator (a person at the bench, or the simulated bench's stand-in). The
 * pipeline only sees the BenchParts interface, so it never imports a driver; the simulated
 * operator is loaded from fixtures/ only when a config names a simulated bench, so a production
 * config never loads simulator code.
 */
import { createInstrument } from '../../drivers/registry.js';
import type { DaemonConfig } from '../config/schema.js';
import type { BenchParts } from '../pipeline/bench-runtime.js';
import { DEFAULT_CONFIRM_TIMEOUT_S, ManualOperator } from '../pipeline/operator.js';

export async function benchParts(config: Pick<DaemonConfig, 'benches'>): Promise<BenchParts> {
  const simulated = config.benches.some((b) => b.operator.kind === 'simulated') ? await import('../../fixtures/simulators/simulated-operator.js') : undefined;
  return {
    instrument: (c) => createInstrument(c),
    operator: (benchId, cfg) => {
      if (cfg.kind === 'manual') return new ManualOperator(benchId, cfg.confirmTimeoutS ?? DEFAULT_CONFIRM_TIMEOUT_S);
      // Loaded above whenever a bench is simulated.
      const standIn = new simulated!.SimulatedOperator(cfg);
      return cfg.confirmSteps ? new ManualOperator(benchId, cfg.confirmTimeoutS ?? DEFAULT_CONFIRM_TIMEOUT_S, standIn) : standIn;
    },
  };
}
