/**
 * Santec MPM-210H multi-port optical power meter, "legacy" command mode (commands and replies end
 * CR LF; LAN socket port 5000, RS-232 and GPIB speak the same). Commands from Santec's programming
 * guide as its own Python samples use them: *IDN?, IDIS?, WMOD, WAV/WAV?, UNIT/UNIT?, AUTO,
 * READ? <module>, ERR?. Each installed module has 4 ports; position p of the bench is port
 * ((p-1) mod 4)+1 of module floor((p-1)/4), modules in slot order.
 *
 * After every (re)open: identify (anything before the SANTEC line is drained), count the modules
 * (IDIS?), set constant-wavelength mode with auto range, unit dBm, re-apply the wavelength, and
 * check the error queue. readAllPorts sends one READ? per module; each value is validated (a
 * number, in dBm): below `noLightBelowDbm` is 'no-light', above +10 dBm 'saturated'.
 * confirmSettings reads UNIT? and WAV? back and rejects with METER_SETTINGS_CHANGED when a power
 * cycle or the front panel changed them.
 *
 * Unconfirmed (drivers/README.md): the real MPM-211 module covers 1250-1630 nm; multimode 850 nm
 * needs a module that covers it (MPM-212 assumed here); the meter's no-light reading.
 */
import { DEFAULT_NO_LIGHT_BELOW_DBM } from '../src/instruments/power-floor.js';
import { InstrumentReplyError, InstrumentReportedError } from '../src/errors.js';
import type { MultiPortPowerMeter, PortReading } from '../src/instruments/capabilities.js';
import type { LineEndpoint, LineSession } from '../src/transport/line-transport.js';
import { settingsChangedError, type DriverOptions, type SettingChange } from './common.js';
import { checkErrorQueue, commaIdentity, parse, parseStrictNumber, readControl, setAndConfirm, type Control, type ErrorQueueSpec } from './line-dialect.js';
import { TableInstrument, type TableDialect } from './table-instrument.js';

export interface SantecMpmOptions extends DriverOptions {
  id: string;
  endpoint: LineEndpoint;
  timeoutMs?: number;
  /** Readings below this are "no light" (default -60 dBm). */
  noLightBelowDbm?: number;
}

const SATURATED_ABOVE_DBM = 10;

export const parseSantecIdn = commaIdentity(/^santec$/i, 'Santec');

/** IDIS? -> the slots holding a module, in order ("1,1,1,0,0" -> [0, 1, 2]). */
export function parseModules(raw: string, port: string): number[] {
  const f = raw.split(',').map((x) => x.trim());
  if (f.length === 0 || f.some((x) => x !== '0' && x !== '1')) throw new InstrumentReplyError(`unexpected IDIS? reply "${raw}"`, { port, command: 'IDIS?', received: raw });
  return f.flatMap((x, i) => (x === '1' ? [i] : []));
}

/** What a table holds for the MPM-210H; the per-module reading is its own (one READ? per module). */
const santec: TableDialect & { errorQueue: ErrorQueueSpec; unit: Control<string>; wavelength: Control<number> } = {
  dialect: 'santec-mpm-210h',
  framing: { writeTerminator: '\r\n', readDelimiter: '\n', baudRate: 115200, timeoutMs: 3000 },
  identity: { query: '*IDN?', pattern: /^SANTEC,/i, parse: parseSantecIdn },
  errorQueue: { query: 'ERR?' },
  unit: { label: 'unit', query: 'UNIT?', set: 'UNIT {}', parse: (r) => r.trim() },
  wavelength: { label: 'wavelength', query: 'WAV?', set: 'WAV {}', parse: parse.number },
};

export class SantecMpm210h extends TableInstrument<typeof santec> implements MultiPortPowerMeter {
  readonly capabilities = { multiPortPowerMeter: true } as const;
  private modules: number[] = [];
  private wavelengthNm: number | undefined;
  private readonly noLightBelowDbm: number;
  /** What a reopen since the last setWavelength found changed (a power cycle while the link was down): confirmSettings rejects. */
  private lostOnReopen: SettingChange | undefined;

