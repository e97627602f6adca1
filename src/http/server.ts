import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { describeError, InputError, JobRefusedError, MpocertError } from '../errors.js';
import type { JobRunner } from '../pipeline/job-runner.js';
import type { BenchRuntime } from '../pipeline/bench-runtime.js';
import type { CertificateStore, VerifyProblem } from '../store/certificate-store.js';
import { mayOperate, type Principal, type UserStore } from '../store/user-store.js';
import type { CordStore } from '../store/cord-store.js';
import type { SubjectRequestParser } from '../pipeline/judge-job.js';
import type { DaemonMetrics } from '../daemon/metrics.js';
import { SOFTWARE } from '../pipeline/software.js';
import { renderCertificateCsv, renderIntegrityFailureCsv } from './certificate-csv.js';
import { renderCertificateHtml, renderIntegrityFailure } from './certificate-html.js';

/** Certificate pages run no script and load nothing: stored text can never act in a browser. */
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";
import * as S from './schemas.js';

/** What the HTTP layer shows of the chain of custody (the daemon's Custody satisfies it). */
export interface CustodyView {
  readonly problems: readonly VerifyProblem[];
  readonly failing: ReadonlySet<number>;
  readonly brokenBenches: ReadonlyMap<string, string>;
  readonly fullCheck: { state: string; checked: number; problems: number; seconds?: number };
  readonly checkpoints: { readonly path: string };
  checkStorage(): string | undefined;
  /** Remembers problems found while serving: the bench then issues nothing more, as at start-up. */
  record(problems: readonly VerifyProblem[], where: string): void;
}

export interface HttpDeps {
  users: UserStore;
  benches: Map<string, BenchRuntime>;
  runner: JobRunner;
  certificates: CertificateStore;
  custody: CustodyView;
  parseSubject: SubjectRequestParser;
  token: string;
  logger: Logger;
  referenceMaxAgeMs: number;
  metrics: DaemonMetrics;
  cords: CordStore;
}

const REFUSAL_STATUS: Record<string, number> = {
  FORBIDDEN: 403,
  STORAGE_LOST: 503,
  BENCH_BUSY: 409,
  SHUTTING_DOWN: 503,
  UNKNOWN_BENCH: 404,
};

/** Custody refusals: the store, not the bench or the request, is why. */
const CUSTODY_STATUS: Record<string, number> = {
  STORAGE_LOST: 503,
  CHAIN_BROKEN: 409,
};

/** Maps our typed errors to HTTP: a client error is always 4xx with a message, never a 500. */
function statusFor(err: unknown): number {
  if (err instanceof JobRefusedError) return REFUSAL_STATUS[err.code] ?? 422;
  if (err instanceof InputError) return 400;
  if (err instanceof MpocertError) return CUSTODY_STATUS[err.code] ?? 502; // else an instrument or bench failed, not the request
  return 500;
}

/**
 * Ajv coerces "1e400" to Infinity and lets it through an integer schema (Infinity % 1 is NaN, not
 * non-zero), so numbers from the URL are checked once more before they reach SQLite.
 */
function safeInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value)) throw new InputError(`${name} must be a whole number below 2^53`, { [name]: String(value) });
  return value;
}

function bearerOf(header: string | undefined): string | undefined {
  return /^Bearer (\S+)$/.exec(header ?? '')?.[1];
}

