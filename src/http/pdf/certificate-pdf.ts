import PDFDocument from 'pdfkit';
import { RULES } from '../../evaluation/rules.js';
import type { Integrity, StoredCertificate } from '../../store/certificate-store.js';
import {
  describeSubject,
  endsLine,
  evaluationOf,
  fiberRows,
  fmtDb,
  limitBasisLines,
  limitsLine,
  OUTCOME_COLOUR,
  polarityDifferenceLines,
  referenceCordLines,
  type FiberRow,
} from '../certificate-view.js';
import { winAnsi } from './pdf-text.js';

/**
 * The certificate as a PDF, drawn by pdfkit in the daemon (no browser): the same content as the
 * HTML page (certificate-html.ts), from the same view model (certificate-view.ts), laid out on A4.
 * A certificate whose stored bytes fail verification is never drawn from its content: its pages
 * say that it FAILED verification, and why, and nothing else.
 *
 * The same certificate gives the same bytes: the PDF's dates are the certificate's issue time
 * (pdfkit would stamp the current time, and derives the file ID from the dates), and nothing
 * else in the output depends on when or where it was made.
 */

type Doc = PDFKit.PDFDocument;

/** A4 in points. */
const PAGE = { width: 595.28, height: 841.89 };
const MARGIN = { top: 48, bottom: 56, left: 48, right: 48 };
const FOOTER_Y = PAGE.height - 36;
/** Used where no trustworthy date exists (only failure notices): fixed, so the bytes still are. */
const NO_DATE = new Date(0);

const REGULAR = 'Helvetica';
const BOLD = 'Helvetica-Bold';
const MONO = 'Courier';
const TEXT = '#222222';
const GREY = '#666666';
const FAILED_COLOUR = OUTCOME_COLOUR.INVALID!;
/** What a project's plan supplies of a planned link's description (as the certificate's page says). */
const PLAN_SUPPLIES = "length, connections, splices, fiber type and count, polarity and application from the project's cable schedule (an application it leaves empty is the product's)";
const ROW_BACKGROUND: Readonly<Record<string, string>> = { FAIL: '#fdecea', INVALID: '#fdecea', MARGINAL: '#fff4e0' };

interface Style {
  font?: string;
  size?: number;
  colour?: string;
}

/** What one certificate's pages show: the certificate, or only the notice that it failed verification. */
type Item = { kind: 'certificate'; cert: StoredCertificate } | { kind: 'failed'; id: number; integrity: Integrity };

/**
 * Drawing on the document. Every string goes through winAnsi() here (the standard fonts encode
 * nothing else), and the writer counts what it had to replace, so the page can say so.
 */
class Writer {
  replaced = 0;
  readonly left = MARGIN.left;
  readonly right = PAGE.width - MARGIN.right;
  readonly bottom = PAGE.height - MARGIN.bottom;
  /** Called after a page break made by the writer (the table redraws its header). */
  onNewPage: (() => void) | undefined;

  constructor(readonly doc: Doc) {}

  get y(): number {
    return this.doc.y;
  }

  set y(v: number) {
    this.doc.y = v;
  }

  safe(text: string): string {
    const m = winAnsi(text);
    this.replaced += m.replaced;
    return m.text;
  }

  /** Lines we break ourselves: each made safe alone (a line break inside one shows as "?"). */
  safeLines(lines: string | readonly string[]): string {
    return (typeof lines === 'string' ? [lines] : lines).map((l) => this.safe(l)).join('\n');
  }

  style({ font = REGULAR, size = 9, colour = TEXT }: Style): this {
    this.doc.font(font).fontSize(size).fillColor(colour);
    return this;
  }

  /** One line at (x, y): never wrapped, never breaks the page (lineBreak: false has no wrapper). */
  at(text: string, x: number, y: number, style: Style = {}): number {
    const s = this.safe(text);
    this.style(style).doc.text(s, x, y, { lineBreak: false });
    return this.doc.widthOfString(s);
  }

  /** One line ending at `xRight` (numbers line up on the decimal point). */
  atRight(text: string, xRight: number, y: number, style: Style = {}): void {
    const s = this.safe(text);
    this.style(style);
    this.doc.text(s, xRight - this.doc.widthOfString(s), y, { lineBreak: false });
  }

