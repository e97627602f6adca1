import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { compareVersions, evaluateRecord, loadLimitLibrary } from '../../src/evaluation/index.js';
import { assembly, library } from '../helpers/records.js';

function userDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'mpocert-limits-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const customerSpec = {
  id: 'customer-acme',
  version: '2.1',
  title: 'ACME factory spec: MTP tighter than the grade',
  source: 'ACME purchase spec 4711 rev B',
  includes: [{ id: 'mtp-mpo-connector-grades', version: '1.1.0' }],
  connectorGrades: { MTP: { insertionLossDb: { multimode: 0.35, singlemode: 0.25 }, returnLossDb: { multimode: 26 }, ratedMatingCycles: 500 } },
};

describe('the shipped limit library', () => {
  it('ships the source-document grades, TIA allowances, IEC grades, IEEE channels and a default composition, each as 1.0.0 and 1.1.0', () => {
    expect(library.list().map((s) => `${s.id}@${s.version}`)).toEqual([
      'iec-61753-1@1.0.0',
      'iec-61753-1@1.1.0',
      'ieee-802.3-channels@1.0.0',
      'ieee-802.3-channels@1.1.0',
      'mpocert-default@1.0.0',
      'mpocert-default@1.1.0',
      'mtp-mpo-connector-grades@1.0.0',
      'mtp-mpo-connector-grades@1.1.0',
      'tia-568.3-e@1.0.0',
      'tia-568.3-e@1.1.0',
    ]);
    const file = 'limits/mtp-mpo-connector-grades@1.1.0.json';
    expect(library.list().find((s) => s.id === 'mtp-mpo-connector-grades' && s.version === '1.1.0')).toEqual({
      id: 'mtp-mpo-connector-grades',
      version: '1.1.0',
      title: 'MTP and generic MPO connector grades (mated pair, per fiber)',
      origin: 'shipped',
      file,
      fileSha256: createHash('sha256').update(readFileSync(file)).digest('hex'),
    });
    const grades = library.find({ id: 'mtp-mpo-connector-grades' });
    expect(grades?.version).toBe('1.1.0');
    expect(grades?.connectorGrades.get('MTP')).toMatchObject({
      insertionLossDb: { multimode: { value: 0.6 }, singlemode: { value: 0.35 } },
      returnLossDb: { multimode: { value: 26 }, singlemodeUpc: { value: 40 }, singlemodeApc: { value: 55, verify: true } },
      ratedMatingCycles: { value: 500 },
    });
    expect(grades?.connectorGrades.get('MPO')).toMatchObject({
      insertionLossDb: { multimode: { value: 0.75 }, singlemode: { value: 0.5 } },
      returnLossDb: { multimode: { value: 20 }, singlemodeUpc: { value: 35 }, singlemodeApc: { value: 55, verify: true } },
      ratedMatingCycles: { value: 200 },
    });
    expect(grades?.referenceGradeCordLossDb).toEqual({ multimode: { value: 0.1, verify: false }, singlemode: { value: 0.2, verify: false } });
    // 1.0.0 is unchanged: no APC figure, no reference-grade figure.
    const grades100 = library.find({ id: 'mtp-mpo-connector-grades', version: '1.0.0' });
    expect(grades100?.connectorGrades.get('MTP')?.returnLossDb).toEqual({ multimode: { value: 26, verify: false }, singlemodeUpc: { value: 40, verify: false } });
    expect(grades100?.referenceGradeCordLossDb).toEqual({});
    const tia = library.find({ id: 'tia-568.3-e' });
    expect(tia?.componentAllowances.matedPairDb?.value).toBe(0.75);
    expect(tia?.componentAllowances.spliceDb?.value).toBe(0.3);
    expect(tia?.referenceGradeCordLossDb).toEqual({ multimode: { value: 0.1, verify: false }, singlemode: { value: 0.2, verify: false } });
    const iec = library.find({ id: 'iec-61753-1' })?.connectorGrades;
    expect(iec?.get('IEC-B')).toMatchObject({
      insertionLossDb: { singlemode: { value: 0.25, verify: false } },
      insertionLossMeanDb: { singlemode: { value: 0.12 } },
      returnLossDb: { singlemodeApc: { value: 60, verify: true } },
    });
    expect(iec?.get('IEC-C')).toMatchObject({ insertionLossDb: { singlemode: { value: 0.5 } }, insertionLossMeanDb: { singlemode: { value: 0.25 } } });
    const ieee = library.find({ id: 'ieee-802.3-channels' })?.applications;
    expect([...(ieee?.keys() ?? [])]).toEqual([
      '10GBASE-SR',
      '25GBASE-SR',
      '40GBASE-SR4',
      '100GBASE-SR10',
      '100GBASE-SR4',
      '200GBASE-SR4',
      '400GBASE-SR8',
      '400GBASE-SR4.2',
      '400GBASE-SR4',
      '400GBASE-VR4',
      '800GBASE-SR8',
      '800GBASE-VR8',
      '400GBASE-DR4',
      '800GBASE-DR8',
    ]);
    expect(ieee?.get('400GBASE-SR8')).toMatchObject({ signal: 'parallel', fiberCounts: [16], testWavelengthsNm: [850] });
    expect(ieee?.get('400GBASE-SR8')?.channels.get('OM4')).toMatchObject({ channelLossDb: { value: 1.9 }, reachM: { value: 100 } });
    expect(ieee?.get('10GBASE-SR')).toMatchObject({ signal: 'duplex', testWavelengthsNm: [850] });
    expect([...(library.find({ id: 'ieee-802.3-channels', version: '1.0.0' })?.applications.keys() ?? [])]).toEqual([
      '10GBASE-SR',
      '40GBASE-SR4',
      '100GBASE-SR10',
      '100GBASE-SR4',
      '400GBASE-SR8',
      '400GBASE-SR4.2',
      '400GBASE-DR4',
      '800GBASE-DR8',
    ]);
  });

  it('keeps the (verify) marks of the facts file on the figures', () => {
    const set = library.find({ id: 'mpocert-default' });
    const sm = set?.componentAllowances.fiberAttenuation.filter((a) => a.fiberTypes.includes('OS2')) ?? [];
    expect(sm.length).toBe(4);
    expect(sm.every((a) => a.dbPerKm.verify)).toBe(true);
    expect(set?.applications.get('100GBASE-SR4')?.channels.get('OM4')?.channelLossDb.verify).toBe(true);
    expect(set?.applications.get('400GBASE-DR4')?.channels.get('OS2')?.channelLossDb.verify).toBe(true);
    expect(set?.applications.get('400GBASE-SR8')?.channels.get('OM4')?.channelLossDb.verify).toBe(false);
    expect(set?.applications.get('40GBASE-SR4')?.channels.get('OM3')?.connectionLossDb?.verify).toBe(true);
    expect(set?.connectorGrades.get('IEC-A')?.insertionLossDb.singlemode?.verify).toBe(true);
    expect(set?.connectorGrades.get('IEC-D')?.insertionLossDb.singlemode?.verify).toBe(true);
  });

  it('compares versions numerically', () => {
    expect(compareVersions('1.10.0', '1.9.2')).toBeGreaterThan(0);
    expect(compareVersions('2', '2.0.0')).toBe(0);
  });
});

