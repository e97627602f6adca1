import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { describeError, InputError } from '../../errors.js';
import type { CertificateSummary, Integrity, StoredCertificate } from '../../store/certificate-store.js';
import type { Auth } from '../auth.js';
import type { HttpDeps } from '../context.js';
import {
  CONTENT_TYPES,
  CSV_HEADER,
  csvRow,
  EXPORT_FORMATS,
  EXPORT_LIMITS,
  exportFilename,
  FORMAT_NAMES,
  jsonLine,
  missingIntegrity,
  type ExportFormat,
  type Served,
} from '../qa-export.js';
import { renderExportPdf } from '../qa-pdf.js';
import { filterOf, SEARCH_FIELDS, searchValues, type SearchValues } from '../qa-query.js';
import { CONSOLE_CSP, esc, page } from '../web/html.js';
import { qaPage } from '../web/qa-views.js';

type Options = Pick<HttpDeps, 'certificates' | 'custody'> & { auth: Auth };

// Lenient lengths here: the handler checks each field and answers in words (qa-query.ts); the
// schema only keeps absurd input out. Unknown parameters are refused, so a typo is not ignored.
const Text = Type.Optional(Type.String({ maxLength: 1024 }));
const searchFields = { serial: Text, linkId: Text, project: Text, verdict: Text, bench: Text, limitSet: Text, from: Text, to: Text };
const SearchQuery = Type.Object(
  { ...searchFields, offset: Type.Optional(Type.String({ maxLength: 12 })), limit: Type.Optional(Type.String({ maxLength: 12 })) },
  { additionalProperties: false },
);
const ExportQuery = Type.Object(
  {
    ...searchFields,
    format: Text,
    // Repeated (a form's ticked boxes: ids=3&ids=7) or comma-separated (ids=3,7), or both.
    ids: Type.Optional(Type.Array(Type.String({ maxLength: 200_000 }), { maxItems: EXPORT_LIMITS.csv + 1 })),
  },
  { additionalProperties: false },
);

/**
 * Reading and verifying a certificate takes up to a millisecond (20 kB, an Ed25519 check): an
 * export gives the event loop back this often, so a bench's job keeps getting its instrument
 * replies in time while QA exports (the background full check works in slices for the same reason).
 */
const SLICE_MS = 10;

/** Resolves on the next turn of the event loop once `SLICE_MS` of work has been done since the last. */
function pacer(): () => Promise<void> | undefined {
  let since = performance.now();
  return () => {
    if (performance.now() - since < SLICE_MS) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        since = performance.now();
        resolve();
      }),
    );
  };
}

const PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 500;

/** A whole number in [min, max] from the URL, or the default when absent or blank. */
function whole(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const n = /^\d{1,12}$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InputError(`${name}: "${value}" is not a whole number from ${min} to ${max}`, { field: name });
  return n;
}

/** The ids of a selection, in the order given, each once. */
function selection(raw: readonly string[], cap: number, format: ExportFormat): number[] {
  const ids = new Set<number>();
  for (const part of raw.flatMap((r) => r.split(','))) {
    const t = part.trim();
    if (t === '') continue;
    if (!/^[1-9][0-9]{0,15}$/.test(t) || !Number.isSafeInteger(Number(t))) throw new InputError(`ids: "${t}" is not a certificate id`, { field: 'ids' });
    ids.add(Number(t));
  }
  if (ids.size === 0) throw new InputError('no certificates selected: tick the rows to export, or export all that match the search');
  if (ids.size > cap) throw new InputError(`${ids.size} certificates selected; a ${FORMAT_NAMES[format]} export holds at most ${cap.toLocaleString('en')}: export them in parts`, { field: 'ids' });
  return [...ids];
}

/** The search fields as they came, to show a refused search back in its form. */
function asTyped(q: Readonly<Partial<Record<string, unknown>>>): SearchValues {
  return Object.fromEntries(SEARCH_FIELDS.flatMap((f) => (typeof q[f] === 'string' ? [[f, q[f]]] : []))) as SearchValues;
}

/** A browser navigating (the page's links and forms) gets a page it can read; a script gets JSON. */
const wantsHtml = (req: FastifyRequest): boolean => (req.headers.accept ?? '').includes('text/html');

/**
 * QA's search and export: GET /qa (the search page) and GET /qa/export (csv, jsonl or pdf of all
 * that match a search, or of `ids`). Reads, like every read of this daemon: no token needed; the
 * page shows who is signed in when someone is.
 */
