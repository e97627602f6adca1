/**
 * The one place that maps a config entry to a driver instance.
 *
 *   createInstrument(config)  -> AnyInstrument (nothing is opened until connect())
 *   InstrumentConfigSchema    -> TypeBox schema of one instrument entry in the daemon's config
 *
 * Defaults (applied by the drivers when a field is omitted):
 *   thorlabs-pm100     serial 115200 8N1, timeoutMs 3000, noLightBelowDbm -60, maxPlausibleW 0.1
 *   newport-1936       serial 38400 8N1, timeoutMs 2000, noLightBelowDbm -60, maxPlausibleW 0.1, channel 1
 *   dicon-mems-switch  serial 115200 8N1, timeoutMs 2000
 *   santec-mpm-210h    serial 115200 8N1 (LAN: tcp port 5000), timeoutMs 3000, noLightBelowDbm -60
 *   keysight-8163b-meter   serial 9600 8N1 (LAN: tcp port 5025), timeoutMs 3000, noLightBelowDbm -60,
 *                          maxPlausibleW 0.1, slot 1, channel 1
 *   keysight-8163b-source  serial 9600 8N1 (LAN: tcp port 5025), timeoutMs 3000, slot 1, a settable
 *                          wavelength unless dualWavelengthNm names the module's two lasers
 *   mpocert-mpo-source     serial 115200 8N1 (or raw TCP, the port the controller listens on), timeoutMs 3000;
 *                          the project's own reference command set for a multi-fiber source
 *                          (drivers/mpo-source.ts, drivers/README.md)
 *   modbus-loss-test-set  modbus-rtu 19200 8E1 (Modbus RTU default), timeoutMs 1000,
 *                         profile "mpocert-reference" (drivers/profiles/<name>.yaml, or a path)
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ConfigError } from '../src/errors.js';
import type { AnyInstrument } from '../src/instruments/capabilities.js';
import type { TransportLogger } from '../src/transport/line-transport.js';
import { createThorlabsPm100 } from './thorlabs-pm100.js';
import { createNewport1936 } from './newport-1936.js';
import { createDiconMemsSwitch } from './dicon-mems-switch.js';
import { SantecMpm210h } from './santec-mpm-210h.js';
import { createModbusLossTestSet } from './modbus-loss-test-set.js';
import { createKeysight8163Meter, createKeysight8163Source } from './keysight-8163b.js';
import { createMpoSource } from './mpo-source.js';

export const DIALECTS = [
  'thorlabs-pm100',
  'newport-1936',
  'dicon-mems-switch',
  'santec-mpm-210h',
  'modbus-loss-test-set',
  'keysight-8163b-meter',
  'keysight-8163b-source',
  'mpocert-mpo-source',
] as const;
export type Dialect = (typeof DIALECTS)[number];

const Port = Type.Integer({ minimum: 1, maximum: 65535 });
const SerialFields = {
  path: Type.String({ minLength: 1, description: 'e.g. /dev/ttyUSB0 or a socat pty link' }),
  baudRate: Type.Optional(Type.Integer({ minimum: 50, description: 'default per dialect (PM100 115200, Newport 38400, DiCon 115200, Keysight 8163B 9600, MPO source 115200, Modbus RTU 19200)' })),
  dataBits: Type.Optional(Type.Union([Type.Literal(5), Type.Literal(6), Type.Literal(7), Type.Literal(8)])),
  parity: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('even'), Type.Literal('odd'), Type.Literal('mark'), Type.Literal('space')])),
  stopBits: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(1.5), Type.Literal(2)])),
};
const UnitId = Type.Integer({ minimum: 0, maximum: 247 });

export const TcpTransportSchema = Type.Object({ kind: Type.Literal('tcp'), host: Type.String({ minLength: 1 }), port: Port }, { additionalProperties: false });
export const SerialTransportSchema = Type.Object(
  { kind: Type.Literal('serial'), ...SerialFields, rtscts: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
export const ModbusTcpTransportSchema = Type.Object(
  { kind: Type.Literal('modbus-tcp'), host: Type.String({ minLength: 1 }), port: Port, unitId: UnitId },
  { additionalProperties: false },
);
export const ModbusRtuTransportSchema = Type.Object({ kind: Type.Literal('modbus-rtu'), ...SerialFields, unitId: UnitId }, { additionalProperties: false });

export const InstrumentConfigSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, pattern: '^[A-Za-z0-9_.-]+$' }),
    dialect: Type.Union(DIALECTS.map((d) => Type.Literal(d))),
    transport: Type.Union([TcpTransportSchema, SerialTransportSchema, ModbusTcpTransportSchema, ModbusRtuTransportSchema]),
    /** Per-request timeout (ms). Default per dialect (see above). */
    timeoutMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 600_000 })),
    /** Modbus register-map profile: a name in drivers/profiles/ or a path to a .yaml/.json file. */
    profile: Type.Optional(Type.String({ minLength: 1 })),
    /** Power meters: readings below this (dBm) are "no light". Default -60. */
    noLightBelowDbm: Type.Optional(Type.Number({ minimum: -90, maximum: -30, description: 'the meter noise floor in use; below -90 dBm no meter here reads anything' })),
    /**
     * Power meters: a reply above this (W) is not a reading in W but e.g. a dBm value after a
     * front-panel unit change, and is rejected. Default 0.1 W (+20 dBm).
     */
    maxPlausibleW: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100 })),
    /** Newport 2936-R channel, or the channel of a Keysight 8163B dual power sensor (81635A): 1 or 2. Default 1. */
    channel: Type.Optional(Type.Integer({ minimum: 1, maximum: 2, description: 'Newport 2936-R channel, or a Keysight 8163B dual sensor channel' })),
    /** Keysight 8163B/8164B/8166B: the mainframe slot of the module (0 is the 8164B back-loaded laser). Default 1. */
    slot: Type.Optional(Type.Integer({ minimum: 0, maximum: 17, description: 'Keysight 8163B/8164B/8166B mainframe slot of the module' })),
    /**
     * Keysight 8163B source: a dual-wavelength module's lasers [lower, upper] (nm), selected with
     * `:SOUR<slot>:POW:WAV LOW|UPP`. Without it the wavelength is set (`:SOUR<slot>:WAV <nm>NM`).
     */
    dualWavelengthNm: Type.Optional(
      Type.Tuple([Type.Integer({ minimum: 600, maximum: 1700 }), Type.Integer({ minimum: 600, maximum: 1700 })], {
        description: 'Keysight 8163B dual-wavelength source module: [lower, upper] nm',
      }),
    ),
    /** Free text for people (bench position, asset tag). */
    label: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type InstrumentConfig = Static<typeof InstrumentConfigSchema>;
