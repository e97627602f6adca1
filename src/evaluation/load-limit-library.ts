import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { ConfigError, describeError } from '../errors.js';
import { projectRoot } from '../project-root.js';
import { firstSchemaError } from './schema-errors.js';
import { LimitSetFileSchema, type FigureInput, type LimitSetFile } from './limit-set-schema.js';
import {
  compareVersions,
  formatRef,
  type Application,
  type ConnectorGrade,
  type FiberAttenuation,
  type Figure,
  type LimitLibrary,
  type LimitSet,
  type LimitSetSummary,
  type LimitSetVersionRef,
} from './limit-set.js';

const validateLimitSetFile = new Ajv({ allErrors: false }).compile<LimitSetFile>(LimitSetFileSchema);

interface LoadedFile {
  readonly file: string;
  readonly origin: 'shipped' | 'user';
  readonly sha256: string;
  readonly data: LimitSetFile;
}

export interface LoadLimitLibraryOptions {
  /** A directory of user limit sets (customer or factory specs), loaded beside the shipped ones. */
  userDir?: string | undefined;
  /** Replaces the shipped limits/ directory; for tests and tools, not for production. */
  shippedDir?: string | undefined;
}

export function shippedLimitsDir(): string {
  return join(projectRoot(), 'limits');
}

/**
 * Loads and validates every limit set, resolves includes, and refuses duplicates: a certificate
 * names id@version, so two files claiming the same pair would make that name ambiguous.
 */
export function loadLimitLibrary(opts: LoadLimitLibraryOptions = {}): LimitLibrary {
  const files = [
    ...readLimitDir(opts.shippedDir ?? shippedLimitsDir(), 'shipped'),
    ...(opts.userDir === undefined ? [] : readLimitDir(opts.userDir, 'user')),
  ];
  const shippedIds = new Map(files.filter((f) => f.origin === 'shipped').map((f) => [f.data.id, f.file]));
  const byKey = new Map<string, LoadedFile>();
  for (const loaded of files) {
    const shipped = shippedIds.get(loaded.data.id);
    if (loaded.origin === 'user' && shipped !== undefined) {
      // A user set with a shipped id and a higher version would become "the newest" of that id and
      // quietly re-judge everything that names the id without a version.
      throw new ConfigError(`${loaded.file}: /id: ${loaded.data.id} is a shipped limit set (${shipped}); a user set needs an id of its own (e.g. acme-${loaded.data.id})`);
    }
    const key = formatRef(loaded.data);
    const clash = byKey.get(key);
    if (clash) {
      throw new ConfigError(`${loaded.file}: /id: limit set ${key} is already defined by ${clash.file} (id + version must be unique; raise the version)`);
    }
    byKey.set(key, loaded);
  }
  const resolved = new Map<string, LimitSet>();
  for (const key of byKey.keys()) resolveSet(key, byKey, resolved, []);
  return new MemoryLimitLibrary([...resolved.values()]);
}

class MemoryLimitLibrary implements LimitLibrary {
  private readonly byKey = new Map<string, LimitSet>();
  private readonly latestById = new Map<string, LimitSet>();

  constructor(sets: readonly LimitSet[]) {
    for (const set of sets) {
      this.byKey.set(formatRef(set), set);
      const latest = this.latestById.get(set.id);
      if (!latest || compareVersions(set.version, latest.version) > 0) this.latestById.set(set.id, set);
    }
  }

  find(ref: { id: string; version?: string | undefined }): LimitSet | undefined {
    if (ref.version === undefined) return this.latestById.get(ref.id);
    return this.byKey.get(formatRef({ id: ref.id, version: ref.version }));
  }

  list(): readonly LimitSetSummary[] {
    return [...this.byKey.values()]
      .map(({ id, version, title, origin, file, fileSha256 }) => ({ id, version, title, origin, file, fileSha256 }))
      .sort((a, b) => a.id.localeCompare(b.id) || compareVersions(a.version, b.version));
  }
}

function readLimitDir(dir: string, origin: 'shipped' | 'user'): LoadedFile[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    names = readdirSync(dir);
  } catch (err) {
    throw new ConfigError(`${dir}: cannot read the ${origin} limit-set directory: ${describeError(err)}`, {}, { cause: err });
  }
  return names
    .filter((name) => /\.(json|ya?ml)$/i.test(name) && !name.endsWith('.schema.json'))
    .sort()
    .map((name) => readLimitFile(join(dir, name), origin));
}

