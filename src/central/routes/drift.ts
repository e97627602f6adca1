import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { InputError } from '../../errors.js';
import { DEFAULT_DRIFT_THRESHOLD_DB } from '../../evaluation/index.js';
import { cleanText } from '../../http/input.js';
import { driftReport, type CentralDriftReport } from '../drift.js';
import type { HubDeps } from '../hub-context.js';

const Text = Type.Optional(Type.String({ maxLength: 128 }));
export const DriftQuery = Type.Object(
  {
    serial: Text,
    linkId: Text,
    project: Type.Optional(Type.String({ maxLength: 128, description: "a link id names a link within its installer's project" })),
    thresholdDb: Type.Optional(Type.Number({ minimum: 0, maximum: 10, description: `flag changes beyond this (dB); default ${DEFAULT_DRIFT_THRESHOLD_DB}` })),
  },
  { additionalProperties: false },
);

/** The subject a drift request names: exactly one of serial or linkId, trimmed and normalised. */
export function driftSubject(q: { serial?: string | undefined; linkId?: string | undefined; project?: string | undefined }): { kind: 'assembly' | 'link'; id: string; projectId?: string } {
  const serial = q.serial?.trim() || undefined;
  const linkId = q.linkId?.trim() || undefined;
  if ((serial === undefined) === (linkId === undefined)) throw new InputError('give exactly one of serial (an assembly) or linkId (an installed link)', { field: 'serial' });
  const project = q.project?.trim() || undefined;
  return serial !== undefined
    ? { kind: 'assembly', id: cleanText('serial', serial) }
    : { kind: 'link', id: cleanText('linkId', linkId!), ...(project !== undefined ? { projectId: cleanText('project', project) } : {}) };
}

export async function driftFor(deps: Pick<HubDeps, 'pool' | 'trust'>, q: { serial?: string | undefined; linkId?: string | undefined; project?: string | undefined; thresholdDb?: number | undefined }): Promise<CentralDriftReport> {
  return driftReport(deps.pool, deps.trust, driftSubject(q), q.thresholdDb ?? DEFAULT_DRIFT_THRESHOLD_DB);
}

/**
 * GET /drift?serial=|linkId= (and project=): every merged certificate of the subject across
 * benches and sites, oldest first, and per fiber, wavelength and end the loss change between
 * consecutive tests, with the bench that measured each.
 */
export const driftRoutes: FastifyPluginAsyncTypebox<Pick<HubDeps, 'pool' | 'trust'>> = async (app, deps) => {
  app.get('/drift', { schema: { querystring: DriftQuery } }, async (req, reply) => {
    const report = await driftFor(deps, req.query);
    if (report.certificates.length === 0 && report.excluded.length === 0) {
      return reply.code(404).send({ error: 'not-found', message: `no certificate of ${report.subject.kind} ${report.subject.id} in the central store` });
    }
    return report;
  });
};