  /** Wrapped text from the current y; starts a new page first when it does not fit on this one. */
  para(text: string, style: Style = {}, opts: { x?: number; width?: number; gap?: number } = {}): void {
    const x = opts.x ?? this.left;
    const width = opts.width ?? this.right - x;
    const s = this.safe(text);
    this.style(style);
    this.need(this.doc.heightOfString(s, { width, lineGap: 1 }));
    this.doc.text(s, x, this.y, { width, lineGap: 1 });
    this.y += opts.gap ?? 2;
  }

  /** A label and its value (one line or several) side by side, the value wrapped in its column. */
  field(label: string, value: string | readonly string[], valueStyle: Style = {}): void {
    const labelW = 108;
    const x = this.left + labelW + 6;
    const width = this.right - x;
    const l = this.safe(label);
    const v = this.safeLines(value);
    this.style(valueStyle);
    const h = this.doc.heightOfString(v, { width, lineGap: 1 });
    this.need(h);
    const y = this.y;
    this.style({ font: BOLD }).doc.text(l, this.left, y, { width: labelW, lineGap: 1 });
    this.style(valueStyle).doc.text(v, x, y, { width, lineGap: 1 });
    this.y = y + h + 2;
  }

  bullets(lines: readonly string[], style: Style = {}): void {
    const x = this.left + 14;
    const width = this.right - x;
    for (const line of lines) {
      const s = this.safe(line);
      this.style(style);
      const h = this.doc.heightOfString(s, { width, lineGap: 1 });
      this.need(h);
      const y = this.y;
      this.at('\u2022', this.left + 4, y, style);
      this.style(style).doc.text(s, x, y, { width, lineGap: 1 });
      this.y = y + h + 1;
    }
  }

  heading(text: string): void {
    this.need(40); // a heading never ends a page alone
    this.y += 8;
    this.at(text, this.left, this.y, { font: BOLD, size: 12 });
    this.y += 17;
  }

  need(height: number): void {
    if (this.y + height > this.bottom) this.newPage();
  }

  newPage(): void {
    this.doc.addPage();
    this.y = MARGIN.top;
    this.onNewPage?.();
  }
}

export async function renderCertificatePdf(cert: StoredCertificate, integrity: Integrity): Promise<Buffer> {
  return renderCertificatesPdf([{ certificate: cert, integrity }]);
}

/** The notice for a certificate whose stored body cannot even be parsed: the problems only. */
export async function renderIntegrityFailurePdf(id: number, integrity: Integrity): Promise<Buffer> {
  return render([{ kind: 'failed', id, integrity }]);
}

/**
 * Several certificates in one PDF (QA's export, project reports), each starting on a new page,
 * each failing one as its notice only. (A failing certificate whose body does not parse has no
 * StoredCertificate: its id is then taken from its problems, which name it.)
 */
export async function renderCertificatesPdf(items: readonly { certificate: StoredCertificate; integrity: Integrity }[]): Promise<Buffer> {
  return render(
    items.map((i): Item =>
      i.integrity.valid
        ? { kind: 'certificate', cert: i.certificate }
        : { kind: 'failed', id: i.certificate?.id ?? i.integrity.problems[0]?.certificateId ?? 0, integrity: i.integrity },
    ),
  );
}

