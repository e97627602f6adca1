import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { HttpDeps } from '../context.js';
import * as S from '../schemas.js';

type Options = Pick<HttpDeps, 'custody' | 'benches' | 'runner' | 'referenceMaxAgeMs' | 'replication'>;

/** GET /status: custody, and each bench's reference, instruments, running jobs and the step it waits for. */
export const statusRoutes: FastifyPluginAsyncTypebox<Options> = async (app, { custody, benches, runner, referenceMaxAgeMs, replication }) => {
  app.get('/status', { schema: { response: { 200: S.StatusReply } } }, async () => ({
    custody: {
      storageLost: custody.checkStorage() ?? null,
      problems: custody.problems.length,
      brokenBenches: [...custody.brokenBenches].map(([bench, why]) => ({ bench, why })),
      fullCheck: custody.fullCheck,
    },
    // Null without `central` in the config: this daemon replicates nothing.
    replication: replication ? replication.status() : null,
    benches: [...benches.values()].map((bench) => {
      const ref = runner.latestReference(bench.id);
      const ageS = ref ? (Date.now() - Date.parse(ref.takenAt)) / 1000 : null;
      return {
        id: bench.id,
        title: bench.config.title ?? bench.id,
        busyWith: runner.busyWith(bench.id) ?? null,
        waitingFor: runner.waitingFor(bench.id) ?? null,
        reference: ref ? { takenAt: ref.takenAt, ageSeconds: Math.round(ageS!), expired: ageS! * 1000 > referenceMaxAgeMs } : null,
        instruments: bench.status(),
        runningJobs: runner.runningJobs().filter((j) => j.benchId === bench.id),
      };
    }),
  }));
};
