/**
 * Modbus register-map profiles: data (YAML or JSON), validated when they load.
 *
 * A profile names every register the loss-test-set driver needs (roles below) with: address
 * (numbered from `addressBase`, 0 or 1; the protocol address is address - addressBase), register
 * type (holding | input), data type (uint16 | int16 | uint32 | int32 | float32), word order for
 * 32-bit types (ABCD = high word first, CDAB = low word first), scale and offset
 * (engineering value = raw * scale + offset), access (r | w | rw) and count (arrays, one element
 * per fiber). See drivers/profiles/README.md for the reference map.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import YAML from 'yaml';
import { projectRoot } from '../src/project-root.js';
import { ConfigError } from '../src/errors.js';

export const RegisterSchema = Type.Object(
  {
    address: Type.Integer({ minimum: 0, maximum: 65535 }),
    type: Type.Union([Type.Literal('holding'), Type.Literal('input')]),
    dataType: Type.Union([
      Type.Literal('uint16'),
      Type.Literal('int16'),
      Type.Literal('uint32'),
      Type.Literal('int32'),
      Type.Literal('float32'),
      /** ASCII, two characters per register (high byte first), NUL/space padded; `count` = registers. Identity registers only. */
      Type.Literal('string'),
    ]),
    wordOrder: Type.Optional(Type.Union([Type.Literal('ABCD'), Type.Literal('CDAB')])),
    scale: Type.Optional(Type.Number()),
    offset: Type.Optional(Type.Number()),
    access: Type.Union([Type.Literal('r'), Type.Literal('w'), Type.Literal('rw')]),
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: 128 })),
    description: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type RegisterDef = Static<typeof RegisterSchema>;

export const ROLES = {
  command: { access: 'w', array: false },
  wavelength: { access: 'w', array: false },
  commandToken: { access: 'w', array: false },
  status: { access: 'r', array: false },
  statusToken: { access: 'r', array: false },
  errorCode: { access: 'r', array: false },
  fiberCount: { access: 'r', array: false },
  sequence: { access: 'r', array: false },
  sequenceEnd: { access: 'r', array: false },
  loss: { access: 'r', array: true },
  power: { access: 'r', array: true },
  receivedAt: { access: 'r', array: true },
} as const;
export type Role = keyof typeof ROLES;

/**
 * Registers a device may lack (the profile then omits them):
 * - serialNumber: the device's serial number, `string` (count = registers) or uint16/uint32.
 *   Without it identify() can only report the config-derived `unit <id> (not reported by device)`
 *   and a replaced device goes unnoticed.
 * - referenceEpoch: a counter the device increments whenever it stores a new reference and at
 *   every power-up, never repeating a value across power cycles (non-volatile, or a random start
 *   at power-up). It is part of the identity, so a reference taken before a power cycle or before
 *   someone else's reference (front panel) is refused as stale.
 * - resultToken: the commandToken of the measure whose results the block holds, written inside
 *   the sequence...sequenceEnd frame: measureAll checks the block it read belongs to its command.
 */
export const OPTIONAL_ROLES = {
  serialNumber: { access: 'r', array: false, dataTypes: ['string', 'uint16', 'uint32'] },
  referenceEpoch: { access: 'r', array: false, dataTypes: ['uint16', 'uint32'] },
  resultToken: { access: 'r', array: false, dataTypes: ['uint16'] },
} as const;
export type OptionalRole = keyof typeof OPTIONAL_ROLES;
export type AnyRole = Role | OptionalRole;

const RoleRegisters = Type.Object(
  {
    ...(Object.fromEntries(Object.keys(ROLES).map((r) => [r, RegisterSchema])) as Record<Role, typeof RegisterSchema>),
    serialNumber: Type.Optional(RegisterSchema),
    referenceEpoch: Type.Optional(RegisterSchema),
    resultToken: Type.Optional(RegisterSchema),
  },
  { additionalProperties: false },
);

export const ProfileSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    description: Type.Optional(Type.String()),
    addressBase: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(1)])),
    registers: RoleRegisters,
    commands: Type.Object({ reference: Type.Integer({ minimum: 1, maximum: 65535 }), measure: Type.Integer({ minimum: 1, maximum: 65535 }) }, { additionalProperties: false }),
    statusCodes: Type.Object(
      {
        idle: Type.Integer(),
        busy: Type.Integer(),
        done: Type.Integer(),
        error: Type.Integer(),
      },
      { additionalProperties: false },
    ),
    /** Raw value of `receivedAt` meaning "no light arrived". Default 0. */
    darkValue: Type.Optional(Type.Integer()),
    /** Error codes the device may report in `errorCode`, with their meaning. */
    errorCodes: Type.Optional(Type.Record(Type.String({ pattern: '^[0-9]+$' }), Type.String())),
  },
  { additionalProperties: false },
);
export type RegisterMapProfile = Static<typeof ProfileSchema>;

