import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { InputError, JobRefusedError } from '../../errors.js';
import type { Auth } from '../auth.js';
import type { HttpDeps } from '../context.js';
import { cleanText } from '../input.js';
import * as S from '../schemas.js';

type Options = Pick<HttpDeps, 'runner' | 'users' | 'parseSubject'> & { auth: Auth };

/** POST /jobs (start a certification; with `wait`, reply when it has ended) and GET /jobs/:id. */
export const jobRoutes: FastifyPluginAsyncTypebox<Options> = async (app, { runner, users, parseSubject, auth }) => {
  app.post('/jobs', { onRequest: auth.requireToken, schema: { body: S.JobBody, security: [{ bearer: [] }] } }, async (req, reply) => {
    const raw = req.body;
    const principal = auth.operatorOn(req, raw.bench);
    const body = {
      ...raw,
      ...(raw.serial !== undefined ? { serial: cleanText('serial', raw.serial) } : {}),
      ...(raw.linkId !== undefined ? { linkId: cleanText('linkId', raw.linkId) } : {}),
      ...(raw.product !== undefined ? { product: cleanText('product', raw.product) } : {}),
      ...(raw.project !== undefined ? { project: cleanText('project', raw.project) } : {}),
    };
    // A console session names its person (or the name given at sign-in with the shared token).
    const given = raw.operator === undefined ? auth.sessionOperator(req) : cleanText('operator', raw.operator);
    // A person's token names the operator; only the shared token takes a name from the request.
    if (!principal.shared && given !== undefined && given !== principal.name) {
      throw new InputError(`operator: you are ${principal.name}; a job is recorded under the person whose token started it`);
    }
    if (principal.shared && given === undefined) throw new InputError('operator: with the shared token, name who runs the job');
    // Once people have their own tokens, a job is started by a person: a name typed with the
    // shared token would make anyone able to certify as anyone.
    if (principal.shared && users.hasUsers()) {
      throw new JobRefusedError('FORBIDDEN', 'people on this daemon have their own tokens (mpocert users add): start jobs with yours (MPOCERT_TOKEN), not the shared token', { bench: raw.bench });
    }
    const subject = parseSubject(body);
    const view = runner.start({ benchId: body.bench, operator: principal.shared ? given! : principal.name, authenticatedAs: principal.shared ? 'shared token' : principal.name, subject });
    if (body.wait) {
      const done = await runner.waitFor(view.id);
      return reply.code(200).send(done);
    }
    return reply.code(202).header('location', `/jobs/${view.id}`).send(view);
  });

  app.get('/jobs/:id', { schema: { params: S.JobIdParam } }, async (req, reply) => {
    const { id } = req.params;
    const view = runner.view(id);
    if (!view) return reply.code(404).send({ error: 'not-found', message: `no job ${id}` });
    return view;
  });
};