function tokenMatches(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The config's shared token: it may do everything, and certificates say it was nobody in particular. */
const SHARED: Principal = { name: 'shared-token', role: 'admin', benches: '*', shared: true };

/**
 * Text a person reads on a certificate, normalised once (NFC, so the same serial has one
 * spelling), and refused when it cannot be represented faithfully: lone surrogates (no UTF-8 form:
 * a certificate holding one could not verify its own signature) and control characters.
 */
export function cleanText(field: string, value: string): string {
  // \p{Cs} under the u flag matches exactly the unpaired surrogates (pairs are one code point).
  if (/[\p{Cc}\p{Cs}]/u.test(value)) {
    throw new InputError(`${field}: contains a control character or an unpaired surrogate; use printable text`, { field });
  }
  return value.normalize('NFC');
}

/** Adds `"integrity":"FAILED"` to list items whose certificate is known to fail verification. */
function flagFailing(itemsJson: string, failing: ReadonlySet<number>): string {
  const items = JSON.parse(itemsJson) as { id: number }[];
  if (!items.some((i) => failing.has(i.id))) return itemsJson;
  return JSON.stringify(items.map((i) => (failing.has(i.id) ? { ...i, integrity: 'FAILED' } : i)));
}

export async function buildHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: 64 * 1024,
    // Jobs are logged when they end; one line per GET would bury them.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  });

  // Scripts and many HTTP clients send `content-type: application/json` on every POST, body or
  // not. fastify answers an empty JSON body with 400; here it is "no body" instead, so a route
  // that takes none (POST /benches/:id/reference) accepts it, and a route that needs one still
  // refuses it through its schema ("body must be object"). Non-empty bodies go to fastify's own
  // parser (prototype-poisoning protection included).
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if ((body as string).trim() === '') {
      done(null, undefined);
      return;
    }
    jsonParser(req, body as string, done);
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'mpocert', version: SOFTWARE.version, description: 'MPO/MTP fiber certification daemon' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  app.addHook('onResponse', async (req, reply) => {
    deps.metrics.httpLatency.observe(
      { method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  // onRequest, before the body is parsed or validated: an unauthenticated client learns nothing
  // about the schema. Returning the reply ends the request here (fastify's async-hook contract).
  // A token is the config's shared one or a person's (mpocert users add); the person is recorded.
  const principals = new WeakMap<FastifyRequest, Principal>();
  const requireToken = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const token = bearerOf(req.headers.authorization);
    const principal = token === undefined ? undefined : tokenMatches(token, deps.token) ? SHARED : deps.users.authenticate(token);
    if (principal) {
      principals.set(req, principal);
      return undefined;
    }
    return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'a valid bearer token is required for writes' });
  };
  /** The authenticated person, allowed to operate on this bench, or a 403 naming what is missing. */
  const operatorOn = (req: FastifyRequest, benchId: string): Principal => {
    const p = principals.get(req)!;
    if (!mayOperate(p, benchId)) {
      throw new JobRefusedError('FORBIDDEN', `${p.name} (${p.role}) may not reference or certify on bench "${benchId}"`, { bench: benchId });
    }
    return p;
  };

  app.setErrorHandler((err: unknown, req, reply) => {
    const e = err as { validation?: unknown; statusCode?: number; message?: string; code?: string };
    if (e.validation) {
      return reply.code(400).send({ error: 'bad-request', message: e.message ?? 'invalid request' });
    }
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.code(e.statusCode).send({ error: 'bad-request', message: e.message ?? 'bad request' });
    }
    const status = statusFor(err);
    if (status >= 500) req.log.error({ err }, 'request failed');
    return reply.code(status).send({
      error: err instanceof MpocertError ? err.code : 'internal',
      message: status === 500 && !(err instanceof MpocertError) ? 'internal error; see the daemon log' : describeError(err),
    });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: 'not-found', message: `no route ${req.method} ${req.url}` }));

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) =>
    reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  );

  app.get('/healthz', { schema: { response: { 200: S.Health, 503: S.ErrorReply } } }, async (_req, reply) => {
    const lost = deps.custody.checkStorage();
    if (lost) return reply.code(503).send({ error: 'STORAGE_LOST', message: `${lost}: accepting no more jobs` });
    return { status: 'ok' as const };
  });

  // The signed checkpoints, for QA to keep: with them, a removed certificate cannot go unnoticed.
  app.get('/checkpoints', { schema: { hide: false } }, async (_req, reply) => {
    const text = existsSync(deps.custody.checkpoints.path) ? readFileSync(deps.custody.checkpoints.path, 'utf8') : '';
    return reply.type('application/x-ndjson; charset=utf-8').send(text);
  });

  app.get('/status', { schema: { response: { 200: S.StatusReply } } }, async () => ({
    custody: {
      storageLost: deps.custody.checkStorage() ?? null,
      problems: deps.custody.problems.length,
      brokenBenches: [...deps.custody.brokenBenches].map(([bench, why]) => ({ bench, why })),
      fullCheck: deps.custody.fullCheck,
    },
    benches: [...deps.benches.values()].map((bench) => {
      const ref = deps.runner.latestReference(bench.id);
      const ageS = ref ? (Date.now() - Date.parse(ref.takenAt)) / 1000 : null;
      return {
        id: bench.id,
        title: bench.config.title ?? bench.id,
        busyWith: deps.runner.busyWith(bench.id) ?? null,
        waitingFor: deps.runner.waitingFor(bench.id) ?? null,
        reference: ref ? { takenAt: ref.takenAt, ageSeconds: Math.round(ageS!), expired: ageS! * 1000 > deps.referenceMaxAgeMs } : null,
        instruments: bench.status(),
        runningJobs: deps.runner.runningJobs().filter((j) => j.benchId === bench.id),
      };
    }),
  }));

  // The trusted keys (from the trusted keys file, never from the database), with how each came to be trusted.
  app.get('/signing-keys', { schema: { response: { 200: S.SigningKeys } } }, async () => ({ keys: deps.certificates.trustedKeys() }));

  app.get('/certificates', { schema: { querystring: S.CertificateQuery, response: { 200: S.CertificateList } } }, async (req, reply) => {
    const q = req.query as S.CertificateQueryT;
    safeInteger(q.limit, 'limit');
    safeInteger(q.offset, 'offset');
    const { total, itemsJson } = deps.certificates.listJson({
      serial: q.serial,
      linkId: q.linkId,
      verdict: q.verdict,
      benchId: q.bench,
      limitSetId: q.limitSet,
      issuedFrom: q.from,
      issuedTo: q.to,
      limit: q.limit,
      offset: q.offset,
    });
    // The items come from SQLite as JSON already (the list's cost was building and serialising
    // 500 values per page); the response schema documents the shape, a test pins it.
    // Items are read from the signed bodies but not verified one by one (that is the background
    // check's job): those it, start-up or serving found failing are flagged here.
    const items = deps.custody.failing.size === 0 ? itemsJson : flagFailing(itemsJson, deps.custody.failing);
    return reply.type('application/json; charset=utf-8').send(`{"total":${total},"limit":${q.limit},"offset":${q.offset},"items":${items}}`);
  });

  app.get('/certificates/:id', { schema: { params: S.IdParam, querystring: S.FormatQuery } }, async (req, reply) => {
    const id = certificateId(req.params);
    const format = (req.query as { format?: string }).format ?? negotiate(req.headers.accept);
    const served = deps.certificates.forServing(id);
    if (!served) return reply.code(404).send({ error: 'not-found', message: `no certificate ${id}` });
    const { integrity } = served;
    // Every certificate is verified as it is served; one whose stored bytes fail is served flagged.
    reply.header('x-mpocert-integrity', integrity.valid ? 'valid' : 'FAILED');
    if (!integrity.valid) deps.custody.record(integrity.problems, `serving certificate ${id}`);
    if (format === 'json') {
      // The stored canonical JSON goes out as it is: it is exactly what was signed.
      if (served.json) return reply.type('application/json; charset=utf-8').send(served.json);
      // The stored body is not even JSON: say so, and show the bytes as they are.
      return reply.type('application/json; charset=utf-8').send({ id, integrity, storedBody: served.storedBody });
    }
    const cert = integrity.valid ? served.certificate : undefined;
    if (!cert) {
      // A certificate failing verification is never rendered from its (untrusted) content: the
      // notice, the problems and the stored bytes, escaped.
      return format === 'html'
        ? reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP).send(renderIntegrityFailure(id, integrity, served.storedBody))
        : reply.type('text/csv; charset=utf-8').send(renderIntegrityFailureCsv(id, integrity));
    }
    if (format === 'html') return reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP).send(renderCertificateHtml(cert, integrity));
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="certificate-${cert.id}.csv"`)
      .send(renderCertificateCsv(cert, integrity));
  });

  app.get('/certificates/:id/verify', { schema: { params: S.IdParam, response: { 200: S.VerifyReply, 404: S.ErrorReply } } }, async (req, reply) => {
    const id = certificateId(req.params);
    if (!deps.certificates.exists(id)) return reply.code(404).send({ error: 'not-found', message: `no certificate ${id}` });
    const result = deps.certificates.verify({ id });
    deps.custody.record(result.problems, `verifying certificate ${id}`);
    return { id, valid: result.problems.length === 0, problems: result.problems };
  });

  app.post('/jobs', { onRequest: requireToken, schema: { body: S.JobBody, security: [{ bearer: [] }] } }, async (req, reply) => {
    const raw = req.body as S.JobBodyT;
    const principal = operatorOn(req, raw.bench);
    const body = {
      ...raw,
      ...(raw.serial !== undefined ? { serial: cleanText('serial', raw.serial) } : {}),
      ...(raw.linkId !== undefined ? { linkId: cleanText('linkId', raw.linkId) } : {}),
      ...(raw.product !== undefined ? { product: cleanText('product', raw.product) } : {}),
    };
    const given = raw.operator === undefined ? undefined : cleanText('operator', raw.operator);
    // A person's token names the operator; only the shared token takes a name from the request.
    if (!principal.shared && given !== undefined && given !== principal.name) {
      throw new InputError(`operator: you are ${principal.name}; a job is recorded under the person whose token started it`);
    }
    if (principal.shared && given === undefined) throw new InputError('operator: with the shared token, name who runs the job');
    // Once people have their own tokens, a job is started by a person: a name typed with the
    // shared token would make anyone able to certify as anyone.
    if (principal.shared && deps.users.hasUsers()) {
      throw new JobRefusedError('FORBIDDEN', 'people on this daemon have their own tokens (mpocert users add): start jobs with yours (MPOCERT_TOKEN), not the shared token', { bench: raw.bench });
    }
    const subject = deps.parseSubject(body);
    const view = deps.runner.start({ benchId: body.bench, operator: principal.shared ? given! : principal.name, authenticatedAs: principal.shared ? 'shared token' : principal.name, subject });
    if (body.wait) {
      const done = await deps.runner.waitFor(view.id);
      return reply.code(200).send(done);
    }
    return reply.code(202).header('location', `/jobs/${view.id}`).send(view);
  });

  app.get('/jobs/:id', { schema: { params: S.JobIdParam } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const view = deps.runner.view(id);
    if (!view) return reply.code(404).send({ error: 'not-found', message: `no job ${id}` });
    return view;
  });

  app.post(
    '/benches/:id/reference',
    {
      onRequest: requireToken,
      // The body is optional (a bare POST references the bench): none at all is an empty object.
      preValidation: async (req) => {
        req.body ??= {};
      },
      schema: { params: S.BenchIdParam, body: S.ReferenceBody, security: [{ bearer: [] }] },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const principal = operatorOn(req, id);
      const body = req.body as NonNullable<S.ReferenceBodyT>;
      const operator = principal.shared ? (body.operator === undefined ? 'shared token' : cleanText('operator', body.operator)) : principal.name;
      const acceptDespite = body.acceptDespite === undefined ? undefined : cleanText('acceptDespite', body.acceptDespite);
      // Overriding a plausibility check lowers the baseline every later reference is compared
      // with: a supervisor's decision, not the operator's who took the reference.
      if (acceptDespite !== undefined && principal.role !== 'admin') {
        throw new JobRefusedError('FORBIDDEN', `${principal.name} (${principal.role}) may not accept a reference the plausibility checks refuse: an admin does (acceptDespite)`, { bench: id });
      }
      const { reference: ref, verification } = await deps.runner.reference(id, { operator, acceptDespite });
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
    { onRequest: requireToken, schema: { params: S.BenchIdParam, body: S.ConfirmBody, security: [{ bearer: [] }] } },
    async (req) => {
      const { id } = req.params as { id: string };
      operatorOn(req, id);
      const body = req.body as S.ConfirmBodyT;
      return { confirmed: deps.runner.confirm(id, body.step, body.serial === undefined ? undefined : cleanText('serial', body.serial)) };
    },
  );

  app.get('/benches/:id/cords', { schema: { params: S.BenchIdParam, response: { 200: S.CordList, 404: S.ErrorReply } } }, async (req, reply) => {
    const bench = deps.benches.get((req.params as { id: string }).id);
    if (!bench) return reply.code(404).send({ error: 'not-found', message: `no bench ${(req.params as { id: string }).id}` });
    const c = bench.config.testCords;
    const roles = [['launchCord', c.launchCord], ['receiveCord', c.receiveCord], ['benchPort', c.benchPort]] as const;
    return {
      cords: roles
        .filter(([, cord]) => cord !== undefined)
        .map(([role, cord]) => {
          const v = deps.cords.latestVerification(cord!.id, bench.id);
          return {
            role,
            ...deps.cords.get(cord!.id),
            connector: cord!.connector,
            verification: v ? { ...v, maxLossDb: Number.isFinite(v.maxLossDb) ? v.maxLossDb : null } : null,
          };
        }),
    };
  });

  return app;
}

/** Ids in URLs are plain decimal (the schema's pattern): /certificates/0x1 and /01 name nothing. */
function certificateId(params: unknown): number {
  return safeInteger(Number((params as { id: string }).id), 'id');
}


function negotiate(accept: string | undefined): 'json' | 'html' | 'csv' {
  if (!accept) return 'json';
  if (accept.includes('text/html')) return 'html';
  if (accept.includes('text/csv')) return 'csv';
  return 'json';
}