/** Registers per element (a string: per register of its `count`). */
export function widthOf(r: RegisterDef): number {
  return r.dataType === 'uint16' || r.dataType === 'int16' || r.dataType === 'string' ? 1 : 2;
}

/** Registers one value of `r` occupies (a string: all `count` registers). */
export function wordsOf(r: RegisterDef): number {
  return r.dataType === 'string' ? (r.count ?? 1) : widthOf(r);
}

/**
 * The one request (type, protocol address, length) that reads all of `regs` (single values), or
 * undefined when they are of different types or leave a gap (a gap may be unmapped on the device).
 */
export function contiguousSpan(p: RegisterMapProfile, regs: RegisterDef[]): { type: 'holding' | 'input'; from: number; length: number } | undefined {
  const sorted = [...regs].sort((a, b) => protocolAddress(p, a) - protocolAddress(p, b));
  const first = sorted[0];
  if (!first || sorted.some((r) => r.type !== first.type)) return undefined;
  const from = protocolAddress(p, first);
  let to = from;
  for (const r of sorted) {
    if (protocolAddress(p, r) !== to) return undefined;
    to += wordsOf(r);
  }
  return to - from <= 125 ? { type: first.type, from, length: to - from } : undefined;
}

/** Protocol (0-based) address of element `index` of a register. */
export function protocolAddress(p: RegisterMapProfile, r: RegisterDef, index = 0): number {
  return r.address - (p.addressBase ?? 0) + index * widthOf(r);
}

export function validateProfile(raw: unknown, source = '(inline)'): RegisterMapProfile {
  if (!Value.Check(ProfileSchema, raw)) {
    const first = [...Value.Errors(ProfileSchema, raw)][0];
    throw new ConfigError(`invalid register-map profile: ${first?.message ?? 'schema mismatch'} at ${first?.path ?? '/'}`, { file: source, path: first?.path });
  }
  const p = raw;
  const spans: { role: string; type: string; from: number; to: number }[] = [];
  const present = [
    ...(Object.entries(ROLES) as [Role, (typeof ROLES)[Role]][]),
    ...(Object.entries(OPTIONAL_ROLES) as [OptionalRole, (typeof OPTIONAL_ROLES)[OptionalRole]][]).filter(([role]) => p.registers[role] !== undefined),
  ];
  for (const [role, spec] of present) {
    const r = p.registers[role]!;
    const where = { file: source, register: role };
    const allowed: readonly string[] | undefined = 'dataTypes' in spec ? spec.dataTypes : undefined;
    if (allowed ? !allowed.includes(r.dataType) : r.dataType === 'string') throw new ConfigError(`register ${role} cannot be ${r.dataType}`, where);
    if (r.dataType === 'string' && (r.scale !== undefined || r.offset !== undefined)) throw new ConfigError(`register ${role}: a string has no scale or offset`, where);
    if (spec.access === 'w' && (r.type !== 'holding' || r.access === 'r')) throw new ConfigError(`register ${role} must be a writable holding register`, where);
    if (spec.access === 'r' && r.access === 'w') throw new ConfigError(`register ${role} must be readable`, where);
    if (spec.array && (r.count ?? 1) < 1) throw new ConfigError(`register ${role} needs a count`, where);
    if (!spec.array && r.dataType !== 'string' && (r.count ?? 1) !== 1) throw new ConfigError(`register ${role} is a single value (count 1)`, where);
    if (r.wordOrder && widthOf(r) === 1) throw new ConfigError(`register ${role}: word order applies to 32-bit types only`, where);
    if (r.scale === 0) throw new ConfigError(`register ${role}: scale must not be 0`, where);
    const from = protocolAddress(p, r);
    const to = from + widthOf(r) * (r.count ?? 1);
    if (from < 0) throw new ConfigError(`register ${role}: address ${r.address} is below addressBase ${p.addressBase ?? 0}`, where);
    if (to > 65536) throw new ConfigError(`register ${role} runs past address 65535`, where);
    for (const s of spans) {
      if (s.type === r.type && from < s.to && s.from < to) throw new ConfigError(`registers ${s.role} and ${role} overlap`, where);
    }
    spans.push({ role, type: r.type, from, to });
  }
  const arrays = (['loss', 'power', 'receivedAt'] as const).map((k) => p.registers[k].count ?? 1);
  if (new Set(arrays).size !== 1) throw new ConfigError('loss, power and receivedAt must have the same count', { file: source });
  const codes = Object.values(p.statusCodes);
  if (new Set(codes).size !== codes.length) throw new ConfigError('status codes must be distinct', { file: source });
  return p;
}

