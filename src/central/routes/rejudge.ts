import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { InputError } from '../../errors.js';
import { cleanText } from '../../http/input.js';
import { requireBearer } from '../hub-auth.js';
import type { HubDeps } from '../hub-context.js';
import { getRejudgement, listRejudgements, REJUDGE_LIMIT, runRejudgement, type RejudgementSummary } from '../rejudgements.js';
import { hubFilterOf, hubSearchValues, HUB_SEARCH_FIELDS } from '../search-query.js';

const Text = Type.Optional(Type.String({ maxLength: 1024 }));
const Filters = Type.Object(
  { serial: Text, linkId: Text, project: Text, verdict: Text, site: Text, bench: Text, limitSet: Text, from: Text, to: Text },
  { additionalProperties: false, description: "the QA search's fields (dates: whole days in UTC, both included); {} selects everything" },
);
const Version = Type.String({ minLength: 1, maxLength: 32, pattern: '^[0-9]+(\\.[0-9]+)*$' });

export const RejudgeBody = Type.Object(
  {
    limitSet: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }), version: Version }, { additionalProperties: false, description: 'the limit set version to judge against' }),
    filters: Type.Optional(Filters),
    uuids: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: REJUDGE_LIMIT, description: 'exactly these certificates, instead of filters' })),
    by: Type.String({ minLength: 1, maxLength: 128, description: 'who asks for it (kept with the re-judgement)' }),
  },
  { additionalProperties: false },
);

export const RejudgementParam = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,15}$' }) });

export interface RejudgeInput {
  limitSet: { id: string; version: string };
  filters?: Record<string, string | undefined> | undefined;
  uuids?: readonly string[] | undefined;
  by: string;
}

/** Validates a re-judge request (API or form) and runs it; resolves with the new record's id. */
export async function startRejudgement(deps: Pick<HubDeps, 'pool' | 'trust' | 'library'>, input: RejudgeInput): Promise<{ id: number; summary: RejudgementSummary }> {
  if ((input.filters === undefined) === (input.uuids === undefined)) {
    throw new InputError("select the certificates with filters (the QA search's fields; {} for all) or uuids, one of the two", { field: 'filters' });
  }
  const by = cleanText('by', input.by.trim());
  if (by === '') throw new InputError('by: say who asks for the re-judgement', { field: 'by' });
  const target = { id: cleanText('limitSet.id', input.limitSet.id.trim()), version: input.limitSet.version.trim() };
  if (input.uuids !== undefined) {
    const uuids = input.uuids.map((u) => u.toLowerCase());
    return runRejudgement(deps.pool, deps.trust, deps.library, { filter: {}, uuids, selection: { uuids }, target, by });
  }
  const values = hubSearchValues(input.filters ?? {});
  const filter = hubFilterOf(values);
  const selection = Object.fromEntries(HUB_SEARCH_FIELDS.flatMap((f) => (values[f] !== undefined ? [[f, values[f]]] : [])));
  return runRejudgement(deps.pool, deps.trust, deps.library, { filter, selection, target, by });
}

/**
 * POST /rejudge (bearer token): re-evaluates the selected certificates' stored tests against a
 * limit set version, changing none of them, and keeps the report as a record of its own; replies
 * with its id. GET /rejudgements (the newest) and GET /rejudgements/:id (one, with its report).
 */
export const rejudgeRoutes: FastifyPluginAsyncTypebox<Pick<HubDeps, 'pool' | 'trust' | 'library' | 'token'>> = async (app, deps) => {
  app.post('/rejudge', { onRequest: requireBearer(deps.token), schema: { body: RejudgeBody } }, async (req, reply) => {
    const { id, summary } = await startRejudgement(deps, req.body);
    return reply.code(201).header('location', `/rejudgements/${id}`).send({ id, url: `/rejudgements/${id}`, summary });
  });

  app.get('/rejudgements', async () => ({ rejudgements: await listRejudgements(deps.pool) }));

  app.get('/rejudgements/:id', { schema: { params: RejudgementParam } }, async (req, reply) => {
    const r = await getRejudgement(deps.pool, Number(req.params.id));
    if (!r) return reply.code(404).send({ error: 'not-found', message: `no re-judgement ${req.params.id}` });
    return r;
  });
};
