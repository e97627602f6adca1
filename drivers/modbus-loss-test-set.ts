/**
 * A Modbus MPO loss-test set described entirely by a register-map profile (drivers/profiles).
 *
 * Command cycle: write wavelength, a fresh command token, then the command code; poll status and
 * statusToken until the token comes back with "done" (or "error": errorCode is read and named);
 * then read the result block framed by `sequence` ... `sequenceEnd`: if they differ the block was
 * read mid-update (torn) and is read again (3 attempts), never returned.
 * Dark fibers (receivedAt == profile.darkValue) come back with receivedAt null and NaN loss/power.
 */
import { InstrumentReplyError, InstrumentReportedError, InstrumentTimeoutError, InstrumentError } from '../src/errors.js';
import type { InstrumentIdentity, InstrumentStatus, LossTestFiberResult, LossTestSet } from '../src/instruments/capabilities.js';
import { ModbusBus, type ModbusEndpoint } from '../src/transport/modbus-bus.js';
import type { TransportLogger } from '../src/transport/line-transport.js';
import { decodeValue, encodeValue, loadProfile, protocolAddress, widthOf, type RegisterMapProfile, type Role } from './modbus-profile.js';
import { isRetryable } from './common.js';

export interface ModbusLossTestSetOptions {
  id: string;
  transport: ModbusEndpoint & { unitId: number };
  profile: string | RegisterMapProfile;
  timeoutMs?: number;
  /** How long a reference/measure command may take. Default 30 s. */
  commandTimeoutMs?: number;
  pollMs?: number;
  logger?: TransportLogger;
}

export class ModbusLossTestSet implements LossTestSet {
  readonly capabilities = { lossTestSet: true } as const;
  readonly id: string;
  readonly dialect = 'modbus-loss-test-set';
  readonly profile: RegisterMapProfile;
  private readonly bus: ModbusBus;
  private readonly unitId: number;
  private identity: InstrumentIdentity | undefined;
  private fibers: number | undefined;
  private token = Math.floor(Math.random() * 60000);
  private lastError: InstrumentStatus['lastError'];
  private closed = false;
  private readonly commandTimeoutMs: number;
  private readonly pollMs: number;

  constructor(o: ModbusLossTestSetOptions) {
    this.id = o.id;
    this.profile = typeof o.profile === 'string' ? loadProfile(o.profile) : o.profile;
    const { unitId, ...endpoint } = o.transport;
    this.unitId = unitId;
    this.bus = ModbusBus.shared(endpoint as ModbusEndpoint, { timeoutMs: o.timeoutMs ?? 1000, ...(o.logger ? { logger: o.logger } : {}) });
    this.commandTimeoutMs = o.commandTimeoutMs ?? 30_000;
    this.pollMs = o.pollMs ?? 20;
  }

  get port(): string {
    return `${this.bus.port}#${this.unitId}`;
  }

