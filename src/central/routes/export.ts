import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Readable } from 'node:stream';
import { InputError } from '../../errors.js';
import { csvCell, exportFilename, integrityText } from '../../http/qa-export.js';
import type { Integrity } from '../../store/certificate-store.js';
import { serve } from '../certificate-rows.js';
import type { HubDeps } from '../hub-context.js';
import { countMatching, matchingUuids, rowsInBatches } from '../search.js';
import { hubFilterOf, hubSearchValues } from '../search-query.js';

/** Lenient lengths: the handler checks each field and answers in words (search-query.ts). */
const Text = Type.Optional(Type.String({ maxLength: 1024 }));
export const ExportQuery = Type.Object(
  {
    serial: Text,
    linkId: Text,
    project: Text,
    verdict: Text,
    site: Text,
    bench: Text,
    limitSet: Text,
    from: Text,
    to: Text,
    format: Text,
    uuids: Type.Optional(Type.String({ maxLength: 400_000, description: 'comma-separated certificate uuids instead of a search' })),
  },
  { additionalProperties: false },
);

const FORMATS = ['csv', 'jsonl'] as const;
type Format = (typeof FORMATS)[number];

export const HUB_CSV_COLUMNS = ['uuid', 'site', 'bench', 'bench_sequence', 'id_on_bench', 'issued_at', 'subject_kind', 'serial', 'link_id', 'project', 'verdict', 'limit_set_id', 'limit_set_version', 'integrity'] as const;

/** QA's exports across sites are larger than a bench's (the comment on exportRoutes says how they stay flat). */
const HUB_EXPORT_LIMITS: Record<Format, number> = { csv: 200_000, jsonl: 100_000 };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * GET /export?format=csv|jsonl with the QA search's fields (dates as whole days, both included,
 * as on the search page) or `uuids`: every matching certificate, each read and verified as it is
 * exported, one that fails exported with its failure, never left out. CSV: one row per certificate,
 * formula-safe (the bench's csvCell); JSON lines: each certificate exactly as GET
 * /certificates/:uuid serves it (the bench's reply: the signed canonical JSON and what verifying it
 * found). QA exports across sites are larger than a bench's: at most 200,000 as CSV and 100,000 as
 * JSON lines (both streamed in batches of 100, memory flat; the selection's uuids are held, 7 MB
 * at the cap); above that it is refused with the count.
 */
export const exportRoutes: FastifyPluginAsyncTypebox<Pick<HubDeps, 'pool' | 'trust'>> = async (app, { pool, trust }) => {
  app.get('/export', { schema: { querystring: ExportQuery } }, async (req, reply) => {
    const q = req.query;
    const format = q.format as Format;
    if (!FORMATS.includes(format)) throw new InputError(q.format === undefined ? 'format: say which, csv or jsonl' : `format: "${q.format}" is not one of csv, jsonl`, { field: 'format' });
    const cap = HUB_EXPORT_LIMITS[format];
    let uuids: string[];
    if (q.uuids !== undefined) {
      uuids = [...new Set(q.uuids.split(',').map((u) => u.trim().toLowerCase()).filter((u) => u !== ''))];
      const bad = uuids.find((u) => !UUID.test(u));
      if (bad !== undefined) throw new InputError(`uuids: "${bad}" is not a certificate uuid`, { field: 'uuids' });
      if (uuids.length === 0) throw new InputError('uuids: name at least one certificate', { field: 'uuids' });
      if (uuids.length > cap) throw new InputError(`${uuids.length} certificates selected; an export holds at most ${cap.toLocaleString('en')}: export them in parts`, { field: 'uuids' });
    } else {
      const filter = hubFilterOf(hubSearchValues(q));
      const total = await countMatching(pool, filter);
      if (total > cap) {
        return reply.code(400).send({ error: 'too-many', message: `${total.toLocaleString('en')} certificates match; an export holds at most ${cap.toLocaleString('en')}: narrow the search (a date range, a site, a bench) and export in parts` });
      }
      uuids = await matchingUuids(pool, filter, cap);
    }
    const lines = async function* (): AsyncGenerator<Buffer> {
      if (format === 'csv') yield Buffer.from(`${HUB_CSV_COLUMNS.join(',')}\r\n`);
      for await (const { uuid, row } of rowsInBatches(pool, uuids)) {
        if (!row) {
          // Named in the selection (or matched when the export began) and not in the store now.
          const integrity: Integrity = { valid: false, problems: [{ certificateId: 0, problem: 'missing', detail: `certificate ${uuid} is not in the central store` }] };
          yield Buffer.from(format === 'jsonl' ? `${JSON.stringify({ uuid, integrity })}\n` : `${[uuid, ...Array<null>(12).fill(null), integrityText(integrity)].map(csvCell).join(',')}\r\n`);
          continue;
        }
        const served = serve(row, trust);
        if (format === 'jsonl') {
          yield served.json ? Buffer.concat([served.json, Buffer.from('\n')]) : Buffer.from(`${JSON.stringify({ id: Number(row.id_on_bench), uuid: row.uuid, integrity: served.integrity, storedBody: served.storedBody })}\n`);
          continue;
        }
        const cells = [row.uuid, row.site, row.bench_id, Number(row.bench_seq), Number(row.id_on_bench), row.issued_at, row.subject_kind, row.serial, row.link_id, row.project_id, row.verdict, row.limit_set_id, row.limit_set_version, integrityText(served.integrity)];
        yield Buffer.from(`${cells.map(csvCell).join(',')}\r\n`);
      }
    };
    return reply
      .header('content-disposition', `attachment; filename="${exportFilename(format)}"`)
      .header('cache-control', 'no-store')
      .header('x-mpocert-certificates', String(uuids.length))
      .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/jsonl; charset=utf-8')
      .send(Readable.from(lines(), { objectMode: false }));
  });
};
