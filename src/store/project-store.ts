/**
 * An installer's projects (sites) and the links planned for each, imported from a cable schedule
 * (CSV), and the project's progress read from the certificates that name it in their signed body.
 *
 * The plan is what a job takes a planned link's description from (jobs/judge-job.ts): the length,
 * connections, splices, fiber type and count, polarity and application that form its limit. It is
 * stored here by an authenticated person, never sent with a job, so "a client never describes the
 * subject" holds for planned links too.
 *
 * Re-import semantics (one schedule, one transaction: any refused row and nothing is imported):
 * - a link id not yet in the plan is added, after the links already there;
 * - a link id already planned with the same fields is left as it is;
 * - a link id already planned with other fields is updated only while it is untested: once a
 *   certificate of this project was judged against its plan (or a job for it is running), a change
 *   is refused, since the plan would then disagree with what was certified. Test it under a new id.
 *   The version it replaces is kept, with who imported it and when and who replaced it and when
 *   (`history` inside the stored body: the plan a link had is never lost);
 * - a planned link missing from a later schedule stays planned: a schedule may cover part of the
 *   site, and removing a link is not something an import does silently.
 *
 * A row is refused (with its line) when no job could use it: a value the evaluation engine's own
 * record schema and semantics refuse (parseTestRecord: e.g. a multimode link longer than 2 km),
 * more connections or splices than MAX_PLANNED_CONNECTIONS / MAX_PLANNED_SPLICES, or a link id
 * that would not name one link unambiguously (linkIdProblem; two ids equal ignoring case).
 */
import { InputError } from '../errors.js';
import { fiberClassOf, parseTestRecord, type LimitLibrary } from '../evaluation/index.js';
import { FiberTypeSchema, type FiberType } from '../evaluation/record-schema.js';
import { decompressBody } from './compact-body.js';
import type { Db } from './database.js';

export type PlannedPolarity = 'A' | 'B' | 'C';
export type PlannedFiberCount = 8 | 12 | 16 | 24;

/** A link as the plan describes it: the fields its certificate's subject takes from the plan. */
export interface PlannedLink {
  linkId: string;
  lengthM: number;
  connections: number;
  splices: number;
  fiberType: FiberType;
  fiberCount: PlannedFiberCount;
  /** The application whose channel limit the link must also meet; absent: component budget only. */
  application?: string;
  polarity: PlannedPolarity;
}

/** A version of a planned link that a later import replaced: its fields, and who wrote and replaced it. */
export interface PlanVersion extends Omit<PlannedLink, 'linkId'> {
  importedAt: string;
  importedBy: string;
  replacedAt: string;
  replacedBy: string;
}

/** A planned link as stored: the plan, and the versions it replaced (oldest first; absent when never changed). */
export interface StoredPlannedLink {
  position: number;
  link: PlannedLink;
  history?: PlanVersion[];
}

export interface Project {
  id: string;
  title: string;
  site: string | null;
  createdAt: string;
  createdBy: string;
}

/** What the limit library says of an application, merged over every loaded limit set. */
export interface ApplicationFacts {
  /** Fiber counts it runs on; undefined: any. */
  fiberCounts?: readonly number[];
  /** Fiber types some limit set defines a channel for. */
  fiberTypes: ReadonlySet<string>;
  parallel: boolean;
}

export interface ImportResult {
  added: string[];
  updated: string[];
  unchanged: string[];
  /** Links in the plan after the import. */
  planned: number;
}

export type LinkStatus = 'untested' | 'pass' | 'fail' | 'invalid';

/** A certificate of the project as progress shows it (read from its signed body). */
export interface ProjectCertificate {
  certificateId: number;
  verdict: string | null;
  issuedAt: string | null;
  benchId: string | null;
  /** The smallest insertion-loss margin over every judged value (dB), null when none was judged. */
  lowestMarginDb: number | null;
  /** Present when verification found this certificate altered: it proves nothing. */
  integrity?: 'FAILED';
}

export interface PlannedLinkProgress {
  position: number;
  plan: PlannedLink;
  /** Earlier versions of this link's plan, oldest first (absent when it never changed). */
  history?: PlanVersion[];
  status: LinkStatus;
  /** Certificates judged against this plan entry. */
  tests: number;
  latest?: ProjectCertificate;
}

export interface UnplannedProgress {
  linkId: string;
  tests: number;
  latest: ProjectCertificate;
}

export interface ProjectCounts {
  planned: number;
  tested: number;
  untested: number;
  /** Latest verdict PASS or MARGINAL. */
  pass: number;
  fail: number;
  /** Latest verdict INVALID (the test could not judge the link), or its certificate fails verification. */
  invalid: number;
  /** Link ids certified in this project that were not in the plan when tested. */
  unplanned: number;
}

export interface ProjectProgress {
  project: Project;
  counts: ProjectCounts;
  links: PlannedLinkProgress[];
  unplanned: UnplannedProgress[];
}