  private async track<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      if (err instanceof InstrumentError) this.lastError = { message: err.describe(), code: err.code, at: new Date().toISOString() };
      throw err;
    }
  }

  private async retry<T>(fn: () => Promise<T>, attempts = 2): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await fn();
      } catch (err) {
        const busy = err instanceof InstrumentReportedError && err.context.exceptionCode === 6;
        if (i >= attempts || !(isRetryable(err) || busy)) throw err;
        await new Promise((r) => setTimeout(r, busy ? 50 : 100));
      }
    }
  }

  private async readRole(role: Role, index = 0): Promise<number> {
    const r = this.profile.registers[role];
    const regs = await this.retry(() => this.bus.readRegisters(this.unitId, r.type, protocolAddress(this.profile, r, index), widthOf(r)));
    return decodeValue(r, regs);
  }

  private async readArray(role: Role, n: number): Promise<number[]> {
    const r = this.profile.registers[role];
    const w = widthOf(r);
    const out: number[] = [];
    const perRead = Math.floor(125 / w);
    for (let start = 0; start < n; start += perRead) {
      const k = Math.min(perRead, n - start);
      const regs = await this.retry(() => this.bus.readRegisters(this.unitId, r.type, protocolAddress(this.profile, r, start), k * w));
      for (let i = 0; i < k; i++) out.push(decodeValue(r, regs.slice(i * w, i * w + w)));
    }
    return out;
  }

  private async writeRole(role: Role, value: number): Promise<void> {
    const r = this.profile.registers[role];
    await this.retry(() => this.bus.writeRegisters(this.unitId, protocolAddress(this.profile, r), encodeValue(r, value)));
  }

  async connect(): Promise<InstrumentIdentity> {
    this.closed = false;
    return this.track(
      (async () => {
        const n = await this.fiberCount();
        this.identity = {
          manufacturer: 'Modbus loss-test set',
          model: this.profile.name,
          serialNumber: `unit ${this.unitId}`,
          firmware: '',
          raw: `${this.profile.name} at ${this.port}, ${n} fibers`,
        };
        return this.identity;
      })(),
    );
  }

  async identify(): Promise<InstrumentIdentity> {
    return this.connect();
  }

  status(): InstrumentStatus {
    const b = this.bus.status();
    const last = [this.lastError, b.lastError].filter((e): e is NonNullable<typeof e> => !!e).sort((a, c) => (a.at < c.at ? 1 : -1))[0];
    return {
      id: this.id,
      dialect: this.dialect,
      port: this.port,
      state: this.closed ? 'closed' : b.state,
      ...(this.identity ? { identity: this.identity } : {}),
      ...(last ? { lastError: last } : {}),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.bus.close();
  }

  async fiberCount(): Promise<number> {
    const n = await this.track(this.readRole('fiberCount'));
    const cap = this.profile.registers.loss.count ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > cap) {
      throw new InstrumentReplyError(`fiber count ${n} outside 1..${cap}`, { port: this.port, command: 'read fiberCount', received: String(n) });
    }
    this.fibers = n;
    return n;
  }

  private async runCommand(kind: 'reference' | 'measure', nm: number): Promise<void> {
    const command = `${kind} ${nm} nm`;
    const p = this.profile;
    this.token = (this.token % 65535) + 1;
    const token = this.token;
    await this.writeRole('wavelength', nm);
    await this.writeRole('commandToken', token);
    await this.writeRole('command', p.commands[kind]);
    const deadline = Date.now() + this.commandTimeoutMs;
    for (;;) {
      const status = await this.readRole('status');
      const echoed = await this.readRole('statusToken');
      if (echoed === token && status === p.statusCodes.done) return;
      if (echoed === token && status === p.statusCodes.error) {
        const code = await this.readRole('errorCode');
        const meaning = p.errorCodes?.[String(code)] ?? 'unknown error';
        throw new InstrumentReportedError(`loss-test set reported error ${code} (${meaning})`, { port: this.port, command, received: `errorCode ${code}` });
      }
      if (Date.now() > deadline) {
        throw new InstrumentTimeoutError(`${kind} did not complete within ${this.commandTimeoutMs} ms`, {
          port: this.port,
          command,
          received: `status ${status}, token ${echoed} (expected ${token})`,
        });
      }
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }

  async reference(wavelengthsNm: number[]): Promise<void> {
    for (const nm of wavelengthsNm) await this.track(this.runCommand('reference', nm));
  }

  async measureAll(wavelengthNm: number): Promise<LossTestFiberResult[]> {
    return this.track(
      (async () => {
        await this.runCommand('measure', wavelengthNm);
        return this.readResultBlock(wavelengthNm);
      })(),
    );
  }

  /** Reads the current result block (no command): sequence-checked, re-read up to 3 times if torn. */
  async readResultBlock(wavelengthNm: number): Promise<LossTestFiberResult[]> {
    return this.track(
      (async () => {
        const n = this.fibers ?? (await this.fiberCount());
        for (let attempt = 1; ; attempt++) {
          const seq = await this.readRole('sequence');
          const loss = await this.readArray('loss', n);
          const power = await this.readArray('power', n);
          const recv = await this.readArray('receivedAt', n);
          const seqEnd = await this.readRole('sequenceEnd');
          if (seq !== seqEnd) {
            if (attempt < 3) continue;
            throw new InstrumentReplyError(`result block torn: sequence ${seq} before, ${seqEnd} after`, {
              port: this.port,
              command: `measure ${wavelengthNm} nm`,
              received: `sequence ${seq}/${seqEnd}`,
            });
          }
          return loss.map((l, i): LossTestFiberResult => {
            const at = recv[i]!;
            const dark = at === (this.profile.darkValue ?? 0);
            const ctx = { port: this.port, command: `measure ${wavelengthNm} nm`, fiber: i + 1 };
            if (!dark && (at < 1 || at > n || !Number.isInteger(at))) throw new InstrumentReplyError(`fiber ${i + 1} arrived at impossible position ${at}`, { ...ctx, received: String(at) });
            if (!dark && (!Number.isFinite(l) || !Number.isFinite(power[i]!))) throw new InstrumentReplyError(`fiber ${i + 1}: non-finite result`, { ...ctx, received: `${l}/${power[i]}` });
            return { fiber: i + 1, wavelengthNm, lossDb: dark ? NaN : l, powerDbm: dark ? NaN : power[i]!, receivedAt: dark ? null : at };
          });
        }
      })(),
    );
  }
}

export function createModbusLossTestSet(o: ModbusLossTestSetOptions): LossTestSet {
  return new ModbusLossTestSet(o);
}
