import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { renderCertificateCsv, renderIntegrityFailureCsv } from '../certificate-csv.js';
import { renderCertificateHtml, renderIntegrityFailure } from '../certificate-html.js';
import { renderCertificatePdf, renderIntegrityFailurePdf } from '../pdf/certificate-pdf.js';
import type { HttpDeps } from '../context.js';
import { safeInteger } from '../input.js';
import * as S from '../schemas.js';

/** Certificate pages run no script and load nothing: stored text can never act in a browser. */
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/** Adds `"integrity":"FAILED"` to list items whose certificate is known to fail verification. */
function flagFailing(itemsJson: string, failing: ReadonlySet<number>): string {
  const items = JSON.parse(itemsJson) as { id: number }[];
  if (!items.some((i) => failing.has(i.id))) return itemsJson;
  return JSON.stringify(items.map((i) => (failing.has(i.id) ? { ...i, integrity: 'FAILED' } : i)));
}

/** Ids in URLs are plain decimal (the schema's pattern): /certificates/0x1 and /01 name nothing. */
function certificateId(id: string): number {
  return safeInteger(Number(id), 'id');
}

type Format = 'json' | 'html' | 'csv' | 'pdf';
/** The media types GET /certificates/:id serves, in the order that wins at equal q. */
const SERVED = new Map<string, Format>([
  ['text/html', 'html'],
  ['text/csv', 'csv'],
  ['application/pdf', 'pdf'],
  ['application/json', 'json'],
]);
const PREFERENCE: readonly Format[] = [...SERVED.values()];

/**
 * The format an Accept header asks for: the listed type we serve with the highest q (q=0 means
 * "not this"); at equal q html, csv, pdf, then json, as the header was read before q counted, so
 * every header without q values still gets what it got. JSON when nothing listed is served.
 */
function negotiate(accept: string | undefined): Format {
  if (!accept) return 'json';
  let best: { format: Format; q: number } | undefined;
  for (const range of accept.split(',')) {
    const [type = '', ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    const format = SERVED.get(type);
    if (!format) continue;
    const q = Number(params.find((p) => p.startsWith('q='))?.slice(2) ?? 1);
    if (!(q > 0)) continue;
    if (!best || q > best.q || (q === best.q && PREFERENCE.indexOf(format) < PREFERENCE.indexOf(best.format))) best = { format, q };
  }
  return best?.format ?? 'json';
}

/**
 * GET /certificates (the list, filtered), GET /certificates/:id (JSON as signed, an HTML page or
 * CSV; verified as served) and GET /certificates/:id/verify.
 */
export const certificateRoutes: FastifyPluginAsyncTypebox<Pick<HttpDeps, 'certificates' | 'custody'>> = async (app, { certificates, custody }) => {
  app.get('/certificates', { schema: { querystring: S.CertificateQuery, response: { 200: S.sentAsText(S.CertificateList) } } }, async (req, reply) => {
    const q = req.query;
    safeInteger(q.limit, 'limit');
    safeInteger(q.offset, 'offset');
    const { total, itemsJson } = certificates.listJson({
      serial: q.serial,
      linkId: q.linkId,
      verdict: q.verdict,
      benchId: q.bench,
      limitSetId: q.limitSet,
      projectId: q.project,
      issuedFrom: q.from,
      issuedTo: q.to,
      limit: q.limit,
      offset: q.offset,
    });
    // The items come from SQLite as JSON already (the list's cost was building and serialising
    // 500 values per page); the response schema documents the shape, a test pins it.
    // Items are read from the signed bodies but not verified one by one (that is the background
    // check's job): those it, start-up or serving found failing are flagged here.
    const items = custody.failing.size === 0 ? itemsJson : flagFailing(itemsJson, custody.failing);
    return reply.type('application/json; charset=utf-8').send(`{"total":${total},"limit":${q.limit},"offset":${q.offset},"items":${items}}`);
  });

  app.get('/certificates/:id', { schema: { params: S.IdParam, querystring: S.FormatQuery } }, async (req, reply) => {
    const id = certificateId(req.params.id);
    const format = req.query.format ?? negotiate(req.headers.accept);
    const served = certificates.forServing(id);
    if (!served) return reply.code(404).send({ error: 'not-found', message: `no certificate ${id}` });
    const { integrity } = served;
    // Every certificate is verified as it is served; one whose stored bytes fail is served flagged.
    reply.header('x-mpocert-integrity', integrity.valid ? 'valid' : 'FAILED');
    if (!integrity.valid) custody.record(integrity.problems, `serving certificate ${id}`);
    if (format === 'json') {
      // The stored canonical JSON goes out as it is: it is exactly what was signed.
      if (served.json) return reply.type('application/json; charset=utf-8').send(served.json);
      // The stored body is not even JSON: say so, and show the bytes as they are.
      return reply.type('application/json; charset=utf-8').send({ id, integrity, storedBody: served.storedBody });
    }
    const pdf = async (render: () => Promise<Buffer>) =>
      reply
        .type('application/pdf')
        .header('content-disposition', `inline; filename="certificate-${id}.pdf"`)
        .send(await render());
    const cert = integrity.valid ? served.certificate : undefined;
    if (!cert) {
      // A certificate failing verification is never rendered from its (untrusted) content: the
      // notice, the problems and (HTML) the stored bytes, escaped; the PDF says only that it failed and why.
      if (format === 'pdf') return pdf(() => renderIntegrityFailurePdf(id, integrity));
      return format === 'html'
        ? reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP).send(renderIntegrityFailure(id, integrity, served.storedBody))
        : reply.type('text/csv; charset=utf-8').send(renderIntegrityFailureCsv(id, integrity));
    }
    if (format === 'html') return reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP).send(renderCertificateHtml(cert, integrity));
    if (format === 'pdf') return pdf(() => renderCertificatePdf(cert, integrity));
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="certificate-${cert.id}.csv"`)
      .send(renderCertificateCsv(cert, integrity));
  });

  app.get('/certificates/:id/verify', { schema: { params: S.IdParam, response: { 200: S.VerifyReply, 404: S.ErrorReply } } }, async (req, reply) => {
    const id = certificateId(req.params.id);
    if (!certificates.exists(id)) return reply.code(404).send({ error: 'not-found', message: `no certificate ${id}` });
    const result = certificates.verify({ id });
    custody.record(result.problems, `verifying certificate ${id}`);
    return { id, valid: result.problems.length === 0, problems: result.problems };
  });
};