describe('user limit sets', () => {
  it('loads a customer spec (JSON or YAML) that includes and tightens a shipped set', () => {
    const dir = userDir({
      'acme.json': JSON.stringify(customerSpec),
      'factory.yaml': 'id: factory-tight\nversion: "1"\ntitle: Factory\nsource: QA memo 12\nincludes:\n  - { id: mtp-mpo-connector-grades, version: "1.1.0" }\nfamilyGrades: { MTP: MTP-factory }\nconnectorGrades:\n  MTP-factory:\n    insertionLossDb: { multimode: 0.5 }\n',
    });
    const lib = loadLimitLibrary({ userDir: dir });
    const e = evaluateRecord(assembly({ limitSet: { id: 'customer-acme' } }), lib);
    expect(e.limitSet).toMatchObject({ id: 'customer-acme', version: '2.1', origin: 'user', includes: [{ id: 'mtp-mpo-connector-grades', version: '1.1.0' }] });
    // 0.30 dB against the customer's 0.35 dB leaves 0.05 dB: inside the guard band.
    expect(e.verdict).toBe('MARGINAL');
    expect(e.fibers[0]?.judgments[0]).toMatchObject({ limit: 0.35, outcome: 'MARGINAL' });
    expect(lib.find({ id: 'factory-tight' })?.connectorGrades.get('MPO')?.insertionLossDb.multimode?.value).toBe(0.75);
    expect(evaluateRecord(assembly({ limitSet: { id: 'factory-tight' } }), lib).fibers[0]?.judgments[0]?.limit).toBe(0.5);
  });

  it('picks the newest version unless pinned, and never judges a pinned record by another version', () => {
    const dir = userDir({
      'acme-2.1.json': JSON.stringify(customerSpec),
      'acme-2.10.json': JSON.stringify({ ...customerSpec, version: '2.10', connectorGrades: { MTP: { insertionLossDb: { multimode: 0.4 } } } }),
    });
    const lib = loadLimitLibrary({ userDir: dir });
    expect(evaluateRecord(assembly({ limitSet: { id: 'customer-acme' } }), lib).limitSet.version).toBe('2.10');
    const pinned = evaluateRecord(assembly({ limitSet: { id: 'customer-acme', version: '2.1' } }), lib);
    expect(pinned.limitSet.version).toBe('2.1');
    expect(pinned.fibers[0]?.judgments[0]?.limit).toBe(0.35);
  });

  it.each([
    ['a missing key', { ...customerSpec, title: undefined }, 'bad.json: /title: is required'],
    ['a wrong type', { ...customerSpec, connectorGrades: { MTP: { insertionLossDb: { multimode: 'low' } } } }, 'bad.json: /connectorGrades/MTP/insertionLossDb/multimode: must be number'],
    ['a negative figure', { ...customerSpec, connectorGrades: { MTP: { insertionLossDb: { multimode: -1 } } } }, 'bad.json: /connectorGrades/MTP/insertionLossDb/multimode: must be >= 0'],
    ['an unknown key', { ...customerSpec, colour: 'red' }, 'bad.json: /colour: is not an allowed property'],
    ['a bad version', { ...customerSpec, version: 'v2' }, 'bad.json: /version: must match pattern "^[0-9]+(\\.[0-9]+)*$"'],
    ['a missing include', { ...customerSpec, includes: [{ id: 'nope', version: '1' }] }, 'bad.json: /includes/0: limit set nope@1 is not in the library'],
  ])('rejects %s with file, key and problem', (_what, content, message) => {
    const dir = userDir({ 'bad.json': JSON.stringify(content) });
    let caught: unknown;
    try {
      loadLimitLibrary({ userDir: dir });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).message).toBe(`${join(dir, message.split(':')[0] ?? '')}:${message.split(':').slice(1).join(':')}`);
  });

  it('rejects unparsable files, duplicate id + version, and include cycles', () => {
    expect(() => loadLimitLibrary({ userDir: userDir({ 'broken.yaml': 'id: [unclosed' }) })).toThrow(/broken\.yaml: \/: cannot be parsed/);
    expect(() => loadLimitLibrary({ userDir: userDir({ 'a.json': JSON.stringify(customerSpec), 'b.json': JSON.stringify(customerSpec) }) })).toThrow(
      /b\.json: \/id: limit set customer-acme@2\.1 is already defined by .*a\.json/,
    );
    // A user set may not reuse a shipped id, at the same version or a higher one (which would become
    // "the newest" and re-judge every record naming the id without a version).
    for (const version of ['1.0.0', '9.0']) {
      const dir = userDir({ 'shadow.json': JSON.stringify({ ...customerSpec, id: 'mtp-mpo-connector-grades', version }) });
      expect(() => loadLimitLibrary({ userDir: dir })).toThrow(
        `${join(dir, 'shadow.json')}: /id: mtp-mpo-connector-grades is a shipped limit set (limits/mtp-mpo-connector-grades@1.1.0.json); a user set needs an id of its own (e.g. acme-mtp-mpo-connector-grades)`,
      );
    }
    const cycle = (id: string, other: string) => JSON.stringify({ id, version: '1', title: id, source: 'test', includes: [{ id: other, version: '1' }] });
    expect(() => loadLimitLibrary({ userDir: userDir({ 'x.json': cycle('x', 'y'), 'y.json': cycle('y', 'x') }) })).toThrow(/include cycle x@1 -> y@1 -> x@1/);
    expect(() => loadLimitLibrary({ userDir: '/nonexistent/limits' })).toThrow(ConfigError);
  });
});