/** The columns a cable schedule has, in the order a report lists them. */
export const SCHEDULE_COLUMNS = ['link_id', 'length_m', 'connections', 'splices', 'fiber_type', 'fiber_count', 'application', 'polarity'] as const;
type Column = (typeof SCHEDULE_COLUMNS)[number];

/** Spellings a header may use for a column (compared lower-case, spaces and hyphens as underscores). */
const COLUMN_ALIASES: Record<string, Column> = {
  link_id: 'link_id',
  link: 'link_id',
  length_m: 'length_m',
  length: 'length_m',
  connections: 'connections',
  splices: 'splices',
  fiber_type: 'fiber_type',
  fibre_type: 'fiber_type',
  fiber_count: 'fiber_count',
  fibre_count: 'fiber_count',
  fibers: 'fiber_count',
  fibres: 'fiber_count',
  application: 'application',
  polarity: 'polarity',
};

const FIBER_TYPES: readonly FiberType[] = FiberTypeSchema.anyOf.map((s) => s.const);
const FIBER_COUNTS: readonly PlannedFiberCount[] = [8, 12, 16, 24];
/**
 * The most mated connector pairs a planned link may have. At TIA-568.3-E's allowance of 0.75 dB
 * per mated pair, 8 pairs alone allow 6.0 dB: twice the largest channel insertion loss IEEE 802.3
 * gives any application the limit library knows (400GBASE-DR4 / 800GBASE-DR8 on single-mode,
 * 3.0 dB; 10GBASE-SR on OM4, 2.9 dB; the parallel multimode ones 1.5-2.0 dB). A link with more
 * could carry none of them, and its component budget would be a limit no real link is judged by.
 */
export const MAX_PLANNED_CONNECTIONS = 8;
/**
 * The most splices a planned link may have: at TIA-568.3-E's 0.3 dB per splice, 20 allow 6.0 dB,
 * the same bound as MAX_PLANNED_CONNECTIONS (a fusion-spliced pigtail at each end and reel joints
 * of a long single-mode run stay far below it).
 */
export const MAX_PLANNED_SPLICES = 20;
/** A schedule larger than this is not a site's cable schedule; refused before anything is parsed. */
export const MAX_SCHEDULE_LINKS = 10_000;
/** As a job request allows (schemas.ts JobBody.linkId). */
const MAX_LINK_ID = 128;
/** Problems listed in one refusal; the rest are counted. */
const MAX_PROBLEMS_LISTED = 20;

/** A project id appears in URLs and in certificates: letters, digits and _ . - only. */
export const PROJECT_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';

/** Names of characters a link id may not hold, for the message (others are named by code point only). */
const INVISIBLE_NAMES: Record<number, string> = {
  0x00a0: 'NO-BREAK SPACE',
  0x00ad: 'SOFT HYPHEN',
  0x034f: 'COMBINING GRAPHEME JOINER',
  0x061c: 'ARABIC LETTER MARK',
  0x180e: 'MONGOLIAN VOWEL SEPARATOR',
  0x200b: 'ZERO WIDTH SPACE',
  0x200c: 'ZERO WIDTH NON-JOINER',
  0x200d: 'ZERO WIDTH JOINER',
  0x200e: 'LEFT-TO-RIGHT MARK',
  0x200f: 'RIGHT-TO-LEFT MARK',
  0x202a: 'LEFT-TO-RIGHT EMBEDDING',
  0x202b: 'RIGHT-TO-LEFT EMBEDDING',
  0x202c: 'POP DIRECTIONAL FORMATTING',
  0x202d: 'LEFT-TO-RIGHT OVERRIDE',
  0x202e: 'RIGHT-TO-LEFT OVERRIDE',
  0x2060: 'WORD JOINER',
  0x2066: 'LEFT-TO-RIGHT ISOLATE',
  0x2067: 'RIGHT-TO-LEFT ISOLATE',
  0x2068: 'FIRST STRONG ISOLATE',
  0x2069: 'POP DIRECTIONAL ISOLATE',
  0x3000: 'IDEOGRAPHIC SPACE',
  0xfeff: 'ZERO WIDTH NO-BREAK SPACE',
};

/**
 * Characters a link id may not hold anywhere: controls, format characters (zero-width, soft hyphen,
 * bidi controls), other default-ignorable ones, surrogates, private-use and unassigned code
 * points, line and paragraph separators, and any space but the plain one (U+0020). Each either
 * cannot be seen on a label or a screen, or looks like another character: "L-001" with one of them
 * would be a second link that reads as the first.
 */
const FORBIDDEN_IN_ID = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]|[^\S ]/u;

function describeChar(ch: string): string {
  const cp = ch.codePointAt(0)!;
  const code = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  const name = INVISIBLE_NAMES[cp] ?? (cp === 0x20 ? 'SPACE' : cp === 0x09 ? 'TAB' : cp === 0x0a ? 'LINE FEED' : cp === 0x0d ? 'CARRIAGE RETURN' : undefined);
  return name ? `${code} (${name})` : code;
}