function readLimitFile(path: string, origin: 'shipped' | 'user'): LoadedFile {
  const file = displayPath(path);
  let data: unknown;
  let sha256: string;
  try {
    const bytes = readFileSync(path);
    sha256 = createHash('sha256').update(bytes).digest('hex');
    const text = bytes.toString('utf8');
    data = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${file}: /: cannot be parsed: ${describeError(err)}`, {}, { cause: err });
  }
  if (!validateLimitSetFile(data)) throw new ConfigError(`${file}: ${firstSchemaError(validateLimitSetFile.errors)}`);
  return { file, origin, sha256, data };
}

function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}

function resolveSet(key: string, files: ReadonlyMap<string, LoadedFile>, done: Map<string, LimitSet>, chain: readonly string[]): LimitSet {
  const already = done.get(key);
  if (already) return already;
  const loaded = files.get(key);
  if (!loaded) throw new Error(`unreachable: ${key} not loaded`);
  const { data, file } = loaded;
  const included: LimitSet[] = (data.includes ?? []).map((ref, index) => {
    const refKey = formatRef(ref);
    if (chain.includes(refKey) || refKey === key) {
      throw new ConfigError(`${file}: /includes/${index}: include cycle ${[...chain, key, refKey].join(' -> ')}`);
    }
    if (!files.has(refKey)) throw new ConfigError(`${file}: /includes/${index}: limit set ${refKey} is not in the library`);
    return resolveSet(refKey, files, done, [...chain, key]);
  });
  const set = mergeSet(loaded, included);
  done.set(key, set);
  return set;
}

function mergeSet(loaded: LoadedFile, included: readonly LimitSet[]): LimitSet {
  const { data } = loaded;
  const self: LimitSetVersionRef = { id: data.id, version: data.version };
  const connectorGrades = new Map<string, ConnectorGrade>();
  const applications = new Map<string, Application>();
  const includes: LimitSetVersionRef[] = [];
  let familyGrades: LimitSet['familyGrades'] = {};
  let matedPairDb: Figure | undefined;
  let spliceDb: Figure | undefined;
  let referenceGradeCordLossDb: LimitSet['referenceGradeCordLossDb'] = {};
  const inheritedAttenuation: FiberAttenuation[] = [];
  for (const inc of included) {
    includes.push({ id: inc.id, version: inc.version }, ...inc.includes);
    familyGrades = { ...familyGrades, ...inc.familyGrades };
    for (const [id, grade] of inc.connectorGrades) connectorGrades.set(id, grade);
    for (const [id, app] of inc.applications) applications.set(id, app);
    matedPairDb = inc.componentAllowances.matedPairDb ?? matedPairDb;
    spliceDb = inc.componentAllowances.spliceDb ?? spliceDb;
    referenceGradeCordLossDb = { ...referenceGradeCordLossDb, ...inc.referenceGradeCordLossDb };
    // A later include overrides an earlier one, so its entries are searched first.
    inheritedAttenuation.unshift(...inc.componentAllowances.fiberAttenuation);
  }
  familyGrades = { ...familyGrades, ...data.familyGrades };
  for (const [id, grade] of Object.entries(data.connectorGrades ?? {})) {
    connectorGrades.set(id, {
      id,
      ...(grade.title === undefined ? {} : { title: grade.title }),
      insertionLossDb: figuresOf(grade.insertionLossDb),
      insertionLossMeanDb: figuresOf(grade.insertionLossMeanDb),
      returnLossDb: figuresOf(grade.returnLossDb),
      ...(grade.ratedMatingCycles === undefined ? {} : { ratedMatingCycles: toFigure(grade.ratedMatingCycles) }),
      definedIn: self,
    });
  }
  for (const [id, app] of Object.entries(data.applications ?? {})) {
    applications.set(id, {
      id,
      ...(app.title === undefined ? {} : { title: app.title }),
      ...(app.wavelengthNm === undefined ? {} : { wavelengthNm: app.wavelengthNm }),
      ...(app.note === undefined ? {} : { note: app.note }),
      ...(app.signal === undefined ? {} : { signal: app.signal }),
      ...(app.fiberCounts === undefined ? {} : { fiberCounts: app.fiberCounts }),
      ...(app.testWavelengthsNm === undefined ? {} : { testWavelengthsNm: app.testWavelengthsNm }),
      channels: new Map(
        Object.entries(app.channels).map(([fiberType, ch]) => [
          fiberType,
          {
            channelLossDb: toFigure(ch.channelLossDb),
            reachM: toFigure(ch.reachM),
            ...(ch.connectionLossDb === undefined ? {} : { connectionLossDb: toFigure(ch.connectionLossDb) }),
          },
        ]),
      ),
    });
  }
  const own = data.componentAllowances;
  const ownAttenuation: FiberAttenuation[] = (own?.fiberAttenuation ?? []).map((entry) => ({
    fiberTypes: entry.fiberTypes,
    wavelengthNm: entry.wavelengthNm,
    ...(entry.plant === undefined ? {} : { plant: entry.plant }),
    dbPerKm: toFigure(entry.dbPerKm),
  }));
  const ownMated = own?.matedPairDb === undefined ? matedPairDb : toFigure(own.matedPairDb);
  const ownSplice = own?.spliceDb === undefined ? spliceDb : toFigure(own.spliceDb);
  return {
    ...self,
    title: data.title,
    source: data.source,
    origin: loaded.origin,
    file: loaded.file,
    fileSha256: loaded.sha256,
    includes: dedupeRefs(includes),
    familyGrades,
    connectorGrades,
    componentAllowances: {
      ...(ownMated === undefined ? {} : { matedPairDb: ownMated }),
      ...(ownSplice === undefined ? {} : { spliceDb: ownSplice }),
      fiberAttenuation: [...ownAttenuation, ...inheritedAttenuation],
    },
    applications,
    referenceGradeCordLossDb: { ...referenceGradeCordLossDb, ...figuresOf(data.referenceGradeCordLossDb) },
  };
}

function toFigure(input: FigureInput): Figure {
  if (typeof input === 'number') return { value: input, verify: false };
  return { value: input.value, verify: input.verify === true, ...(input.note === undefined ? {} : { note: input.note }) };
}

function figuresOf<K extends string>(input: Partial<Record<K, FigureInput>> | undefined): Partial<Record<K, Figure>> {
  const out: Partial<Record<K, Figure>> = {};
  for (const [key, value] of Object.entries(input ?? {}) as [K, FigureInput | undefined][]) {
    if (value !== undefined) out[key] = toFigure(value);
  }
  return out;
}

function dedupeRefs(refs: readonly LimitSetVersionRef[]): LimitSetVersionRef[] {
  const seen = new Map<string, LimitSetVersionRef>();
  for (const ref of refs) seen.set(formatRef(ref), ref);
  return [...seen.values()];
}
