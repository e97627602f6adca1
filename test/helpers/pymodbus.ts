/** Debian's python3-pymodbus as an independent Modbus peer (test/helpers/pymodbus-server.py). */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { encodeValue, protocolAddress, type RegisterMapProfile, type Role } from '../../drivers/modbus-profile.js';
import type { ModbusLossTestSet } from '../../drivers/modbus-loss-test-set.js';

/** Input registers for a whole result block of `fibers` fibers, encoded by the profile. */
export function resultBlockRegisters(
  profile: RegisterMapProfile,
  o: { fibers: number; sequence: number; loss: (i: number) => number; power: (i: number) => number; receivedAt: (i: number) => number },
): Record<number, number> {
  const input: Record<number, number> = {};
  const put = (role: Role, value: number, i = 0): void => {
    const r = profile.registers[role];
    encodeValue(r, value).forEach((w, k) => (input[protocolAddress(profile, r, i) + k] = w));
  };
  put('fiberCount', o.fibers);
  put('sequence', o.sequence);
  put('sequenceEnd', o.sequence);
  for (let i = 0; i < (profile.registers.loss.count ?? 1); i++) {
    const lit = i < o.fibers;
    put('loss', lit ? o.loss(i) : 0, i);
    put('power', lit ? o.power(i) : 0, i);
    put('receivedAt', lit ? o.receivedAt(i) : 0, i);
  }
  return input;
}

export interface PymodbusPeer {
  stderr(): string;
  /** Kills the server and waits for it to exit. */
  close(): Promise<void>;
}

/**
 * Starts the server (`['PORT']` for TCP, `['--rtu', PATH]` for RTU on a serial device, then the
 * register JSON and an optional unit id) and resolves once it prints READY.
 */
export async function startPymodbus(where: string[], input: Record<number, number>, unitId?: number): Promise<PymodbusPeer> {
  const py = spawn('/usr/bin/python3', [path.resolve('test/helpers/pymodbus-server.py'), ...where, JSON.stringify({ input }), ...(unitId !== undefined ? [String(unitId)] : [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  py.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const peer: PymodbusPeer = {
    stderr: () => stderr,
    close: async () => {
      if (py.exitCode !== null || py.signalCode !== null) return;
      const gone = new Promise((r) => py.once('exit', r));
      py.kill('SIGKILL');
      await gone;
    },
  };
  try {
    await new Promise<void>((resolve, reject) => {
      py.stdout.on('data', (d: Buffer) => d.toString().includes('READY') && resolve());
      py.on('exit', (c) => reject(new Error(`pymodbus exited ${c}: ${stderr}`)));
    });
  } catch (err) {
    await peer.close();
    throw err;
  }
  return peer;
}

/** The server opens its socket / serial device just after READY: poll the fiber count until it answers. */
export async function firstFiberCount(lts: ModbusLossTestSet): Promise<number | undefined> {
  for (let i = 0; i < 50; i++) {
    const n = await lts.fiberCount().catch(() => undefined);
    if (n !== undefined) return n;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}