export type LineTransportConfig = Static<typeof TcpTransportSchema> | Static<typeof SerialTransportSchema>;
export type ModbusTransportConfig = Static<typeof ModbusTcpTransportSchema> | Static<typeof ModbusRtuTransportSchema>;

/** The optional fields each dialect uses (the rest are refused rather than ignored). */
const OPTIONAL_FIELDS = ['profile', 'noLightBelowDbm', 'maxPlausibleW', 'channel', 'slot', 'dualWavelengthNm'] as const;
const USES: Record<Dialect, readonly (typeof OPTIONAL_FIELDS)[number][]> = {
  'thorlabs-pm100': ['noLightBelowDbm', 'maxPlausibleW'],
  'newport-1936': ['noLightBelowDbm', 'maxPlausibleW', 'channel'],
  'dicon-mems-switch': [],
  'santec-mpm-210h': ['noLightBelowDbm'],
  'modbus-loss-test-set': ['profile'],
  'keysight-8163b-meter': ['noLightBelowDbm', 'maxPlausibleW', 'slot', 'channel'],
  'keysight-8163b-source': ['slot', 'dualWavelengthNm'],
  'mpocert-mpo-source': [],
};

export interface CreateInstrumentOptions {
  logger?: TransportLogger;
}

/** Validates one entry; throws ConfigError naming the instrument and the offending field. */
export function validateInstrumentConfig(raw: unknown): InstrumentConfig {
  if (!Value.Check(InstrumentConfigSchema, raw)) {
    const errs = [...Value.Errors(InstrumentConfigSchema, raw)];
    const first = errs.find((e) => !e.path.startsWith('/transport')) ?? errs[0];
    const id = typeof raw === 'object' && raw !== null ? String((raw as { id?: unknown }).id ?? '') : '';
    throw new ConfigError(`invalid instrument config: ${first?.message ?? 'schema mismatch'}`, { instrument: id, path: first?.path });
  }
  const c = raw;
  const lineKinds = c.transport.kind === 'tcp' || c.transport.kind === 'serial';
  if (c.dialect === 'modbus-loss-test-set' ? lineKinds : !lineKinds) {
    throw new ConfigError(`dialect ${c.dialect} cannot use transport ${c.transport.kind}`, { instrument: c.id, path: '/transport/kind' });
  }
  // Fields a dialect would silently ignore are refused: a noLightBelowDbm on a switch, a slot on
  // a PM100 or a profile on a meter is a config that does not do what its author thinks.
  const unused = OPTIONAL_FIELDS.find((f) => c[f] !== undefined && !USES[c.dialect].includes(f));
  if (unused) throw new ConfigError(`dialect ${c.dialect} has no ${unused} (it uses: ${USES[c.dialect].join(', ') || 'none of the optional fields'})`, { instrument: c.id, path: `/${unused}` });
  if (c.dualWavelengthNm && !(c.dualWavelengthNm[0] < c.dualWavelengthNm[1])) {
    throw new ConfigError('dualWavelengthNm must be [lower, upper] with lower < upper', { instrument: c.id, path: '/dualWavelengthNm' });
  }
  return c;
}

