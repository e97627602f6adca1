import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { renderCertificateCsv, renderIntegrityFailureCsv } from '../../http/certificate-csv.js';
import { renderCertificateHtml, renderIntegrityFailure } from '../../http/certificate-html.js';
import { renderCertificatePdf, renderIntegrityFailurePdf } from '../../http/pdf/certificate-pdf.js';
import { serve, summaryOf, verifyRow, type ServedCertificate } from '../certificate-rows.js';
import type { HubDeps } from '../hub-context.js';
import { rowsByUuid, searchPage } from '../search.js';

/** Certificate pages run no script and load nothing (as on a bench): stored text can never act in a browser. */
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const IsoDate = {
  pattern: '^\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2})?)?$',
};

export const CertificateQuery = Type.Object(
  {
    serial: Type.Optional(Type.String({ maxLength: 128 })),
    linkId: Type.Optional(Type.String({ maxLength: 128 })),
    project: Type.Optional(Type.String({ maxLength: 128 })),
    verdict: Type.Optional(Type.Union(['PASS', 'MARGINAL', 'FAIL', 'INVALID'].map((v) => Type.Literal(v)))),
    bench: Type.Optional(Type.String({ maxLength: 64 })),
    site: Type.Optional(Type.String({ maxLength: 64 })),
    limitSet: Type.Optional(Type.String({ maxLength: 128, description: 'the limit set id that judged it' })),
    from: Type.Optional(Type.String({ ...IsoDate, description: 'issued at or after (ISO date or date-time, UTC; inclusive)' })),
    to: Type.Optional(Type.String({ ...IsoDate, description: 'issued before (exclusive)' })),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
    offset: Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 }),
  },
  { additionalProperties: false },
);

export const UuidParam = Type.Object({ uuid: Type.String({ format: 'uuid', description: "the certificate's uuid (as signed)" }) });

type Format = 'json' | 'html' | 'csv' | 'pdf';
const FormatQuery = Type.Object({ format: Type.Optional(Type.Union(['json', 'html', 'csv', 'pdf'].map((f) => Type.Literal(f)))) }, { additionalProperties: false });

/** The format an Accept header asks for when no ?format= is given: the first type we serve that it lists, else JSON. */
function negotiate(accept: string | undefined): Format {
  const types: [string, Format][] = [['text/html', 'html'], ['text/csv', 'csv'], ['application/pdf', 'pdf']];
  for (const [type, format] of types) if ((accept ?? '').includes(type)) return format;
  return 'json';
}

/**
 * GET /certificates (search over every site and bench, newest first, each item verified as read),
 * GET /certificates/:uuid (the JSON exactly as the bench serves it, or its HTML page, CSV or PDF
 * through the bench's own renderers; verified as served against QA's pinned keys) and
 * GET /certificates/:uuid/verify.
 */
export const certificateRoutes: FastifyPluginAsyncTypebox<Pick<HubDeps, 'pool' | 'trust'>> = async (app, { pool, trust }) => {
  app.get('/certificates', { schema: { querystring: CertificateQuery } }, async (req) => {
    const q = req.query;
    const { total, rows } = await searchPage(
      pool,
      { serial: q.serial, linkId: q.linkId, projectId: q.project, verdict: q.verdict, benchId: q.bench, site: q.site, limitSetId: q.limitSet, issuedFrom: q.from, issuedTo: q.to },
      q.limit,
      q.offset,
    );
    return { total, limit: q.limit, offset: q.offset, items: rows.map((r) => summaryOf(r, verifyRow(r, trust))) };
  });

  const load = async (uuid: string): Promise<ServedCertificate | undefined> => {
    const row = (await rowsByUuid(pool, [uuid.toLowerCase()]))[0];
    return row ? serve(row, trust) : undefined;
  };

  app.get('/certificates/:uuid', { schema: { params: UuidParam, querystring: FormatQuery } }, async (req, reply) => {
    const format = (req.query.format as Format | undefined) ?? negotiate(req.headers.accept);
    const served = await load(req.params.uuid);
    if (!served) return reply.code(404).send({ error: 'not-found', message: `no certificate ${req.params.uuid} in the central store` });
    const { integrity, row } = served;
    const id = Number(row.id_on_bench);
    reply
      .header('x-mpocert-integrity', integrity.valid ? 'valid' : 'FAILED')
      .header('x-mpocert-site', row.site)
      .header('x-mpocert-bench', row.bench_id)
      .header('x-mpocert-bench-sequence', row.bench_seq);
    if (format === 'json') {
      if (served.json) return reply.type('application/json; charset=utf-8').send(served.json);
      return reply.type('application/json; charset=utf-8').send({ id, uuid: row.uuid, integrity, storedBody: served.storedBody });
    }
    const pdf = async (render: () => Promise<Buffer>): Promise<FastifyReply> =>
      reply.type('application/pdf').header('content-disposition', `inline; filename="certificate-${row.uuid}.pdf"`).send(await render());
    const cert = served.certificate;
    if (!cert) {
      // Never rendered from content that failed verification: the notice and the problems only.
      if (format === 'pdf') return pdf(() => renderIntegrityFailurePdf(id, integrity));
      return format === 'html'
        ? reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP).send(renderIntegrityFailure(id, integrity, served.storedBody))
        : reply.type('text/csv; charset=utf-8').send(renderIntegrityFailureCsv(id, integrity));
    }
    if (format === 'html') {
      // The bench's page links to the certificate by its id on the bench; here it is found by its uuid.
      const html = renderCertificateHtml(cert, integrity).split(`href="/certificates/${cert.id}`).join(`href="/certificates/${cert.uuid}`);
      return reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP).send(html);
    }
    if (format === 'pdf') return pdf(() => renderCertificatePdf(cert, integrity));
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="certificate-${cert.uuid}.csv"`).send(renderCertificateCsv(cert, integrity));
  });

  app.get('/certificates/:uuid/verify', { schema: { params: UuidParam } }, async (req, reply) => {
    const served = await load(req.params.uuid);
    if (!served) return reply.code(404).send({ error: 'not-found', message: `no certificate ${req.params.uuid} in the central store` });
    const { row, integrity } = served;
    return { uuid: row.uuid, site: row.site, benchId: row.bench_id, benchSequence: Number(row.bench_seq), idOnBench: Number(row.id_on_bench), valid: integrity.valid, problems: integrity.problems };
  });
};