export const qaRoutes: FastifyPluginAsyncTypebox<Options> = async (app, { certificates, custody, auth }) => {
  const sendPage = (req: FastifyRequest, reply: FastifyReply, body: string): FastifyReply =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', CONSOLE_CSP)
      .header('cache-control', 'no-store')
      .send(page({ title: 'QA search', section: 'qa', signedInAs: auth.sessionOf(req)?.operator, scripts: ['qa.js'], body }));

  /** A refusal in words, as a page for a browser and as {error, message} for a script. */
  const refuse = (req: FastifyRequest, reply: FastifyReply, status: number, error: string, message: string): FastifyReply => {
    if (!wantsHtml(req)) return reply.code(status).send({ error, message });
    return sendPage(req, reply.code(status), `<h1>Not exported</h1><div id="notice" class="notice error" role="alert">${esc(message)}</div><p><a href="/qa">Back to the search</a></p>`);
  };

  // A mistake in a search or an export request (ajv's or ours) is answered here, in words, on a
  // page when a browser asked; anything else goes on to the server's handler.
  app.setErrorHandler((err, req, reply) => {
    const e = err as { validation?: unknown; message?: string };
    if (!e.validation && !(err instanceof InputError)) throw err;
    const message = err instanceof InputError ? describeError(err) : (e.message ?? 'invalid request');
    if (req.routeOptions.url === '/qa') {
      return sendPage(req, reply.code(400), qaPage({ values: {}, error: message, failing: custody.failing, fullCheck: custody.fullCheck }));
    }
    return refuse(req, reply, 400, 'bad-request', message);
  });

  app.get('/qa', { schema: { hide: true, querystring: SearchQuery } }, async (req, reply) => {
    const q = req.query;
    try {
      const values = searchValues(q);
      const filter = filterOf(values);
      const limit = whole('limit', q.limit, PAGE_SIZE, 1, MAX_PAGE_SIZE);
      const offset = whole('offset', q.offset, 0, 0, 1_000_000_000);
      // With each item's project: this page reads the listed bodies (GET /certificates does not).
      const { total, itemsJson } = certificates.listJson({ ...filter, withProject: true, limit, offset });
      const items = JSON.parse(itemsJson) as CertificateSummary[];
      return sendPage(req, reply, qaPage({ values, result: { total, limit, offset, items }, failing: custody.failing, fullCheck: custody.fullCheck }));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      // The form comes back as typed, with what is wrong above it.
      return sendPage(req, reply.code(400), qaPage({ values: asTyped(q), error: describeError(err), failing: custody.failing, fullCheck: custody.fullCheck }));
    }
  });

  /**
   * What a certificate's export says of its integrity: what verifying its stored bytes just found,
   * or, when they verify, what custody knows against it (a checkpoint it contradicts). Problems
   * found here are recorded, as serving a certificate records them.
   */
  const integrityOf = (id: number, served: Served | undefined): Integrity => {
    if (!served) return missingIntegrity(id);
    if (!served.integrity.valid) {
      custody.record(served.integrity.problems, `exporting certificate ${id}`);
      return served.integrity;
    }
    if (custody.failing.has(id)) return { valid: false, problems: custody.problems.filter((p) => p.certificateId === id) };
    return served.integrity;
  };

  app.get('/qa/export', { schema: { hide: true, querystring: ExportQuery } }, async (req, reply) => {
    const q = req.query;
    const format = q.format as ExportFormat;
    if (!EXPORT_FORMATS.includes(format)) {
      throw new InputError(q.format === undefined ? 'format: say which, csv, jsonl or pdf' : `format: "${q.format}" is not one of csv, jsonl, pdf`, { field: 'format' });
    }
    const cap = EXPORT_LIMITS[format];
    let ids: number[];
    if (q.ids !== undefined) {
      const values = searchValues(q);
      if (Object.keys(values).length > 0) throw new InputError(`give ids or a search (${Object.keys(values).join(', ')}), not both: a selection is exported as selected`, { field: 'ids' });
      ids = selection(q.ids, cap, format);
      const unknown = ids.find((id) => !certificates.exists(id));
      if (unknown !== undefined) return refuse(req, reply, 404, 'not-found', `no certificate ${unknown}: nothing was exported`);
    } else {
      const filter = filterOf(searchValues(q));
      // Counted first (cached until the table changes): a refused export reads no certificate.
      const { total } = certificates.listJson({ ...filter, limit: 1, offset: 0 });
      if (total > cap) {
        return refuse(req, reply, 400, 'too-many', `${total.toLocaleString('en')} certificates match; a ${FORMAT_NAMES[format]} export holds at most ${cap.toLocaleString('en')}: narrow the search (a date range, a bench, a verdict) and export in parts`);
      }
      // The ids now, newest first, as the search lists them: certificates issued while the export
      // runs are not in it, and none is exported twice.
      ids = (JSON.parse(certificates.listJson({ ...filter, limit: cap, offset: 0 }).itemsJson) as { id: number }[]).map((i) => i.id);
    }

    const attachment = (): FastifyReply =>
      reply
        .header('content-disposition', `attachment; filename="${exportFilename(format)}"`)
        .header('cache-control', 'no-store')
        .header('x-mpocert-certificates', String(ids.length))
        .type(CONTENT_TYPES[format]);

    if (format === 'pdf') {
      const items: { certificate: StoredCertificate; integrity: Integrity }[] = [];
      const pause = pacer();
      for (const id of ids) {
        await pause();
        const served = certificates.forServing(id);
        const integrity = integrityOf(id, served);
        const certificate = served?.certificate;
        // The PDF shows a certificate failing verification as such; one whose stored bytes are
        // not even a certificate cannot be laid out at all, and is never silently left out.
        if (!certificate) {
          return refuse(req, reply, 409, 'not-exportable', `certificate ${id} cannot be put in a PDF: ${served ? 'its stored body is not a certificate (it was altered)' : 'it is no longer in the database'}; export it as JSON lines, which carry its stored bytes and its failure`);
        }
        items.push({ certificate, integrity });
      }
      const pdf = await renderExportPdf(items);
      return attachment().send(pdf);
    }

    // Streamed a certificate at a time, as the client reads: memory stays flat at any count.
    const lines = async function* (): AsyncGenerator<Buffer> {
      if (format === 'csv') yield Buffer.from(`${CSV_HEADER}\r\n`);
      let batch: string[] = [];
      const pause = pacer();
      for (const id of ids) {
        await pause();
        const served = certificates.forServing(id);
        const integrity = integrityOf(id, served);
        if (format === 'jsonl') {
          yield jsonLine(id, served, integrity);
          continue;
        }
        batch.push(`${csvRow(id, served, integrity)}\r\n`);
        if (batch.length === 100) {
          yield Buffer.from(batch.join(''));
          batch = [];
        }
      }
      if (batch.length > 0) yield Buffer.from(batch.join(''));
    };
    return attachment().send(Readable.from(lines(), { objectMode: false }));
  });
};
