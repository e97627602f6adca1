/**
 * The engine for single-detector power meters described by a table (PowerMeterDialect). Every
 * meter it runs keeps the same contract, written once here:
 *
 * The meter is kept in W, the driver converts to dBm (wattReplyToDbm), so a unit flip behind the
 * port cannot turn a dBm value into a plausible power. Reading the settings back with every
 * reading would triple its cost, so the contract is split:
 *
 *   readPowerDbm()       one exchange (the table's reading query), validated as a power in W:
 *                        not a number, negative beyond zero-offset noise, or above
 *                        `maxPlausibleW` (default 0.1 W) is an InstrumentReplyError; zero, tiny
 *                        negative noise or below `noLightBelowDbm` (default -60 dBm) is
 *                        OpticalRangeError('no-light'); 9.9E37 is OpticalRangeError('saturated').
 *   confirmSettings(nm)  one transaction reading back the unit, the wavelength and any pinned
 *                        control (e.g. a channel), then the error queue. A change, or settings
 *                        found lost on a reopen since the last setWavelength, rejects with
 *                        MeterSettingsChangedError (METER_SETTINGS_CHANGED): the sweep's
 *                        readings are suspect. It never re-applies settings (that would hide
 *                        the fault).
 *   setWavelength(nm)    pinned controls and the unit re-asserted (recovers from a power cycle
 *                        noticed by the previous confirmSettings), the wavelength set, the error
 *                        queue checked, the wavelength read back (within the table's tolerance).
 *
 * After every (re)open: preamble, identify (anything before the identity line is drained), on a
 * reopen read the settings back (lost ones are remembered for the next confirmSettings), then
 * the table's open commands, pinned controls, the unit, auto-range, the wavelength (re-applied,
 * or adopted from the meter when the table says so), the unit read back, the error queue.
 */
import { DEFAULT_NO_LIGHT_BELOW_DBM } from '../src/instruments/power-floor.js';
import { InstrumentReplyError, InstrumentReportedError, InstrumentTimeoutError } from '../src/errors.js';
import type { PowerMeter } from '../src/instruments/capabilities.js';
import type { LineSession } from '../src/transport/line-transport.js';
import { settingsChangedError, wattReplyToDbm, type SettingChange } from './common.js';
import { TableInstrument, type TableInstrumentOptions } from './table-instrument.js';
import { checkErrorQueue, fill, readControl, setAndConfirm, writeControl, type Control, type ErrorQueueSpec, type Framing, type IdentitySpec } from './line-dialect.js';

export interface PowerMeterDialect {
  dialect: string;
  framing: Framing;
  identity: IdentitySpec;
  errorQueue: ErrorQueueSpec;
  /** The unit control and the value that means W (the meter is kept in W). */
  unit: Control<string | number> & { watts: string | number };
  wavelength: Control<number> & {
    /** A read-back further than this from the set value is a change (default 0.5 nm). */
    toleranceNm?: number;
    /** On the first open, read the meter's wavelength and adopt it (else leave it unset). */
    adoptOnOpen?: boolean;
  };
  /** Controls held at a fixed value (e.g. a channel): set with the unit, read back by confirmSettings. */
  pinned?: { control: Control<string | number>; value: string | number }[];
  /** Sent on every (re)open after identifying, before the settings (e.g. "*CLS"). */
  onOpen?: string[];
  /** Auto-range on, sent on every (re)open after the unit. */
  autoRange: string;
  /** The query that returns one settled reading in W. */
  reading: string;
  zero: { command: string; poll?: { query: string; busy: string; idle: string } };
}

export interface LineMeterOptions extends TableInstrumentOptions {
  /** Readings below this are "no light" (default -60 dBm). */
  noLightBelowDbm?: number;
  /** Replies above this (W) are not a reading in W (default 0.1 W = +20 dBm). */
  maxPlausibleW?: number;
  /** Maximum time a zero may take (default 30 s). */
  zeroTimeoutMs?: number;
}


export class LineMeter extends TableInstrument<PowerMeterDialect> implements PowerMeter {
  readonly capabilities = { powerMeter: true } as const;
  private wavelengthNm: number | undefined;
  private readonly limits: { noLightBelowDbm: number; maxPlausibleW: number };
  private readonly zeroTimeoutMs: number;
  /** Why the settings were found lost on a reopen since the last setWavelength (confirmSettings rejects). */
  private lostOnReopen: SettingChange | undefined;

  constructor(d: PowerMeterDialect, o: LineMeterOptions) {
    super(d, o);
    this.limits = { noLightBelowDbm: o.noLightBelowDbm ?? DEFAULT_NO_LIGHT_BELOW_DBM, maxPlausibleW: o.maxPlausibleW ?? 0.1 };
    this.zeroTimeoutMs = o.zeroTimeoutMs ?? 30_000;
  }