  constructor(o: SantecMpmOptions) {
    super(santec, o);
    this.noLightBelowDbm = o.noLightBelowDbm ?? DEFAULT_NO_LIGHT_BELOW_DBM;
  }

  protected async onOpen(s: LineSession): Promise<void> {
    await this.identifyOnOpen(s);
    this.modules = parseModules(await s.query('IDIS?'), s.port);
    if (this.modules.length === 0) throw new InstrumentReportedError('the meter reports no module installed', { port: s.port, command: 'IDIS?' });
    if (this.wavelengthNm !== undefined) {
      // A reopen: re-applying the settings below would hide that the meter lost them while the
      // link was down, and the readings taken since with them.
      const found = await this.changedSettings(s, this.wavelengthNm);
      if (found) this.lostOnReopen ??= { ...found, why: `${found.why} on reopening the link` };
    }
    await s.send('WMOD CONST1');
    await s.send('AUTO 1');
    await s.send('UNIT 0');
    if (this.wavelengthNm !== undefined) await s.send(`WAV ${this.wavelengthNm}`);
    await checkErrorQueue(s, this.d.errorQueue, 'settings after open');
  }

  async portCount(): Promise<number> {
    if (this.modules.length === 0) this.modules = await this.withRetry(async () => parseModules(await this.transport.query('IDIS?'), this.port));
    return this.modules.length * 4;
  }

  async setWavelength(nm: number): Promise<void> {
    const command = `WAV ${nm}`;
    if (!Number.isFinite(nm) || nm <= 0) throw new InstrumentReportedError(`invalid wavelength ${nm}`, { port: this.port, command });
    await this.withRetry(() =>
      this.transport.transaction(command, (s) =>
        setAndConfirm(s, { command, errorQueue: this.d.errorQueue, control: this.d.wavelength, ok: (got) => Math.abs(got - nm) <= 0.5, what: 'wavelength (nm)', expected: nm }),
      ),
    );
    this.wavelengthNm = nm;
    // A new sweep starts here: what a reopen found before it concerns readings already judged.
    this.lostOnReopen = undefined;
  }

  /** The unit (must be 0, dBm) and the wavelength read back; what differs from `nm`, or undefined. */
  private async changedSettings(s: LineSession, nm: number): Promise<SettingChange | undefined> {
    const unit = await readControl(s, this.d.unit);
    const back = await s.query(this.d.wavelength.query);
    const got = this.d.wavelength.parse(back, { port: s.port, command: this.d.wavelength.query });
    if (unit !== '0') return { why: `unit reads ${unit}, not 0 (dBm)`, command: 'UNIT?', received: unit, expected: '0' };
    if (Math.abs(got - nm) > 0.5) return { why: `wavelength reads ${got} nm, not ${nm} nm`, command: 'WAV?', received: back, expected: nm };
    return undefined;
  }

  /** One READ? per module, in one transaction: every port of one moment. */
  readAllPorts(): Promise<PortReading[]> {
    return this.withRetry(() =>
      this.transport.transaction('READ?', async (s) => {
        const out: PortReading[] = [];
        for (const m of this.modules) {
          const command = `READ? ${m}`;
          const reply = await s.query(command);
          const values = reply.split(',');
          if (values.length !== 4) throw new InstrumentReplyError(`expected 4 port values from "${command}", got ${values.length}`, { port: s.port, command, received: reply });
          for (const v of values) {
            const dbm = parseStrictNumber(v, { port: s.port, command });
            out.push(dbm < this.noLightBelowDbm ? 'no-light' : dbm > SATURATED_ABOVE_DBM ? 'saturated' : dbm);
          }
        }
        return out;
      }),
    );
  }

  confirmSettings(nm: number): Promise<void> {
    return this.withRetry(() =>
      this.transport.transaction('confirm settings', async (s) => {
        const found = (await this.changedSettings(s, nm)) ?? this.lostOnReopen;
        if (found) throw settingsChangedError(found, s.port);
        await checkErrorQueue(s, this.d.errorQueue, 'confirm settings');
      }),
    );
  }
}