/**
 * Why a text cannot be a link id (or serial), or undefined: space before or after it, or a
 * character that cannot be seen or reads as another (FORBIDDEN_IN_ID), each named with its
 * position. A cable schedule and a job refuse the same ids, so an id never silently names
 * another link (" L-001" is not L-001, and is not accepted as either).
 */
export function linkIdProblem(id: string): string | undefined {
  const chars = [...id];
  const first = chars[0];
  const last = chars[chars.length - 1];
  if (first !== undefined && /\s/u.test(first)) return `begins with ${describeChar(first)}: an id has no space before it`;
  if (last !== undefined && /\s/u.test(last)) return `ends with ${describeChar(last)}: an id has no space after it`;
  const at = chars.findIndex((c) => FORBIDDEN_IN_ID.test(c));
  if (at >= 0) return `contains ${describeChar(chars[at]!)} at character ${at + 1}, which cannot be seen or reads as another character: type the id as it is printed`;
  return undefined;
}

/** Two link ids that differ only in case (or in compatibility forms such as full-width letters) would be read as one. */
export function linkIdKey(id: string): string {
  return id.normalize('NFKC').toLowerCase();
}

/** The applications of every loaded limit set, merged: what a schedule may name. */
export function knownApplications(library: LimitLibrary): Map<string, ApplicationFacts> {
  const merged = new Map<string, { counts: Set<number> | undefined; types: Set<string>; parallel: boolean }>();
  for (const summary of library.list()) {
    const set = library.find({ id: summary.id, version: summary.version });
    for (const [id, app] of set?.applications ?? []) {
      const seen = merged.get(id);
      const counts = app.fiberCounts === undefined ? undefined : new Set<number>(app.fiberCounts);
      if (!seen) {
        merged.set(id, { counts, types: new Set(app.channels.keys()), parallel: app.signal === 'parallel' });
        continue;
      }
      // One set that does not restrict the count (or restricts it differently) widens what is known.
      seen.counts = seen.counts === undefined || counts === undefined ? undefined : new Set([...seen.counts, ...counts]);
      for (const t of app.channels.keys()) seen.types.add(t);
      seen.parallel ||= app.signal === 'parallel';
    }
  }
  return new Map(
    [...merged].map(([id, m]) => [id, { ...(m.counts ? { fiberCounts: [...m.counts].sort((a, b) => a - b) } : {}), fiberTypes: m.types, parallel: m.parallel }]),
  );
}

/** One CSV record and the line of the file it starts on. */
interface CsvRecord {
  line: number;
  fields: string[];
}

/**
 * RFC 4180: fields separated by commas, records by line breaks (CRLF, LF or CR), a field with a
 * comma, quote or line break quoted, a quote inside it doubled. Anything else is refused with its
 * line, never guessed at: a stray quote usually means a shifted column.
 */