  protected async onOpen(s: LineSession): Promise<void> {
    const d = this.d;
    await this.identifyOnOpen(s);
    if (this.wavelengthNm !== undefined) {
      // A reopen: did the meter keep what the driver set? If not, the next confirmSettings rejects.
      const found = await this.readSettings(s, this.wavelengthNm);
      if (found) this.lostOnReopen ??= { ...found, why: `${found.why} on reopening the link` };
    }
    for (const c of d.onOpen ?? []) await s.send(c);
    await this.assertPinned(s);
    await s.send(d.autoRange);
    if (this.wavelengthNm !== undefined) await writeControl(s, d.wavelength, this.wavelengthNm);
    else if (d.wavelength.adoptOnOpen) this.wavelengthNm = await readControl(s, d.wavelength);
    const unit = await s.query(d.unit.query);
    if (d.unit.parse(unit, { port: s.port, command: d.unit.query }) !== d.unit.watts) {
      throw new InstrumentReplyError(`meter did not switch to W (unit reads "${unit}")`, { port: s.port, command: d.unit.query, received: unit });
    }
    await checkErrorQueue(s, d.errorQueue, fill(d.unit.set ?? d.unit.query, d.unit.watts));
  }

  /** Pinned controls, then the unit: re-asserted on every open and before every wavelength. */
  private async assertPinned(s: LineSession): Promise<void> {
    for (const p of this.d.pinned ?? []) await writeControl(s, p.control, p.value);
    await writeControl(s, this.d.unit, this.d.unit.watts);
  }

  /** Reads the unit, the wavelength and the pinned controls; returns the first that differs, or undefined. */
  private async readSettings(s: LineSession, nm: number): Promise<SettingChange | undefined> {
    const d = this.d;
    const unitReply = await s.query(d.unit.query);
    const unit = d.unit.parse(unitReply, { port: s.port, command: d.unit.query });
    const wavReply = await s.query(d.wavelength.query);
    const got = d.wavelength.parse(wavReply, { port: s.port, command: d.wavelength.query });
    const pinned: { p: NonNullable<PowerMeterDialect['pinned']>[number]; reply: string; value: string | number }[] = [];
    for (const p of d.pinned ?? []) {
      const reply = await s.query(p.control.query);
      pinned.push({ p, reply, value: p.control.parse(reply, { port: s.port, command: p.control.query }) });
    }
    if (unit !== d.unit.watts) return { why: `unit reads ${unit}, not ${d.unit.watts} (W)`, command: d.unit.query, received: unitReply, expected: d.unit.watts };
    if (Math.abs(got - nm) > (d.wavelength.toleranceNm ?? 0.5)) return { why: `wavelength reads ${got} nm, not ${nm} nm`, command: d.wavelength.query, received: wavReply, expected: nm };
    for (const x of pinned) {
      if (x.value !== x.p.value) return { why: `${x.p.control.label} reads ${x.value}, not ${x.p.value}`, command: x.p.control.query, received: x.reply, expected: x.p.value };
    }
    return undefined;
  }


  async setWavelength(nm: number): Promise<void> {
    const d = this.d;
    const command = fill(d.wavelength.set ?? d.wavelength.query, d.wavelength.print ? d.wavelength.print(nm) : String(nm));
    if (!Number.isFinite(nm) || nm <= 0) throw new InstrumentReportedError(`invalid wavelength ${nm}`, { port: this.port, command });
    await this.withRetry(() =>
      this.transport.transaction(command, async (s) => {
        await this.assertPinned(s);
        const tolerance = d.wavelength.toleranceNm ?? 0.5;
        await setAndConfirm(s, { command, errorQueue: d.errorQueue, control: d.wavelength, ok: (got) => Math.abs(got - nm) <= tolerance, what: 'wavelength (nm)', expected: nm });
      }),
    );
    this.wavelengthNm = nm;
    // A new sweep starts here: what a reopen found before it concerns readings already judged.
    this.lostOnReopen = undefined;
  }

  getWavelength(): Promise<number> {
    return this.withRetry(() => this.transport.transaction(this.d.wavelength.query, (s) => readControl(s, this.d.wavelength)));
  }

  /** One exchange: a reply in W, validated and converted to dBm (see the header). */
  readPowerDbm(): Promise<number> {
    const command = this.d.reading;
    return this.withRetry(async () => wattReplyToDbm(await this.transport.query(command), this.limits, { port: this.port, command }));
  }

  /** One transaction: unit, wavelength and pinned controls read back, then the error queue. Never re-applies. */
  confirmSettings(nm: number): Promise<void> {
    return this.withRetry(() =>
      this.transport.transaction('confirm settings', async (s) => {
        const found = (await this.readSettings(s, nm)) ?? this.lostOnReopen;
        if (found) throw settingsChangedError(found, s.port);
        await checkErrorQueue(s, this.d.errorQueue, 'confirm settings');
      }),
    );
  }

  async zero(): Promise<void> {
    const { command, poll } = this.d.zero;
    if (!poll) {
      await this.track(
        this.transport.transaction(command, async (s) => {
          await s.send(command);
          await checkErrorQueue(s, this.d.errorQueue, command);
        }),
      );
      return;
    }
    await this.track(this.transport.send(command));
    const deadline = Date.now() + this.zeroTimeoutMs;
    for (;;) {
      const st = (await this.withRetry(() => this.transport.query(poll.query))).trim();
      if (st === poll.idle) break;
      if (st !== poll.busy) throw new InstrumentReplyError(`unexpected zero state "${st}"`, { port: this.port, command: poll.query, received: st });
      if (Date.now() > deadline) throw new InstrumentTimeoutError(`zero did not finish within ${this.zeroTimeoutMs} ms`, { port: this.port, command });
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.track(this.transport.transaction(command, (s) => checkErrorQueue(s, this.d.errorQueue, command)));
  }
}
