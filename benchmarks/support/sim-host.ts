/**
 * Child process: N simulated benches (PM100 meter + DiCon switch + control port) in one process.
 *   node dist/benchmarks/support/sim-host.js '{"count":16,"channels":24,"transport":"tcp","meterDelayMs":20}'
 * Prints one JSON line (the benches' endpoints) when ready; stops on SIGTERM.
 * meterDelayMs: every power reading (MEAS:POW?) is answered that much later (a realistic meter integration time).
 */
import { startSimulatedBench, type SimulatedBench } from '../../fixtures/simulators/bench.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as { count: number; channels: number; transport: 'tcp' | 'pty'; meterDelayMs?: number; ptyDir?: string; multiPort?: boolean };
const benches: SimulatedBench[] = [];
try {
  for (let i = 0; i < opts.count; i++) {
    const b = await startSimulatedBench({
      channels: opts.channels,
      transport: opts.transport,
      ...(opts.ptyDir ? { ptyDir: opts.ptyDir } : {}),
      // The all-fibers-lit bench on the same optical model: MPO source + Santec multi-port meter.
      ...(opts.multiPort ? { mpmPort: 0, mpoSourcePort: 0 } : {}),
    });
    if (opts.meterDelayMs) {
      // The meter's integration time: only a power reading is slow, not the setting queries around it.
      const meter = b.devices.meter;
      const take = meter.faults.take.bind(meter.faults);
      const delay = opts.meterDelayMs;
      meter.faults.take = (kinds) => take(kinds) ?? (/^MEAS:POW\?|^READ\?/i.test(meter.received[meter.received.length - 1] ?? '') ? { kind: 'delay', arg: delay, count: 1 } : undefined);
      // The multi-port meter integrates every module at once: one integration time per reading of
      // all ports, paid on the first module's READ?, the others are fetched at once.
      const mpm = b.devices.multiPortMeter;
      if (mpm) {
        const takeMpm = mpm.faults.take.bind(mpm.faults);
        mpm.faults.take = (kinds) => takeMpm(kinds) ?? (/^READ\? 0$/i.test(mpm.received[mpm.received.length - 1] ?? '') ? { kind: 'delay', arg: delay, count: 1 } : undefined);
      }
    }
    benches.push(b);
  }
} catch (err) {
  for (const b of benches) await b.close();
  process.stderr.write(`sim-host: ${String(err)}\n`);
  process.exit(1);
}
process.stdout.write(
  JSON.stringify(benches.map((b) => ({ meter: b.meter, switch: b.switch, control: b.control, ...(b.multiPortMeter ? { multiPortMeter: b.multiPortMeter } : {}), ...(b.mpoSource ? { mpoSource: b.mpoSource } : {}) }))) + '\n',
);
let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void Promise.allSettled(benches.map((b) => b.close())).then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
