/**
 * The project report as one PDF: the project, its counts, one row per planned link with its
 * status and latest certificate, and the unplanned results apart. It summarises; the signed
 * certificates it names are the evidence. Each one it names was verified as the report was made
 * (routes/projects.ts): one that failed shows INTEGRITY FAILED and counts as invalid.
 *
 * Standard PDF fonts only (Helvetica): nothing to ship or embed, and the file reads the same on any
 * viewer. Those fonts encode WinAnsi (cp1252) only, so any other character is written as '?'
 * rather than as the wrong glyph: a link id must never print as a different link id.
 */
import PDFDocument from 'pdfkit';
import type { PlannedLinkProgress, ProjectCertificate, ProjectProgress, UnplannedProgress } from '../../store/project-store.js';

/** cp1252's characters beyond Latin-1 (0x80-0x9F). */
const CP1252_EXTRA = new Set('€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ');

/** Text as the standard fonts can write it: every character outside WinAnsi becomes '?'. */
export function winAnsi(text: string): string {
  let out = '';
  for (const ch of text.normalize('NFC')) {
    const c = ch.codePointAt(0)!;
    out += (c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xff) || CP1252_EXTRA.has(ch) ? ch : '?';
  }
  return out;
}

/** An ISO time as the report prints it: UTC to the second. */
export function reportTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]}` : iso;
}

/** The verdict a report shows: a certificate failing verification is never read for one. */
export function shownVerdict(c: ProjectCertificate | undefined): string {
  if (!c) return '';
  return c.integrity === 'FAILED' ? 'INTEGRITY FAILED' : (c.verdict ?? '');
}

const num = (v: number | null | undefined): string => (v === null || v === undefined ? '' : String(v));

interface Col {
  head: string;
  width: number;
  align?: 'right';
}

const PAGE = { size: 'A4', layout: 'landscape' as const, margin: 36 };
const ROW_H = 12;
const FONT_SIZE = 8;
/** Space between columns: a right-aligned number never touches the text after it. */
const CELL_GAP = 8;

export interface ReportOptions {
  /** When the report was made (ISO). */
  generatedAt: string;
  /** The software that made it, e.g. "mpocert 0.1.0". */
  software: string;
}

export function renderProjectReportPdf(progress: ProjectProgress, opts: ReportOptions): Promise<Buffer> {
  const { project, counts } = progress;
  const doc = new PDFDocument({
    // Kept until the end, so each page's footer can say "page n of m".
    bufferPages: true,
    size: PAGE.size,
    layout: PAGE.layout,
    margin: PAGE.margin,
    info: { Title: winAnsi(`Project report ${project.id}`), Creator: winAnsi(opts.software) },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  const left = PAGE.margin;
  const right = doc.page.width - PAGE.margin;
  // The last line a row may reach; the strip below it holds the page footer.
  const bottom = doc.page.height - PAGE.margin - 14;
  let y = PAGE.margin;

  const font = (bold: boolean | undefined, size: number): void => void doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(size);
  /** A cell's text wraps within its column, never cut: a report must not shorten a link id. */
  const cellOpts = (c: Col) => ({ width: c.width - CELL_GAP, align: c.align ?? ('left' as const) });
  const heightOf = (cols: readonly Col[], cells: readonly string[], bold = false): number => {
    font(bold, FONT_SIZE);
    return Math.max(ROW_H, ...cols.map((c, k) => doc.heightOfString(winAnsi(cells[k] ?? ''), cellOpts(c)) + 3));
  };
  const cells = (cols: readonly Col[], texts: readonly string[], bold = false): void => {
    font(bold, FONT_SIZE);
    let x = left;
    cols.forEach((c, k) => {
      doc.text(winAnsi(texts[k] ?? ''), x, y, cellOpts(c));
      x += c.width;
    });
  };

  const line = (text: string, opts: { bold?: boolean; size?: number } = {}): void => {
    const size = opts.size ?? FONT_SIZE;
    font(opts.bold, size);
    const h = doc.heightOfString(winAnsi(text), { width: right - left });
    if (y + h > bottom) newPage();
    doc.text(winAnsi(text), left, y, { width: right - left });
    y += h + size * 0.5;
  };

  let repeatHeader: readonly Col[] = [];
  const newPage = (): void => {
    doc.addPage();
    y = PAGE.margin;
    header(repeatHeader);
  };
  const header = (cols: readonly Col[]): void => {
    repeatHeader = cols;
    if (cols.length === 0) return;
    const heads = cols.map((c) => c.head);
    const h = heightOf(cols, heads, true);
    if (y + h + ROW_H > bottom) newPage(); // never a header alone at the foot of a page
    cells(cols, heads, true);
    y += h;
    doc.moveTo(left, y - 2).lineTo(right, y - 2).lineWidth(0.5).stroke();
  };
  const row = (cols: readonly Col[], texts: readonly string[]): void => {
    const h = heightOf(cols, texts);
    if (y + h > bottom) newPage();
    cells(cols, texts);
    y += h;
  };
  const endTable = (): void => {
    repeatHeader = [];
    y += 8;
  };

  line('mpocert project report', { bold: true, size: 16 });
  line(`Project ${project.id}: ${project.title}`, { bold: true, size: 12 });
  if (project.site) line(`Site: ${project.site}`, { size: 10 });
  line(`Created ${reportTime(project.createdAt)} UTC by ${project.createdBy}. Report generated ${reportTime(opts.generatedAt)} UTC by ${opts.software}.`, { size: 9 });
  y += 4;
  line(
    `Planned ${counts.planned}   Tested ${counts.tested}   Pass ${counts.pass}   Fail ${counts.fail}   Invalid ${counts.invalid}   Untested ${counts.untested}   Unplanned ${counts.unplanned}`,
    { bold: true, size: 11 },
  );
  line('Each planned link shows its latest certificate judged against its plan (a pass after a failed test counts as pass). Pass includes MARGINAL; Invalid includes certificates that failed verification (INTEGRITY FAILED).', { size: 8 });
  y += 6;

  const planned: Col[] = [
    { head: '#', width: 22, align: 'right' },
    { head: 'Link', width: 95 },
    { head: 'Length m', width: 46, align: 'right' },
    { head: 'Conn.', width: 34, align: 'right' },
    { head: 'Spl.', width: 28, align: 'right' },
    { head: 'Fiber', width: 34 },
    { head: 'Count', width: 34, align: 'right' },
    { head: 'Application', width: 84 },
    { head: 'Pol.', width: 26 },
    { head: 'Status', width: 50 },
    { head: 'Verdict', width: 62 },
    { head: 'Cert.', width: 38, align: 'right' },
    { head: 'Issued (UTC)', width: 92 },
    { head: 'Bench', width: 60 },
    { head: 'Worst margin dB', width: 64, align: 'right' },
  ];
  line('Planned links', { bold: true, size: 11 });
  header(planned);
  if (progress.links.length === 0) line('No links planned yet: import the cable schedule.');
  for (const l of progress.links) row(planned, plannedCells(l));
  endTable();
  const unplanned: Col[] = [
    { head: 'Link', width: 140 },
    { head: 'Status', width: 60 },
    { head: 'Verdict', width: 80 },
    { head: 'Cert.', width: 50, align: 'right' },
    { head: 'Issued (UTC)', width: 110 },
    { head: 'Bench', width: 90 },
    { head: 'Worst margin dB', width: 80, align: 'right' },
    { head: 'Tests', width: 40, align: 'right' },
  ];
  line('Unplanned results (link ids not in the plan when tested: judged from the product alone)', { bold: true, size: 11 });
  if (progress.unplanned.length === 0) line('None.');
  else header(unplanned);
  for (const u of progress.unplanned) row(unplanned, unplannedCells(u));
  endTable();
  line(
    `Every certificate named here was verified (its content against its hash, its signature by a trusted key, its bench's chain) as this report was generated, ${reportTime(opts.generatedAt)} UTC. One that failed shows INTEGRITY FAILED and counts as invalid: its stored verdict is not shown, since its bytes are not what the bench signed. A report is a summary at that time, not evidence: verify a certificate again at /certificates/<id>/verify, or audit the whole store with mpocert verify.`,
    { size: 8 },
  );

  const pages = doc.bufferedPageRange();
  for (let i = 0; i < pages.count; i++) {
    doc.switchToPage(pages.start + i);
    // The footer sits below the bottom margin: without lifting it, pdfkit would start a new page.
    const margin = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    font(false, 7);
    doc.text(winAnsi(`Project ${project.id} report, page ${i + 1} of ${pages.count}`), left, doc.page.height - PAGE.margin, { width: right - left, align: 'right' });
    doc.page.margins.bottom = margin;
  }
  doc.end();
  return done;
}

function plannedCells(l: PlannedLinkProgress): string[] {
  const p = l.plan;
  return [
    String(l.position),
    p.linkId,
    String(p.lengthM),
    String(p.connections),
    String(p.splices),
    p.fiberType,
    String(p.fiberCount),
    p.application ?? '',
    p.polarity,
    l.status,
    shownVerdict(l.latest),
    num(l.latest?.certificateId),
    reportTime(l.latest?.issuedAt),
    l.latest?.benchId ?? '',
    num(l.latest?.lowestMarginDb),
  ];
}

function unplannedCells(u: UnplannedProgress): string[] {
  return [u.linkId, 'unplanned', shownVerdict(u.latest), String(u.latest.certificateId), reportTime(u.latest.issuedAt), u.latest.benchId ?? '', num(u.latest.lowestMarginDb), String(u.tests)];
}