/** drivers/profiles in the project (the same from src/ under vitest and from dist/). */
export function profilesDir(): string {
  return path.join(projectRoot(), 'drivers', 'profiles');
}

/** Loads a profile by name (drivers/profiles/<name>.yaml|.yml|.json) or by path. */
export function loadProfile(nameOrPath: string): RegisterMapProfile {
  let file: string | undefined;
  if (/[/\\]/.test(nameOrPath) || /\.(ya?ml|json)$/.test(nameOrPath)) file = path.resolve(nameOrPath);
  else {
    if (!/^[A-Za-z0-9._-]+$/.test(nameOrPath)) throw new ConfigError(`bad profile name "${nameOrPath}"`, { profile: nameOrPath });
    file = ['.yaml', '.yml', '.json'].map((e) => path.join(profilesDir(), nameOrPath + e)).find((f) => fs.existsSync(f));
  }
  if (!file || !fs.existsSync(file)) throw new ConfigError(`unknown register-map profile "${nameOrPath}"`, { profile: nameOrPath, dir: profilesDir() });
  let raw: unknown;
  try {
    const text = fs.readFileSync(file, 'utf8');
    raw = file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new ConfigError(`cannot parse profile: ${(err as Error).message}`, { file });
  }
  return validateProfile(raw, file);
}

const buf = Buffer.alloc(4);

/** Text -> `count` registers, two ASCII characters each (high byte first), NUL padded. */
export function encodeString(r: RegisterDef, text: string): number[] {
  const n = r.count ?? 1;
  const b = Buffer.alloc(2 * n);
  b.write(text.slice(0, 2 * n), 'latin1');
  return Array.from({ length: n }, (_, i) => b.readUInt16BE(2 * i));
}

/** `count` registers -> text, trailing NULs and spaces removed; undefined if not printable ASCII. */
export function decodeString(regs: number[]): string | undefined {
  const b = Buffer.alloc(2 * regs.length);
  regs.forEach((w, i) => b.writeUInt16BE(w & 0xffff, 2 * i));
  const text = b.toString('latin1').replace(/[\0 ]+$/, '');
  return /^[\x20-\x7e]*$/.test(text) ? text : undefined;
}

/** Engineering value -> raw registers (one element). */
export function encodeValue(r: RegisterDef, value: number): number[] {
  if (r.dataType === 'string') throw new TypeError('encodeValue: use encodeString for a string register');
  const raw = (value - (r.offset ?? 0)) / (r.scale ?? 1);
  switch (r.dataType) {
    case 'uint16':
      return [Math.min(0xffff, Math.max(0, Math.round(raw)))];
    case 'int16':
      return [Math.min(0x7fff, Math.max(-0x8000, Math.round(raw))) & 0xffff];
    default: {
      if (r.dataType === 'float32') buf.writeFloatBE(raw, 0);
      else if (r.dataType === 'uint32') buf.writeUInt32BE(Math.min(0xffffffff, Math.max(0, Math.round(raw))), 0);
      else buf.writeInt32BE(Math.min(0x7fffffff, Math.max(-0x80000000, Math.round(raw))), 0);
      const hi = buf.readUInt16BE(0);
      const lo = buf.readUInt16BE(2);
      return (r.wordOrder ?? 'ABCD') === 'ABCD' ? [hi, lo] : [lo, hi];
    }
  }
}

/** Raw registers (one element, `widthOf(r)` words) -> engineering value. */
export function decodeValue(r: RegisterDef, regs: number[]): number {
  if (r.dataType === 'string') throw new TypeError('decodeValue: use decodeString for a string register');
  let raw: number;
  if (r.dataType === 'uint16') raw = regs[0]! & 0xffff;
  else if (r.dataType === 'int16') raw = ((regs[0]! & 0xffff) << 16) >> 16;
  else {
    const [a, b] = (r.wordOrder ?? 'ABCD') === 'ABCD' ? [regs[0]!, regs[1]!] : [regs[1]!, regs[0]!];
    buf.writeUInt16BE(a & 0xffff, 0);
    buf.writeUInt16BE(b & 0xffff, 2);
    raw = r.dataType === 'float32' ? buf.readFloatBE(0) : r.dataType === 'uint32' ? buf.readUInt32BE(0) : buf.readInt32BE(0);
  }
  const v = raw * (r.scale ?? 1) + (r.offset ?? 0);
  // float32 carries ~7 significant digits: round away representation noise.
  return r.dataType === 'float32' ? Number(v.toPrecision(7)) : Math.round(v * 1e9) / 1e9;
}
