import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { JobRefusedError } from '../../errors.js';
import type { Auth } from '../auth.js';
import type { HttpDeps } from '../context.js';
import { cleanText } from '../input.js';
import * as S from '../schemas.js';

/** POST /benches/:id/reference (reference the bench, verifying its cords) and POST /benches/:id/confirm (a manual bench's physical step). */
export const benchRoutes: FastifyPluginAsyncTypebox<Pick<HttpDeps, 'runner'> & { auth: Auth }> = async (app, { runner, auth }) => {
  app.post(
    '/benches/:id/reference',
    {
      onRequest: auth.requireToken,
      // The body is optional (a bare POST references the bench): none at all is an empty object.
      preValidation: async (req) => {
        req.body ??= {};
      },
      schema: { params: S.BenchIdParam, body: S.ReferenceBody, security: [{ bearer: [] }] },
    },
    async (req) => {
      const { id } = req.params;
      const principal = auth.operatorOn(req, id);
      const body = req.body;
      const operator = principal.shared ? (body.operator === undefined ? (auth.sessionOperator(req) ?? 'shared token') : cleanText('operator', body.operator)) : principal.name;
      const acceptDespite = body.acceptDespite === undefined ? undefined : cleanText('acceptDespite', body.acceptDespite);
      // Overriding a plausibility check lowers the baseline every later reference is compared
      // with: a supervisor's decision, not the operator's who took the reference.
      if (acceptDespite !== undefined && principal.role !== 'admin') {
        throw new JobRefusedError('FORBIDDEN', `${principal.name} (${principal.role}) may not accept a reference the plausibility checks refuse: an admin does (acceptDespite)`, { bench: id });
      }
      const { reference: ref, verification } = await runner.reference(id, { operator, acceptDespite });
      return {
        benchId: ref.benchId,
        takenAt: ref.takenAt,
        wavelengthsNm: ref.wavelengthsNm,
        fiberCount: ref.fiberCount,
        powerDbm: ref.powerDbm,
        ...(ref.acceptedDespite ? { acceptedDespite: ref.acceptedDespite } : {}),
        ...(verification ? { cordVerification: { ...verification, maxLossDb: Number.isFinite(verification.maxLossDb) ? verification.maxLossDb : null } } : {}),
      };
    },
  );

  // The person at a manual bench confirms the physical step it is waiting for (a button, or the
  // serial scanned again, which also proves the right assembly is there).
  app.post(
    '/benches/:id/confirm',
    { onRequest: auth.requireToken, schema: { params: S.BenchIdParam, body: S.ConfirmBody, security: [{ bearer: [] }] } },
    async (req) => {
      const { id } = req.params;
      auth.operatorOn(req, id);
      const body = req.body;
      return { confirmed: runner.confirm(id, body.step, body.serial === undefined ? undefined : cleanText('serial', body.serial)) };
    },
  );
};
