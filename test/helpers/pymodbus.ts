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
  /** Why the server process is gone (exit code and stderr), or undefined while it runs. */
  exited(): string | undefined;
  /** Kills the server and waits for it to exit. */
  close(): Promise<void>;
}

/**
 * Starts the server (`['PORT']` for TCP, `['--rtu', PATH]` for RTU on a serial device, then the
 * register JSON and an optional unit id) and resolves once it prints READY.
 */
export async function startPymodbus(where: string[], input: Record<number, number>, unitId?: number, env?: NodeJS.ProcessEnv): Promise<PymodbusPeer> {
  const py = spawn('/usr/bin/python3', [path.resolve('test/helpers/pymodbus-server.py'), ...where, JSON.stringify({ input }), ...(unitId !== undefined ? [String(unitId)] : [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(env ? { env: { ...process.env, ...env } } : {}),
  });
  let stderr = '';
  let exit: string | undefined;
  py.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  py.on('exit', (code, signal) => (exit = `python3-pymodbus server exited (${signal ?? `code ${code}`}): ${stderr.trim().split('\n').slice(-3).join(' | ') || 'no output'}`));
  const peer: PymodbusPeer = {
    stderr: () => stderr,
    exited: () => exit,
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
      py.on('exit', () => reject(new Error(`${exit} (before READY: is python3-pymodbus with python3-serial installed? scripts/install-test-deps.sh installs both)`)));
    });
  } catch (err) {
    await peer.close();
    throw err;
  }
  return peer;
}

/**
 * The server opens its socket / serial device just after READY: poll the fiber count until it
 * answers. A peer that died, or never answers, is a failure that names the peer, never `undefined`.
 */
export async function firstFiberCount(lts: ModbusLossTestSet, peer: PymodbusPeer): Promise<number> {
  let last: unknown;
  for (let i = 0; i < 50; i++) {
    const gone = peer.exited();
    if (gone !== undefined) throw new Error(gone);
    try {
      return await lts.fiberCount();
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`python3-pymodbus server did not answer within 5 s: ${String(last)}; its stderr: ${peer.stderr().trim() || 'empty'}`);
}
