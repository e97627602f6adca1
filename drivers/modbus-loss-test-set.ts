/** Modbus MPO loss-test set (placeholder until the Modbus part lands). */
import { ConfigError } from '../src/errors.js';
import type { LossTestSet } from '../src/instruments/capabilities.js';
import type { TransportLogger } from '../src/transport/line-transport.js';

export function createModbusLossTestSet(o: {
  id: string;
  timeoutMs?: number;
  logger?: TransportLogger;
  transport: { kind: 'modbus-tcp' | 'modbus-rtu' };
  profile: string;
}): LossTestSet {
  throw new ConfigError('modbus-loss-test-set is not implemented yet', { instrument: o.id });
}