export function createInstrument(config: InstrumentConfig, opts: CreateInstrumentOptions = {}): AnyInstrument {
  const c = validateInstrumentConfig(config);
  const common = {
    id: c.id,
    ...(c.timeoutMs !== undefined ? { timeoutMs: c.timeoutMs } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  };
  const t = c.transport;
  switch (c.dialect) {
    case 'thorlabs-pm100':
    case 'newport-1936':
    case 'dicon-mems-switch':
    case 'santec-mpm-210h':
    case 'keysight-8163b-meter':
    case 'keysight-8163b-source':
    case 'mpocert-mpo-source': {
      if (t.kind !== 'tcp' && t.kind !== 'serial') throw new ConfigError('line dialect needs a tcp or serial transport', { instrument: c.id });
      const endpoint = t;
      const meter = {
        ...(c.noLightBelowDbm !== undefined ? { noLightBelowDbm: c.noLightBelowDbm } : {}),
        ...(c.maxPlausibleW !== undefined ? { maxPlausibleW: c.maxPlausibleW } : {}),
      };
      if (c.dialect === 'thorlabs-pm100') {
        return createThorlabsPm100({ ...common, endpoint, ...meter });
      }
      if (c.dialect === 'newport-1936') {
        return createNewport1936({
          ...common,
          endpoint,
          ...meter,
          ...(c.channel !== undefined ? { channel: c.channel } : {}),
        });
      }
      if (c.dialect === 'keysight-8163b-meter') {
        return createKeysight8163Meter({
          ...common,
          endpoint,
          ...meter,
          ...(c.slot !== undefined ? { slot: c.slot } : {}),
          ...(c.channel !== undefined ? { channel: c.channel } : {}),
        });
      }
      if (c.dialect === 'keysight-8163b-source') {
        return createKeysight8163Source({
          ...common,
          endpoint,
          ...(c.slot !== undefined ? { slot: c.slot } : {}),
          ...(c.dualWavelengthNm ? { dualWavelengthNm: c.dualWavelengthNm } : {}),
        });
      }
      if (c.dialect === 'mpocert-mpo-source') {
        return createMpoSource({ ...common, endpoint });
      }
      if (c.dialect === 'santec-mpm-210h') {
        return new SantecMpm210h({ ...common, endpoint, ...(c.noLightBelowDbm !== undefined ? { noLightBelowDbm: c.noLightBelowDbm } : {}) });
      }
      return createDiconMemsSwitch({ ...common, endpoint });
    }
    case 'modbus-loss-test-set': {
      if (t.kind !== 'modbus-tcp' && t.kind !== 'modbus-rtu') throw new ConfigError('modbus dialect needs a modbus-tcp or modbus-rtu transport', { instrument: c.id });
      return createModbusLossTestSet({ ...common, transport: t, profile: c.profile ?? 'mpocert-reference' });
    }
  }
}