function render(items: readonly Item[]): Promise<Buffer> {
  const date = dateOf(items);
  const doc = new PDFDocument({
    size: 'A4',
    margins: MARGIN,
    autoFirstPage: false,
    // Footers say "page k of n": written once a certificate's pages all exist, then flushed, so
    // a long export holds one certificate's pages at a time.
    bufferPages: true,
    info: {
      Title: items.length === 1 ? `Certificate ${idOf(items[0]!)}` : `${items.length} certificates`,
      Creator: 'mpocert',
      Producer: 'mpocert (PDFKit)',
      CreationDate: date,
      ModDate: date,
    },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const w = new Writer(doc);
  if (items.length === 0) {
    w.newPage();
    w.para('No certificates.', { size: 12 });
  }
  for (const item of items) {
    w.newPage();
    if (item.kind === 'failed') failureNotice(w, item.id, item.integrity);
    else certificatePages(w, item.cert);
    footers(w, item.kind === 'failed' ? `mpocert certificate ${item.id} (FAILED verification)` : `mpocert certificate ${item.cert.id}`);
    doc.flushPages();
  }
  doc.end();
  return done;
}

function idOf(item: Item): number {
  return item.kind === 'failed' ? item.id : item.cert.id;
}

/** The newest issue time among the certificates shown; never a date from a certificate that failed. */
function dateOf(items: readonly Item[]): Date {
  const times = items.flatMap((i) => (i.kind === 'certificate' ? [Date.parse(i.cert.issuedAt)] : [])).filter((t) => Number.isFinite(t));
  return times.length ? new Date(Math.max(...times)) : NO_DATE;
}

/** "page k of n" on every page still buffered: the pages of the certificate just drawn. */
function footers(w: Writer, label: string): void {
  const { start, count } = w.doc.bufferedPageRange();
  for (let k = 0; k < count; k++) {
    w.doc.switchToPage(start + k);
    w.at(`${label} \u00b7 page ${k + 1} of ${count}`, w.left, FOOTER_Y, { size: 7.5, colour: GREY });
  }
}

/** The whole notice for a certificate failing verification: its id and the problems, nothing of its content. */
function failureNotice(w: Writer, id: number, integrity: Integrity): void {
  w.at(`Certificate ${id} FAILED verification`, w.left, w.y, { font: BOLD, size: 20, colour: FAILED_COLOUR });
  w.y += 34;
  w.para('Do not rely on this certificate. Its stored bytes are not what the bench signed, so nothing of its content is shown here.', { size: 11 }, { gap: 10 });
  w.para('Problems found:', { font: BOLD, size: 10 }, { gap: 4 });
  w.bullets(integrity.problems.map((p) => `${p.problem}: ${p.detail}`), { size: 10 });
}

function certificatePages(w: Writer, cert: StoredCertificate): void {
  const doc = cert.document;
  const ev = evaluationOf(cert);
  const rows = fiberRows(ev.fibers);
  const subject = cert.serial ?? cert.linkId ?? '';
  const colour = OUTCOME_COLOUR[cert.verdict] ?? TEXT;
  const replacedBefore = w.replaced;

  w.at(`Test certificate ${cert.id}`, w.left, w.y, { font: BOLD, size: 18 });
  w.y += 28;
  // The verdict, big and boxed in its colour, as on the page.
  w.style({ font: BOLD, size: 30 });
  const verdict = w.safe(cert.verdict);
  const boxW = w.doc.widthOfString(verdict) + 24;
  w.doc.save().lineWidth(3).rect(w.left + 1.5, w.y, boxW, 42).stroke(colour).restore();
  w.at(verdict, w.left + 13.5, w.y + 8, { font: BOLD, size: 30, colour });
  w.y += 52;
  w.bullets(ev.reasons);
  w.y += 4;

  w.field(cert.subjectKind === 'assembly' ? 'Serial number' : 'Link id', subject, { font: BOLD });
  if (doc.subject.product) w.field('Product', doc.subject.product);
  w.field('Description', describeSubject(doc.subject.description));
  if (doc.project) {
    // As the certificate's page says it: which project, and whether its plan described the link.
    if (doc.project.planned) w.field('Project', `${doc.project.id} (planned link: ${PLAN_SUPPLIES})`);
    else w.field('Project', `${doc.project.id} UNPLANNED: not in the project's cable schedule; described by the product alone`, { font: BOLD, colour: FAILED_COLOUR });
  }
  w.field('Limit set', `${ev.limitSet.title} (${cert.limitSetId} version ${cert.limitSetVersion})${ev.limitSet.origin === 'user' ? ` user limit set, file sha256 ${ev.limitSet.fileSha256}` : ''}`);
  w.field('Ends certified', endsLine(ev));
  const cords = referenceCordLines(ev);
  w.field('Reference cords', cords.length ? cords : 'none verified');
  w.field('Guard band', `${fmtDb(ev.settings.guardBandDb)} dB (MARGINAL within it)`);
  w.field('Tested', `${doc.job.testedAt} by ${doc.job.operator}${doc.job.authenticatedAs ? ` (authenticated as ${doc.job.authenticatedAs})` : ''}`);
  w.field('Bench', `${doc.bench.title} (${doc.bench.id})`);
  w.field('Instruments', doc.bench.instruments.map((i) => i.raw));
  w.field('Reference', doc.reference.takenAt);
  w.field('Issued', `${cert.issuedAt} by ${doc.software.name} ${doc.software.version}`);
  substitutionNote(w, cert, w.replaced - replacedBefore);
  const replacedInHeader = w.replaced;

  w.heading('Insertion loss per fiber');
  lossChart(w, rows);
  w.para(`Limits: ${limitsLine(rows)}. Margin = limit - value for a maximum; negative fails.`, {}, { gap: 6 });

  fiberTable(w, rows, arrivals(cert));

  w.heading('Polarity');
  polarity(w, cert);

  w.heading('Limit basis');
  limitBasis(w, cert, rows);

  w.heading('Signature');
  signature(w, cert);

  w.heading('How to verify this certificate');
  howToVerify(w, cert);
  // Text further down (a cord id in a reason, a user limit set's title) may have needed "?" too.
  substitutionNote(w, cert, w.replaced - replacedInHeader);
}

function substitutionNote(w: Writer, cert: StoredCertificate, replaced: number): void {
  if (replaced === 0) return;
  w.y += 2;
  w.para(
    `${replaced} character(s) above cannot be shown in this PDF's font and are printed as "?". The certificate as signed holds the exact text: GET /certificates/${cert.id}?format=json.`,
    { size: 8, colour: GREY },
  );
}

/**
 * Insertion loss per fiber against its limit, as the page's SVG chart draws it: one bar per
 * fiber, wavelength and end, coloured by outcome, with the limit as a black line over each bar.
 * Vector drawing, so it prints sharp at any size.
 */
function lossChart(w: Writer, rows: readonly FiberRow[]): void {
  const il = rows.filter((r) => r.quantity === 'insertion loss');
  if (il.length === 0) {
    w.para('No insertion loss was judged.');
    return;
  }
  const series = [...new Map(il.map((r) => [`${r.wavelengthNm}|${r.end}`, { wavelengthNm: r.wavelengthNm, end: r.end }])).values()];
  const multiEnd = new Set(series.map((s) => s.end)).size > 1;
  const fibers = [...new Set(il.map((r) => r.fiber))];
  const top = Math.max(...il.map((r) => Math.max(r.limitDb, r.valueDb ?? 0))) * 1.15 || 1;
  const plotH = 110;
  const left = w.left + 34;
  const plotW = w.right - left;
  w.need(plotH + 40);
  const y0 = w.y + 4;
  const y = (v: number): number => y0 + plotH - (Math.max(0, v) / top) * plotH;
  const doc = w.doc;
  for (const v of [0, top / 2, top]) {
    doc.save().lineWidth(0.5).moveTo(left, y(v)).lineTo(w.right, y(v)).stroke('#dddddd').restore();
    w.atRight(v.toFixed(2), left - 4, y(v) - 3, { size: 7, colour: GREY });
  }
  const groupW = plotW / fibers.length;
  const barW = Math.max(1.5, (groupW - 4) / series.length);
  fibers.forEach((fiber, fi) => {
    const x0 = left + fi * groupW + 2;
    series.forEach((s, si) => {
      const r = il.find((x) => x.fiber === fiber && x.wavelengthNm === s.wavelengthNm && x.end === s.end);
      if (!r) return;
      const x = x0 + si * barW;
      if (r.valueDb === null) {
        w.at('?', x, y(0) - 10, { font: BOLD, size: 8, colour: OUTCOME_COLOUR.INVALID });
      } else {
        // Later series lighter, as the page does for its second wavelength.
        const h = y(0) - y(r.valueDb);
        if (h > 0) doc.save().fillOpacity(Math.max(0.35, 1 - 0.25 * si)).rect(x, y(r.valueDb), Math.max(0.8, barW - 0.8), h).fill(OUTCOME_COLOUR[r.outcome] ?? '#555555').restore();
      }
      doc.save().lineWidth(1.2).moveTo(x, y(r.limitDb)).lineTo(x + Math.max(0.8, barW - 0.8), y(r.limitDb)).stroke('#000000').restore();
    });
    const label = String(fiber);
    w.style({ size: 7 });
    w.at(label, x0 + (groupW - 4) / 2 - doc.widthOfString(label) / 2, y0 + plotH + 3, { size: 7 });
  });
  const order = series.map((s) => `${s.wavelengthNm} nm${multiEnd ? ` end ${s.end}` : ''}`).join(', ');
  w.y = y0 + plotH + 14;
  w.para(`Fiber (bars left to right: ${order}; black line: limit; dB)`, { size: 7.5, colour: GREY }, { x: left, gap: 4 });
}

/** Where each launch position's light arrived, by fiber, end and wavelength (benches that can see it). */
function arrivals(cert: StoredCertificate): Map<string, number | null> | undefined {
  const readings = cert.document.readings ?? [];
  if (!readings.some((r) => r.receivedAt !== undefined)) return undefined;
  return new Map(readings.filter((r) => r.receivedAt !== undefined).map((r) => [`${r.fiber}|${r.end}|${r.wavelengthNm}`, r.receivedAt ?? null]));
}

interface Column {
  title: string;
  width: number;
  align: 'left' | 'right';
  cell(r: FiberRow): string;
  style?(r: FiberRow): Style;
}

/** One row per judged value, the header again at the top of every page the table runs onto. */
function fiberTable(w: Writer, rows: readonly FiberRow[], arrivedAt: Map<string, number | null> | undefined): void {
  const columns: Column[] = [
    { title: 'Fiber', width: 28, align: 'right', cell: (r) => String(r.fiber) },
    { title: 'End', width: 24, align: 'left', cell: (r) => r.end },
    { title: 'Wavelength nm', width: 58, align: 'right', cell: (r) => String(r.wavelengthNm) },
    { title: 'Quantity', width: 64, align: 'left', cell: (r) => r.quantity },
    { title: 'Measured dB', width: 54, align: 'right', cell: (r) => fmtDb(r.valueDb) },
    { title: 'Limit dB', width: 58, align: 'right', cell: (r) => `${r.limitKind} ${fmtDb(r.limitDb)}` },
    { title: 'Margin dB', width: 50, align: 'right', cell: (r) => fmtDb(r.marginDb) },
    { title: 'Outcome', width: 52, align: 'left', cell: (r) => r.outcome, style: (r) => ({ font: BOLD, colour: OUTCOME_COLOUR[r.outcome] ?? TEXT }) },
  ];
  if (arrivedAt) {
    columns.push({
      title: 'Arrives at',
      width: 60,
      align: 'right',
      cell: (r) => {
        const at = arrivedAt.get(`${r.fiber}|${r.end}|${r.wavelengthNm}`);
        return at === undefined ? '—' : at === null ? 'dark' : `position ${at}`;
      },
    });
  }
  const gap = 6;
  const rowH = 11.5;
  const header = (continued: boolean): void => {
    if (continued) {
      w.at('Per-fiber results (continued)', w.left, w.y, { font: BOLD, size: 10 });
      w.y += 15;
    }
    let x = w.left;
    for (const c of columns) {
      if (c.align === 'right') w.atRight(c.title, x + c.width, w.y, { font: BOLD, size: 8 });
      else w.at(c.title, x, w.y, { font: BOLD, size: 8 });
      x += c.width + gap;
    }
    w.y += 11;
    w.doc.save().lineWidth(0.7).moveTo(w.left, w.y).lineTo(x - gap, w.y).stroke('#999999').restore();
    w.y += 2.5;
  };
  w.heading('Per-fiber results');
  w.need(rowH * 3 + 14);
  header(false);
  w.onNewPage = () => header(true);
  const tableW = columns.reduce((s, c) => s + c.width + gap, -gap);
  for (const r of rows) {
    w.need(rowH);
    const background = ROW_BACKGROUND[r.outcome];
    if (background) w.doc.save().rect(w.left - 2, w.y - 1.5, tableW + 4, rowH).fill(background).restore();
    let x = w.left;
    for (const c of columns) {
      const style: Style = { size: 8, ...(c.style?.(r) ?? {}) };
      if (c.align === 'right') w.atRight(c.cell(r), x + c.width, w.y, style);
      else w.at(c.cell(r), x, w.y, style);
      x += c.width + gap;
    }
    w.y += rowH;
  }
  w.onNewPage = undefined;
  w.y += 4;
}

function polarity(w: Writer, cert: StoredCertificate): void {
  const pol = evaluationOf(cert).polarity;
  if (!pol) {
    w.para('No polarity declared.');
    return;
  }
  const parts = [`Declared: ${pol.declared ?? '—'}${pol.expectedType ? ` (expects type ${pol.expectedType})` : ''}.`];
  parts.push(
    pol.classification
      ? `Measured map fits type ${pol.classification.bestFit ?? 'none'} at ${pol.classification.matchingPositions}/${pol.classification.positions} positions.`
      : "Polarity NOT verified: this bench cannot see where each fiber's light arrives; the verdict covers loss only.",
  );
  if (pol.outcome) parts.push(`Result: ${pol.outcome}.`);
  w.para(parts.join(' '));
  w.bullets(polarityDifferenceLines(pol));
}

/** The rules a reason cites, as "[rule <id>: <source>]" ends each (see evaluation/rules.ts), each once. */
function rulesCited(reasons: readonly string[]): string[] {
  const cited = new Map<string, string>();
  for (const reason of reasons) for (const m of reason.matchAll(/\[rule ([^:\]]+): ([^\]]*)\]/g)) cited.set(m[1]!, m[2]!);
  return [...cited].map(([id, source]) => `rule ${id}: ${source}`);
}

