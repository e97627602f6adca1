/**
 * A Modbus MPO loss-test set described entirely by a register-map profile (drivers/profiles).
 *
 * Command cycle: write wavelength, a fresh command token, then the command code; poll status and
 * statusToken (one request when they are adjacent, with errorCode too when it follows them) until
 * the token comes back with "done" (or "error": errorCode is named); then read the result block
 * framed by `sequence` ... `sequenceEnd`: if they differ the block was read mid-update (torn) and
 * is read again (3 attempts), never returned. With a `resultToken` register the block must carry
 * this measure's token.
 * Dark fibers (receivedAt == profile.darkValue) come back with receivedAt null and NaN loss/power.
 *
 * Identity comes from the device when the profile has `serialNumber` / `referenceEpoch`
 * (drivers/README.md): serialNumber = "<device serial> (reference epoch <n>)", so the daemon's
 * identity check refuses a reference taken before a replacement, a power cycle or another
 * reference. Without them it is `unit <id> (not reported by device)`.
 */
import { InstrumentReplyError, InstrumentReportedError, InstrumentTimeoutError, InstrumentError } from '../src/errors.js';
import type { InstrumentIdentity, InstrumentStatus, LossTestFiberResult, LossTestSet } from '../src/instruments/capabilities.js';
import { ModbusBus, type ModbusEndpoint } from '../src/transport/modbus-bus.js';
import type { TransportLogger } from '../src/transport/line-transport.js';
import {
  contiguousSpan,
  decodeString,
  decodeValue,
  encodeValue,
  loadProfile,
  protocolAddress,
  widthOf,
  wordsOf,
  type AnyRole,
  type RegisterDef,
  type RegisterMapProfile,
  type Role,
} from './modbus-profile.js';
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

  private def(role: AnyRole): RegisterDef {
    const r = this.profile.registers[role];
    if (!r) throw new InstrumentReplyError(`profile ${this.profile.name} has no ${role} register`, { port: this.port, command: `read ${role}` });
    return r;
  }

  /**
   * Single-value registers read together: one request when they are of one type and contiguous
   * (an atomic snapshot), else one request each in the order given.
   */
  private async readRoles(roles: AnyRole[]): Promise<number[]> {
    const defs = roles.map((r) => this.def(r));
    const span = contiguousSpan(this.profile, defs);
    if (!span) {
      const out: number[] = [];
      for (const d of defs) out.push(decodeValue(d, await this.retry(() => this.bus.readRegisters(this.unitId, d.type, protocolAddress(this.profile, d), widthOf(d)))));
      return out;
    }
    const regs = await this.retry(() => this.bus.readRegisters(this.unitId, span.type, span.from, span.length));
    return defs.map((d) => {
      const at = protocolAddress(this.profile, d) - span.from;
      return decodeValue(d, regs.slice(at, at + widthOf(d)));
    });
  }

  private async readSerialNumber(): Promise<string | undefined> {
    const r = this.profile.registers.serialNumber;
    if (!r) return undefined;
    if (r.dataType !== 'string') return String((await this.readRoles(['serialNumber']))[0]);
    const regs = await this.retry(() => this.bus.readRegisters(this.unitId, r.type, protocolAddress(this.profile, r), wordsOf(r)));
    const text = decodeString(regs);
    if (!text) {
      throw new InstrumentReplyError('serial number register is empty or not printable ASCII', {
        port: this.port,
        command: 'read serialNumber',
        received: regs.map((w) => w.toString(16).padStart(4, '0')).join(' '),
      });
    }
    return text;
  }

  /**
   * The device's reference epoch (incremented by every stored reference and every power-up), or
   * undefined when the profile has no such register. Also part of identify()'s serialNumber.
   */
  async referenceEpoch(): Promise<number | undefined> {
    if (!this.profile.registers.referenceEpoch) return undefined;
    return this.track(this.readRoles(['referenceEpoch']).then((v) => v[0]!));
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
        const serial = await this.readSerialNumber();
        const epoch = await this.referenceEpoch();
        const base = serial ?? `unit ${this.unitId} (not reported by device)`;
        this.identity = {
          manufacturer: 'Modbus loss-test set',
          model: this.profile.name,
          // The epoch is part of what the daemon compares: see the header and drivers/README.md.
          serialNumber: epoch === undefined ? base : `${base} (reference epoch ${epoch})`,
          firmware: '',
          raw: `${this.profile.name} at ${this.port}, ${n} fibers, serial ${serial ?? 'not reported'}, reference epoch ${epoch ?? 'not reported'}`,
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

  private async runCommand(kind: 'reference' | 'measure', nm: number): Promise<number> {
    const command = `${kind} ${nm} nm`;
    const p = this.profile;
    this.token = (this.token % 65535) + 1;
    const token = this.token;
    await this.writeRole('wavelength', nm);
    await this.writeRole('commandToken', token);
    await this.writeRole('command', p.commands[kind]);
    const deadline = Date.now() + this.commandTimeoutMs;
    // One request for status + statusToken (+ errorCode when it follows them). A profile where
    // they are not adjacent gets the token first, then the status: a device echoes the token
    // no later than it reports completion, so the status read after an echoed token is that command's.
    const withCode = contiguousSpan(p, [p.registers.status, p.registers.statusToken, p.registers.errorCode]) !== undefined;
    const together = withCode || contiguousSpan(p, [p.registers.status, p.registers.statusToken]) !== undefined;
    const poll = async (): Promise<{ status: number; echoed: number; code?: number }> => {
      if (!together) {
        const [echoed, status] = await this.readRoles(['statusToken', 'status']);
        return { status: status!, echoed: echoed! };
      }
      const [status, echoed, code] = await this.readRoles(withCode ? ['status', 'statusToken', 'errorCode'] : ['status', 'statusToken']);
      return { status: status!, echoed: echoed!, ...(code !== undefined ? { code } : {}) };
    };
    for (;;) {
      const { status, echoed, code: polledCode } = await poll();
      if (echoed === token && status === p.statusCodes.done) return token;
      if (echoed === token && status === p.statusCodes.error) {
        const code = polledCode ?? (await this.readRole('errorCode'));
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
        const token = await this.runCommand('measure', wavelengthNm);
        return this.readResultBlock(wavelengthNm, token);
      })(),
    );
  }

  /**
   * Reads the current result block (no command): sequence-checked, re-read up to 3 times if torn.
   * With `commandToken` and a profile `resultToken` register, a block produced by another command
   * is an InstrumentReplyError.
   */
  async readResultBlock(wavelengthNm: number, commandToken?: number): Promise<LossTestFiberResult[]> {
    return this.track(
      (async () => {
        const n = this.fibers ?? (await this.fiberCount());
        const checkToken = commandToken !== undefined && this.profile.registers.resultToken !== undefined;
        for (let attempt = 1; ; attempt++) {
          // resultToken is read inside the sequence frame, so a whole block and its token agree.
          const [seq, resultToken] = await this.readRoles(checkToken ? ['sequence', 'resultToken'] : ['sequence']);
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
          if (checkToken && resultToken !== commandToken) {
            throw new InstrumentReplyError(`result block belongs to command token ${resultToken}, not to this measure (token ${commandToken})`, {
              port: this.port,
              command: `measure ${wavelengthNm} nm`,
              received: `resultToken ${resultToken}`,
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