export function parseCsv(text: string): CsvRecord[] {
  // Spreadsheets export a BOM first; it is not part of the first column's name.
  const src = (text.startsWith('\uFEFF') ? text.slice(1) : text).replace(/\r\n?/g, '\n');
  const records: CsvRecord[] = [];
  let i = 0;
  let line = 1;
  while (i < src.length) {
    const start = line;
    const fields: string[] = [];
    for (;;) {
      let value = '';
      if (src[i] === '"') {
        const opened = line;
        i++;
        for (;;) {
          if (i >= src.length) throw new InputError(`line ${opened}: a quoted field is never closed (a " is missing)`);
          const c = src[i]!;
          if (c === '"') {
            if (src[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          value += c;
          i++;
        }
        if (i < src.length && src[i] !== ',' && src[i] !== '\n') {
          throw new InputError(`line ${line}: text after a closing quote; a quoted field ends at its quote (write a quote inside it as "")`);
        }
      } else {
        while (i < src.length && src[i] !== ',' && src[i] !== '\n') {
          if (src[i] === '"') throw new InputError(`line ${line}: a quote inside an unquoted field; quote the whole field and double the quote ("")`);
          value += src[i];
          i++;
        }
      }
      fields.push(value);
      if (src[i] === ',') {
        i++;
        continue;
      }
      if (src[i] === '\n') i++;
      line++;
      break;
    }
    // Blank lines (a trailing newline, a gap) carry no link.
    if (!(fields.length === 1 && fields[0]!.trim() === '')) records.push({ line: start, fields });
  }
  return records;
}

/** The columns a header names, by position; refuses unknown, repeated and missing columns. */
function readHeader(header: CsvRecord): Column[] {
  if (header.fields.length === 1 && header.fields[0]!.includes(';')) {
    throw new InputError(`line ${header.line}: the header is separated by semicolons; export the schedule as comma-separated CSV (columns: ${SCHEDULE_COLUMNS.join(', ')})`);
  }
  const columns: Column[] = [];
  const problems: string[] = [];
  for (const [k, raw] of header.fields.entries()) {
    const name = raw.trim().toLowerCase().replace(/[\s-]+/g, '_');
    const column = COLUMN_ALIASES[name];
    // An unknown column is refused rather than ignored: a misspelt "aplication" would otherwise
    // drop every link's channel limit and judge it against a looser budget.
    if (name === '') problems.push(`column ${k + 1} has no name (a trailing comma?)`);
    else if (column === undefined) problems.push(`unknown column "${raw}"`);
    else if (columns.includes(column)) problems.push(`column ${column} appears twice`);
    else columns.push(column);
  }
  const missing = SCHEDULE_COLUMNS.filter((c) => !columns.includes(c));
  if (missing.length > 0) problems.push(`missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  if (problems.length > 0) {
    throw new InputError(`line ${header.line}: ${problems.join('; ')} (the header names ${SCHEDULE_COLUMNS.join(', ')}; application may be empty on a row)`);
  }
  return columns;
}

/** One row's link, or the problems with it (each prefixed with the row's line). */
function readLink(record: CsvRecord, columns: readonly Column[], applications: ReadonlyMap<string, ApplicationFacts>): PlannedLink | string[] {
  const at = `line ${record.line}`;
  if (record.fields.length !== columns.length) {
    return [`${at}: ${record.fields.length} field${record.fields.length === 1 ? '' : 's'}, the header has ${columns.length}`];
  }
  const cell = Object.fromEntries(columns.map((c, k) => [c, record.fields[k]!.trim()])) as Record<Column, string>;
  const problems: string[] = [];
  const bad = (message: string): void => void problems.push(`${at}: ${message}`);

  // The id as the file has it, never trimmed: a job for " L-001" is refused the same way.
  const linkId = record.fields[columns.indexOf('link_id')]!.normalize('NFC');
  const idProblem = linkId.trim() === '' ? undefined : linkIdProblem(linkId);
  if (linkId.trim() === '') bad('link_id is empty');
  // A link id is scanned or typed at the bench and printed on the certificate: visible text only.
  else if (idProblem !== undefined) bad(`link_id ${JSON.stringify(linkId)} ${idProblem}`);
  else if (linkId.length > MAX_LINK_ID) bad(`link_id is ${linkId.length} characters, at most ${MAX_LINK_ID}`);

  // Plain decimal metres: "85 m", "1,5" or "1e3" are refused rather than read as something else.
  const lengthM = /^\d+(\.\d+)?$/.test(cell.length_m) ? Number(cell.length_m) : Number.NaN;
  if (!(lengthM > 0)) bad(`length_m ${JSON.stringify(cell.length_m)} is not a length in metres greater than 0 (e.g. 42.5)`);

  const whole = (column: 'connections' | 'splices', max: number, why: string): number => {
    const n = /^\d{1,4}$/.test(cell[column]) ? Number(cell[column]) : Number.NaN;
    if (Number.isNaN(n)) bad(`${column} ${JSON.stringify(cell[column])} is not a whole number of 0 or more`);
    else if (n > max) bad(`${column} ${n} is more than ${max}: ${why}`);
    return n;
  };
  const connections = whole(
    'connections',
    MAX_PLANNED_CONNECTIONS,
    `at 0.75 dB per mated pair (TIA-568.3-E) ${MAX_PLANNED_CONNECTIONS} already allow 6.0 dB, twice the largest channel loss of any application (IEEE 802.3: 3.0 dB)`,
  );
  const splices = whole('splices', MAX_PLANNED_SPLICES, `at 0.3 dB per splice (TIA-568.3-E) ${MAX_PLANNED_SPLICES} already allow 6.0 dB, twice the largest channel loss of any application (IEEE 802.3: 3.0 dB)`);

  const fiberType = FIBER_TYPES.find((t) => t.toLowerCase() === cell.fiber_type.toLowerCase());
  if (fiberType === undefined) bad(`fiber_type ${JSON.stringify(cell.fiber_type)} is not one of ${FIBER_TYPES.join(', ')}`);

  const fiberCount = FIBER_COUNTS.find((n) => String(n) === cell.fiber_count);
  if (fiberCount === undefined) bad(`fiber_count ${JSON.stringify(cell.fiber_count)} is not one of ${FIBER_COUNTS.join(', ')}`);

  const polarity = (['A', 'B', 'C'] as const).find((p) => p === cell.polarity.toUpperCase());
  if (polarity === undefined) bad(`polarity ${JSON.stringify(cell.polarity)} is not A, B or C (TIA-568.3-E trunk types)`);

  let application: string | undefined;
  if (cell.application !== '') {
    const known = [...applications.keys()].find((a) => a.toLowerCase() === cell.application.toLowerCase());
    const facts = known === undefined ? undefined : applications.get(known);
    if (known === undefined || facts === undefined) {
      bad(`application ${JSON.stringify(cell.application)} is not in the limit library (${[...applications.keys()].join(', ') || 'it has no applications'}); leave it empty to judge the link against its component budget`);
    } else {
      application = known;
      if (fiberCount !== undefined && facts.fiberCounts !== undefined && !facts.fiberCounts.includes(fiberCount)) {
        bad(`${known} runs on ${facts.fiberCounts.join(' or ')} fibers, not ${fiberCount}`);
      }
      if (fiberType !== undefined && !facts.fiberTypes.has(fiberType)) bad(`${known} has no channel on ${fiberType} (${[...facts.fiberTypes].join(', ')})`);
      // Parallel optics need the transmit and receive lanes crossed as types A and B do; a type C
      // (pair-flipped) trunk cannot carry them (TIA-568.3-E connectivity methods).
      if (facts.parallel && polarity === 'C') bad(`${known} is parallel optics, which a type C (pair-flipped) link cannot carry`);
    }
  }
  if (problems.length > 0) return problems;
  const link: PlannedLink = {
    linkId,
    lengthM,
    connections,
    splices,
    fiberType: fiberType!,
    fiberCount: fiberCount!,
    ...(application !== undefined ? { application } : {}),
    polarity: polarity!,
  };
  const refused = evaluatorRefusal(link);
  return refused === undefined ? link : [`${at}: ${refused}`];
}

/** A record path of the evaluation engine, as the schedule's column names it. */
const COLUMN_OF_PATH: Record<string, Column> = {
  '/linkId': 'link_id',
  '/lengthM': 'length_m',
  '/connections': 'connections',
  '/splices': 'splices',
  '/fiberType': 'fiber_type',
  '/fiberCount': 'fiber_count',
  '/application': 'application',
  '/polarity': 'polarity',
};

/**
 * What the evaluation engine's own record schema and semantics say of the link as a job would
 * describe it (parseTestRecord: e.g. "longer than any multimode link"), or undefined when it
 * accepts it. The product's fields (connectors, limit set) are not known at import: the job
 * checks those, and forms every limit, before anything is measured.
 */
function evaluatorRefusal(link: PlannedLink): string | undefined {
  try {
    parseTestRecord({
      kind: 'link',
      linkId: link.linkId,
      lengthM: link.lengthM,
      connections: link.connections,
      splices: link.splices,
      fiberType: link.fiberType,
      fiberCount: link.fiberCount,
      ...(link.application !== undefined ? { application: link.application } : {}),
      polarity: { declared: link.polarity },
      // A wavelength of the fiber's class, and a placeholder limit set: neither comes from the plan.
      wavelengthsNm: [fiberClassOf(link.fiberType) === 'multimode' ? 850 : 1310],
      limitSet: { id: 'cable-schedule' },
      readings: [],
    });
    return undefined;
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    const message = err.message;
    const path = Object.keys(COLUMN_OF_PATH).find((p) => message.startsWith(`${p}:`) || message.startsWith(`${p}/`));
    return path === undefined ? message : `${COLUMN_OF_PATH[path]}: ${message.slice(message.indexOf(':') + 1).trim()}`;
  }
}

/**
 * Reads a whole cable schedule: every problem with its line, or the links in file order. Throws
 * one InputError naming every problem found (up to a score), so a person fixes the file once.
 */
export function parseSchedule(csv: string, applications: ReadonlyMap<string, ApplicationFacts>): { line: number; link: PlannedLink }[] {
  const records = parseCsv(csv);
  const [header, ...rows] = records;
  if (!header) throw new InputError(`line 1: the cable schedule is empty; it needs a header row (${SCHEDULE_COLUMNS.join(',')}) and a row per link`);
  const columns = readHeader(header);
  if (rows.length === 0) throw new InputError(`line ${header.line}: the cable schedule has a header and no links`);
  if (rows.length > MAX_SCHEDULE_LINKS) throw new InputError(`line ${rows[MAX_SCHEDULE_LINKS]!.line}: more than ${MAX_SCHEDULE_LINKS} links in one schedule; split it`);
  const problems: string[] = [];
  const links: { line: number; link: PlannedLink }[] = [];
  const firstLine = new Map<string, { line: number; linkId: string }>();
  for (const row of rows) {
    const read = readLink(row, columns, applications);
    if (Array.isArray(read)) {
      problems.push(...read);
      continue;
    }
    const earlier = firstLine.get(linkIdKey(read.linkId));
    if (earlier !== undefined && earlier.linkId === read.linkId) {
      problems.push(`line ${row.line}: link ${read.linkId} is already on line ${earlier.line}; each link appears once`);
      continue;
    }
    if (earlier !== undefined) {
      problems.push(`line ${row.line}: link ${read.linkId} and link ${earlier.linkId} on line ${earlier.line} differ only in case or letter form: they would read as one link; give each link its own id`);
      continue;
    }
    firstLine.set(linkIdKey(read.linkId), { line: row.line, linkId: read.linkId });
    links.push({ line: row.line, link: read });
  }
  refuseIfAny(problems);
  return links;
}

function refuseIfAny(problems: readonly string[]): void {
  if (problems.length === 0) return;
  const listed = problems.slice(0, MAX_PROBLEMS_LISTED).join('; ');
  const more = problems.length > MAX_PROBLEMS_LISTED ? `; and ${problems.length - MAX_PROBLEMS_LISTED} more` : '';
  throw new InputError(`cable schedule refused, nothing imported: ${listed}${more}`);
}

/** The fields of a plan entry that a change would alter, by name, or none. */
function changedFields(before: PlannedLink, after: PlannedLink): string[] {
  const keys: (keyof PlannedLink)[] = ['lengthM', 'connections', 'splices', 'fiberType', 'fiberCount', 'application', 'polarity'];
  return keys.filter((k) => before[k] !== after[k]).map((k) => `${k} ${String(before[k] ?? '(none)')} -> ${String(after[k] ?? '(none)')}`);
}

interface ProjectRow {
  id: string;
  title: string;
  site: string | null;
  created_at: string;
  created_by: string;
}

interface CertificateRow {
  id: number;
  linkId: string | null;
  kind: string | null;
  planned: number | null;
  verdict: string | null;
  issuedAt: string | null;
  benchId: string | null;
  lowestMarginDb: number | null;
}

/**
 * Whether a certificate verifies now (its stored bytes against its hash, a trusted key's signature
 * and its bench's chain, and nothing custody knows against it). The HTTP layer answers it with the
 * certificate store's verification and records what fails with custody.
 */
export type CertificateCheck = (certificateId: number) => boolean;

/** A stored plan body: the link's fields and, once it changed, the versions it replaced. */
function readPlanBody(linkId: string, body: string): { link: PlannedLink; history?: PlanVersion[] } {
  const { history, ...fields } = JSON.parse(body) as Omit<PlannedLink, 'linkId'> & { history?: PlanVersion[] };
  return { link: { ...fields, linkId }, ...(history && history.length > 0 ? { history } : {}) };
}

const fromProjectRow = (r: ProjectRow): Project => ({ id: r.id, title: r.title, site: r.site, createdAt: r.created_at, createdBy: r.created_by });

/** What a link's latest verdict makes of it; an unknown or unreadable verdict never counts as pass. */
function statusOf(c: ProjectCertificate): Exclude<LinkStatus, 'untested'> {
  if (c.integrity === 'FAILED') return 'invalid';
  if (c.verdict === 'PASS' || c.verdict === 'MARGINAL') return 'pass';
  if (c.verdict === 'FAIL') return 'fail';
  return 'invalid';
}

export class ProjectStore {
  constructor(
    private readonly db: Db,
    /** The applications a schedule may name (knownApplications of the daemon's limit library). */
    private readonly applications: ReadonlyMap<string, ApplicationFacts>,
  ) {}

  /**
   * Creates a project and, when a schedule is given, imports it in the same transaction: a
   * refused schedule leaves no empty project behind.
   */
  create(p: { id: string; title: string; site?: string | undefined }, by: string, at: string, csv?: string): { project: Project; imported?: ImportResult } {
    if (!new RegExp(PROJECT_ID_PATTERN).test(p.id)) throw new InputError(`id ${JSON.stringify(p.id)}: a project id is letters, digits and _ . - (at most 64, starting with a letter or digit)`);
    if (p.title.trim() === '') throw new InputError('title: give the project a title');
    const links = csv === undefined ? undefined : parseSchedule(csv, this.applications);
    return this.db.transaction(() => {
      if (this.get(p.id)) throw new InputError(`project ${p.id} already exists; import more links into it instead`, { project: p.id });
      const site = p.site === undefined || p.site.trim() === '' ? null : p.site.trim();
      this.db.prepare('INSERT INTO projects (id, title, site, created_at, created_by) VALUES (?, ?, ?, ?, ?)').run(p.id, p.title.trim(), site, at, by);
      const project = this.get(p.id)!;
      return links === undefined ? { project } : { project, imported: this.apply(p.id, links, by, at) };
    })();
  }

  get(id: string): Project | undefined {
    const row = this.db.prepare('SELECT id, title, site, created_at, created_by FROM projects WHERE id = ?').get(id) as ProjectRow | undefined;
    return row ? fromProjectRow(row) : undefined;
  }

  /** Every project, newest first, with its counts (`verified` as for progress). */
  list(verified: CertificateCheck): { project: Project; counts: ProjectCounts }[] {
    const rows = this.db.prepare('SELECT id, title, site, created_at, created_by FROM projects ORDER BY created_at DESC, id').all() as ProjectRow[];
    return rows.map((r) => ({ project: fromProjectRow(r), counts: this.progress(r.id, verified)!.counts }));
  }

  /** The plan of one link id, exactly as spelt. */
  plannedLink(projectId: string, linkId: string): PlannedLink | undefined {
    const row = this.db.prepare('SELECT link_id, body FROM planned_links WHERE project_id = ? AND link_id = ?').get(projectId, linkId) as { link_id: string; body: string } | undefined;
    return row ? readPlanBody(row.link_id, row.body).link : undefined;
  }

  /** The planned link id that `linkId` equals ignoring case (linkIdKey), when it is not spelt so: a job must use the plan's spelling. */
  plannedSpelling(projectId: string, linkId: string): string | undefined {
    const key = linkIdKey(linkId);
    const ids = this.db.prepare('SELECT link_id FROM planned_links WHERE project_id = ?').pluck().all(projectId) as string[];
    return ids.find((id) => id !== linkId && linkIdKey(id) === key);
  }

  plannedLinks(projectId: string): StoredPlannedLink[] {
    const rows = this.db.prepare('SELECT link_id, position, body FROM planned_links WHERE project_id = ? ORDER BY position').all(projectId) as { link_id: string; position: number; body: string }[];
    return rows.map((r) => ({ position: r.position, ...readPlanBody(r.link_id, r.body) }));
  }

  /** Imports a cable schedule into an existing project (see the semantics at the top of this file). */
  importCsv(projectId: string, csv: string, by: string, at: string): ImportResult {
    if (!this.get(projectId)) throw new InputError(`no project ${projectId}`, { project: projectId });
    const links = parseSchedule(csv, this.applications);
    return this.db.transaction(() => this.apply(projectId, links, by, at))();
  }

  /** Inside the caller's transaction: checks every row against the plan, then writes them all. */
  private apply(projectId: string, links: readonly { line: number; link: PlannedLink }[], by: string, at: string): ImportResult {
    const existing = new Map(this.plannedLinks(projectId).map((p) => [p.link.linkId, p.link]));
    const byKey = new Map([...existing.keys()].map((id) => [linkIdKey(id), id]));
    const tested = this.testedLinks(projectId);
    const problems: string[] = [];
    const result: ImportResult = { added: [], updated: [], unchanged: [], planned: 0 };
    const writes: { link: PlannedLink; insert: boolean }[] = [];
    for (const { line, link } of links) {
      const before = existing.get(link.linkId);
      if (!before) {
        const planned = byKey.get(linkIdKey(link.linkId));
        if (planned !== undefined) {
          problems.push(`line ${line}: link ${link.linkId} and planned link ${planned} differ only in case or letter form: they would read as one link; use the plan's spelling (${planned}) or another id`);
          continue;
        }
        writes.push({ link, insert: true });
        result.added.push(link.linkId);
        continue;
      }
      const changes = changedFields(before, link);
      if (changes.length === 0) {
        result.unchanged.push(link.linkId);
        continue;
      }
      const why = tested.get(link.linkId);
      if (why) {
        problems.push(`line ${line}: link ${link.linkId} ${why}; its plan cannot change (${changes.join(', ')}): a certificate was judged against it`);
        continue;
      }
      writes.push({ link, insert: false });
      result.updated.push(link.linkId);
    }
    refuseIfAny(problems);
    let position = (this.db.prepare('SELECT coalesce(max(position), 0) FROM planned_links WHERE project_id = ?').pluck().get(projectId) as number) + 1;
    const insert = this.db.prepare('INSERT INTO planned_links (project_id, link_id, position, body, imported_at, imported_by) VALUES (?, ?, ?, ?, ?, ?)');
    const current = this.db.prepare('SELECT body, imported_at, imported_by FROM planned_links WHERE project_id = ? AND link_id = ?');
    const update = this.db.prepare('UPDATE planned_links SET body = ?, imported_at = ?, imported_by = ? WHERE project_id = ? AND link_id = ?');
    for (const { link, insert: isNew } of writes) {
      const { linkId, ...fields } = link;
      if (isNew) {
        insert.run(projectId, linkId, position++, JSON.stringify(fields), at, by);
        continue;
      }
      // The version replaced is kept in the body, with who wrote it and who replaced it, and when.
      const was = current.get(projectId, linkId) as { body: string; imported_at: string; imported_by: string };
      const { link: before, history = [] } = readPlanBody(linkId, was.body);
      const { linkId: _id, ...beforeFields } = before;
      const replaced: PlanVersion = { ...beforeFields, importedAt: was.imported_at, importedBy: was.imported_by, replacedAt: at, replacedBy: by };
      update.run(JSON.stringify({ ...fields, history: [...history, replaced] }), at, by, projectId, linkId);
    }
    result.planned = this.db.prepare('SELECT count(*) FROM planned_links WHERE project_id = ?').pluck().get(projectId) as number;
    return result;
  }

  /** Planned links with a certificate judged against their plan, or a job for them running now: why each cannot change. */
  private testedLinks(projectId: string): Map<string, string> {
    const why = new Map<string, string>();
    for (const c of this.certificates(projectId)) {
      if (c.planned === 1 && c.linkId !== null && !why.has(c.linkId)) why.set(c.linkId, `was tested (certificate ${c.id})`);
    }
    // The running job took its plan at its start: a change now would make its certificate disagree.
    const running = this.db
      .prepare(
        `SELECT json_extract(request, '$.subject.id') FROM jobs
         WHERE state = 'running' AND json_valid(request) AND json_extract(request, '$.subject.project.id') = ? AND json_extract(request, '$.subject.project.planned')`,
      )
      .pluck()
      .all(projectId) as string[];
    for (const id of running) if (!why.has(id)) why.set(id, 'is being tested now');
    return why;
  }

  /**
   * The project's certificates, oldest first, through the project index: the fields lists read from
   * the row's columns (which verification compares with the signed body), whether it was planned
   * and its lowest margin from the body (stored compressed: compact-body.ts). A body that cannot be
   * read gives neither (verification reports it; progress asks `verified` of what it names).
   */
  private certificates(projectId: string): CertificateRow[] {
    const rows = this.db
      .prepare(
        `SELECT id, link_id AS linkId, subject_kind AS kind, verdict, issued_at AS issuedAt, bench_id AS benchId, body
         FROM certificates WHERE project_id = ? ORDER BY id`,
      )
      .all(projectId) as (Omit<CertificateRow, 'planned' | 'lowestMarginDb'> & { body: Buffer })[];
    return rows.map(({ body, ...row }) => {
      let d: { project?: { planned?: unknown }; evaluation?: { summary?: { lowestMarginDb?: unknown } } } | undefined;
      try {
        d = JSON.parse(decompressBody(body)) as typeof d;
      } catch {
        d = undefined;
      }
      const planned = d?.project?.planned;
      const margin = d?.evaluation?.summary?.lowestMarginDb;
      return { ...row, planned: typeof planned === 'boolean' ? Number(planned) : typeof planned === 'number' ? planned : null, lowestMarginDb: typeof margin === 'number' ? margin : null };
    });
  }

  /**
   * The newest certificate of a link certified for this project or for no project at all: a link
   * id names a link only on its own site (another project has its own L-001, which does not
   * count), but a link certified outside any project is the same link, so drift, "a link keeps
   * its product" and "a link keeps its description" compare with it too. Naming a project never
   * escapes a link's earlier certificate.
   */
  latestCertificateId(projectId: string, linkId: string): number | undefined {
    // Walks the link id's certificates newest first through certificates_link. The id only: the
    // caller reads the certificate through the certificate store (which verifies it).
    return this.db
      .prepare(`SELECT id FROM certificates WHERE link_id = ? AND (project_id = ? OR project_id IS NULL) ORDER BY id DESC LIMIT 1`)
      .pluck()
      .get(linkId, projectId) as number | undefined;
  }

  /**
   * Per planned link, its latest certificate judged against its plan (a retest that passes after
   * a fail counts as pass); certificates of link ids that were not planned when tested are listed
   * apart, one entry per link id, and never count towards a planned link (they were judged from
   * the product alone, not from the plan). `verified` is asked of every certificate progress
   * names, as progress is read: one that does not verify is shown as INTEGRITY FAILED and counts
   * as invalid, never by the verdict its stored body claims.
   */
  progress(projectId: string, verified: CertificateCheck): ProjectProgress | undefined {
    const project = this.get(projectId);
    if (!project) return undefined;
    const planned = this.plannedLinks(projectId);
    const plannedIds = new Set(planned.map((p) => p.link.linkId));
    const latest = new Map<string, { tests: number; latest: ProjectCertificate }>();
    const unplanned = new Map<string, { tests: number; latest: ProjectCertificate }>();
    for (const c of this.certificates(projectId)) {
      if (c.linkId === null || c.kind !== 'link') continue;
      const cert: ProjectCertificate = { certificateId: c.id, verdict: c.verdict, issuedAt: c.issuedAt, benchId: c.benchId, lowestMarginDb: c.lowestMarginDb };
      const into = c.planned === 1 && plannedIds.has(c.linkId) ? latest : unplanned;
      into.set(c.linkId, { tests: (into.get(c.linkId)?.tests ?? 0) + 1, latest: cert });
    }
    // Each certificate the progress names is verified now (not only those known to fail): a
    // verdict read from a body someone edited must never show as trusted.
    for (const entry of [...latest.values(), ...unplanned.values()]) {
      if (!verified(entry.latest.certificateId)) entry.latest = { ...entry.latest, integrity: 'FAILED' };
    }
    const counts: ProjectCounts = { planned: planned.length, tested: 0, untested: 0, pass: 0, fail: 0, invalid: 0, unplanned: unplanned.size };
    const links = planned.map(({ position, link, history }): PlannedLinkProgress => {
      const found = latest.get(link.linkId);
      const versions = history ? { history } : {};
      if (!found) {
        counts.untested++;
        return { position, plan: link, ...versions, status: 'untested', tests: 0 };
      }
      const status = statusOf(found.latest);
      counts.tested++;
      counts[status]++;
      return { position, plan: link, ...versions, status, tests: found.tests, latest: found.latest };
    });
    return { project, counts, links, unplanned: [...unplanned].map(([linkId, u]) => ({ linkId, tests: u.tests, latest: u.latest })) };
  }
}