function limitBasis(w: Writer, cert: StoredCertificate, rows: readonly FiberRow[]): void {
  const ev = evaluationOf(cert);
  w.field('Limit set', `${cert.limitSetId} version ${cert.limitSetVersion}: ${ev.limitSet.title}`);
  // Certificates issued before a member existed lack it (see CertificateDocument): shown when present.
  const includes = ev.limitSet.includes ?? [];
  if (includes.length) w.field('Includes', includes.map((i) => `${i.id} version ${i.version}`).join(', '));
  const sha = ev.limitSet.fileSha256 ? `, file sha256 ${ev.limitSet.fileSha256}` : '';
  w.field('Origin', ev.limitSet.origin === 'user' ? `user limit set${sha}` : `shipped with mpocert${sha}`);
  w.field('Limits as applied', limitBasisLines(rows));
  w.field('Rules', [`rule limit: ${RULES.limit}`, ...rulesCited(ev.reasons).filter((r) => !r.startsWith('rule limit:'))]);
}

function signature(w: Writer, cert: StoredCertificate): void {
  w.para('Signed with Ed25519 when it was issued; verified (content, signature by a trusted key, chain) when this PDF was made.', {}, { gap: 4 });
  const mono: Style = { font: MONO, size: 7 };
  w.field('Key id', cert.keyId, mono);
  w.field('Hash', cert.hash, mono);
  w.field('Previous hash', cert.prevHash ?? '(first certificate of this bench)', cert.prevHash ? mono : {});
  w.field('Signature', cert.signature, mono);
}

function howToVerify(w: Writer, cert: StoredCertificate): void {
  w.para('This PDF is a rendering of the signed certificate, not the record itself: check the record.', {}, { gap: 4 });
  w.bullets([
    `On the daemon's host: mpocert verify --id ${cert.id} (exit 0 when intact). QA with a copy of the database: mpocert verify --id ${cert.id} --db <copy of mpocert.db> --trust <trusted-keys.json>.`,
    `Over HTTP: GET /certificates/${cert.id}/verify (valid: true when intact); GET /certificates/${cert.id}?format=json is the certificate exactly as signed.`,
    `The signing key must be a trusted key with fingerprint (SHA-256 of its public key) ${cert.keyId}; GET /signing-keys lists the trusted keys.`,
  ]);
}
