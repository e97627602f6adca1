import { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer, type HttpDeps } from '../../src/http/server.js';
import type { CertificateFilter } from '../../src/store/certificate-store.js';

/**
 * The route plugins in-process, on fakes: what ajv refuses is still a 400 with the one error body
 * shape ({ error, message }) now that handlers read typed params, query and body; a write is
 * refused for want of a token before its body is validated; and what a handler receives is what
 * its schema says (coerced numbers, defaults, an absent body as {}).
 */
const TOKEN = 'routes-test-token-0123456789';
const OPERATOR_TOKEN = 'operator-token-0123456789';

const calls: { list: CertificateFilter[]; reference: { bench: string; operator: string | undefined }[]; confirm: unknown[][]; routes: string[] } = {
  list: [],
  reference: [],
  confirm: [],
  routes: [],
};
const refused = (what: string) => (): never => {
  throw new Error(`the test did not expect ${what}`);
};

function deps(): HttpDeps {
  return {
    token: TOKEN,
    logger: pino({ level: 'silent' }),
    referenceMaxAgeMs: 3_600_000,
    users: {
      authenticate: (token) => (token === OPERATOR_TOKEN ? { name: 'op1', role: 'operator', benches: ['b1'], shared: false } : undefined),
      hasUsers: () => true,
    },
    benches: new Map(),
    jobEvents: new EventEmitter(),
    runner: {
      latestReference: () => undefined,
      busyWith: () => undefined,
      waitingFor: () => undefined,
      runningJobs: () => [],
      start: refused('a job to start'),
      waitFor: refused('a job to be waited for'),
      view: () => undefined,
      reference: async (bench, request = {}) => {
        calls.reference.push({ bench, operator: request.operator });
        return { reference: { benchId: bench, takenAt: '2026-11-30T08:00:00.000Z', method: 'switch-and-meter', fiberCount: 12, wavelengthsNm: [850], powerDbm: { '850': [-20] }, instruments: [], launchCordId: null, channelOffset: 0 } };
      },
      confirm: (bench, step, serial) => {
        calls.confirm.push([bench, step, serial]);
        return { id: 'turn-assembly', instruction: 'turn the assembly round' };
      },
    },
    certificates: {
      listJson: (filter) => {
        calls.list.push(filter);
        return { total: 0, itemsJson: '[]' };
      },
      forServing: () => undefined,
      exists: () => false,
      verify: refused('a certificate to be verified'),
      trustedKeys: () => [],
    },
    custody: {
      problems: [],
      failing: new Set(),
      brokenBenches: new Map(),
      fullCheck: { state: 'done', checked: 0, problems: 0 },
      checkpoints: { path: '/nonexistent/checkpoints.jsonl' },
      checkStorage: () => undefined,
      record: () => undefined,
    },
    parseSubject: refused('a subject to be parsed'),
    metrics: {
      registry: { contentType: 'text/plain; version=0.0.4; charset=utf-8', metrics: async () => '' },
      httpLatency: { observe: (labels) => void calls.routes.push(`${labels.method} ${labels.route} ${labels.status}`) },
    },
    cords: { get: refused('a cord'), latestVerification: refused('a cord verification') },
  };
}

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildHttpServer(deps());
  await app.ready();
});
afterAll(async () => {
  await app.close();
});

const json = { 'content-type': 'application/json' };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('typed routes: bad params, query and body', () => {
  it('refuses an id that is not plain decimal with the same 400 body as ever', async () => {
    for (const id of ['0x1', '01', '1e3', '-1', 'abc']) {
      for (const path of [`/certificates/${id}`, `/certificates/${id}/verify`]) {
        const res = await app.inject({ method: 'GET', url: path });
        expect(res.statusCode, path).toBe(400);
        expect(res.json()).toEqual({ error: 'bad-request', message: 'params/id must match pattern "^[1-9][0-9]{0,15}$"' });
      }
    }
    // Past the pattern but not a safe integer: refused by the route itself, never handed to SQLite.
    const big = await app.inject({ method: 'GET', url: '/certificates/9999999999999999' });
    expect(big.statusCode).toBe(400);
    expect(big.json()).toEqual({ error: 'INPUT_INVALID', message: 'id must be a whole number below 2^53 (id=10000000000000000)' });
    const job = await app.inject({ method: 'GET', url: '/jobs/not-a-uuid' });
    expect(job.statusCode).toBe(400);
    expect(job.json()).toEqual({ error: 'bad-request', message: 'params/id must match format "uuid"' });
  });

  it('refuses an unknown body key, a missing body and a wrong value', async () => {
    const cases: [string, string, string][] = [
      ['/jobs', JSON.stringify({ bench: 'b1', operator: 'x', nonsense: true }), 'body must NOT have additional properties'],
      ['/jobs', '', 'body must be object'],
      ['/jobs', JSON.stringify({ operator: 'x' }), "body must have required property 'bench'"],
      ['/jobs', JSON.stringify({ bench: 'b1', operator: 'x', wait: 'yes' }), 'body/wait must be boolean'],
      ['/benches/b1/reference', JSON.stringify({ bogus: 1 }), 'body must NOT have additional properties'],
      ['/benches/b1/reference', JSON.stringify({ acceptDespite: 'short' }), 'body/acceptDespite must NOT have fewer than 10 characters'],
      ['/benches/b1/confirm', JSON.stringify({ step: 'turn-assembly', serial: 'SN-1', extra: 1 }), 'body must NOT have additional properties'],
      ['/benches/b1/confirm', JSON.stringify({}), "body must have required property 'step'"],
      ['/benches/' + 'x'.repeat(65) + '/confirm', JSON.stringify({ step: 'turn-assembly' }), 'params/id must NOT have more than 64 characters'],
    ];
    for (const [url, payload, message] of cases) {
      const res = await app.inject({ method: 'POST', url, headers: { ...json, ...bearer(TOKEN) }, payload });
      expect(res.statusCode, `${url} ${payload}`).toBe(400);
      expect(res.json()).toEqual({ error: 'bad-request', message });
    }
    const step = await app.inject({ method: 'POST', url: '/benches/b1/confirm', headers: { ...json, ...bearer(TOKEN) }, payload: JSON.stringify({ step: 'nope' }) });
    expect(step.statusCode).toBe(400);
    expect(step.json()).toMatchObject({ error: 'bad-request', message: expect.stringMatching(/^body\/step must be equal to constant/) });
    expect(calls.reference).toEqual([]);
    expect(calls.confirm).toEqual([]);
  });

  it('refuses a bad query the same way', async () => {
    const cases: [string, unknown][] = [
      ['/certificates?limit=0', { error: 'bad-request', message: 'querystring/limit must be >= 1' }],
      ['/certificates?limit=abc', { error: 'bad-request', message: 'querystring/limit must be integer' }],
      ['/certificates?unknown=1', { error: 'bad-request', message: 'querystring must NOT have additional properties' }],
      ['/certificates?limit=1e400', { error: 'INPUT_INVALID', message: 'limit must be a whole number below 2^53 (limit=Infinity)' }],
      ['/certificates/1?format=xml', { error: 'bad-request', message: expect.stringMatching(/^querystring\/format must be equal to constant/) }],
    ];
    for (const [url, body] of cases) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(400);
      expect(res.json()).toEqual(body);
    }
  });

  it('asks for a token before it looks at the body', async () => {
    for (const url of ['/jobs', '/benches/b1/reference', '/benches/b1/confirm']) {
      const res = await app.inject({ method: 'POST', url, headers: json, payload: JSON.stringify({ nonsense: true }) });
      expect(res.statusCode, url).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.json()).toEqual({ error: 'unauthorized', message: "sign in (console) or send a valid bearer token: writes need a person's credentials" });
    }
  });

  it('answers an unknown route with the 404 body, and records every reply under its route', async () => {
    const res = await app.inject({ method: 'GET', url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: 'not-found', message: 'no route GET /nope' });
    expect(calls.routes).toContain('GET /certificates/:id 400');
    expect(calls.routes).toContain('POST /jobs 401');
    expect(calls.routes).toContain('GET unmatched 404');
  });
});

describe('typed routes: what a handler receives', () => {
  it('gets the query as its schema says: numbers coerced, defaults filled', async () => {
    calls.list.length = 0;
    const res = await app.inject({ method: 'GET', url: '/certificates?limit=2&verdict=FAIL' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.body).toBe('{"total":0,"limit":2,"offset":0,"items":[]}');
    expect(calls.list).toEqual([{ serial: undefined, linkId: undefined, verdict: 'FAIL', benchId: undefined, limitSetId: undefined, issuedFrom: undefined, issuedTo: undefined, limit: 2, offset: 0 }]);
  });

  it('gets no body at all as {} on POST /benches/:id/reference, and a person operates only their benches', async () => {
    const bare = await app.inject({ method: 'POST', url: '/benches/b1/reference', headers: { ...json, ...bearer(TOKEN) }, payload: '' });
    expect(bare.statusCode).toBe(200);
    expect(bare.json()).toMatchObject({ benchId: 'b1', fiberCount: 12 });
    const person = await app.inject({ method: 'POST', url: '/benches/b1/reference', headers: bearer(OPERATOR_TOKEN) });
    expect(person.statusCode).toBe(200);
    expect(calls.reference).toEqual([
      { bench: 'b1', operator: 'shared token' },
      { bench: 'b1', operator: 'op1' },
    ]);
    const elsewhere = await app.inject({ method: 'POST', url: '/benches/b2/confirm', headers: { ...json, ...bearer(OPERATOR_TOKEN) }, payload: JSON.stringify({ step: 'turn-assembly' }) });
    expect(elsewhere.statusCode).toBe(403);
    expect(elsewhere.json()).toEqual({ error: 'FORBIDDEN', message: 'op1 (operator) may not reference or certify on bench "b2" (bench=b2)' });
    const confirmed = await app.inject({ method: 'POST', url: '/benches/b1/confirm', headers: { ...json, ...bearer(OPERATOR_TOKEN) }, payload: JSON.stringify({ step: 'turn-assembly', serial: 'SN-1' }) });
    expect(confirmed.statusCode).toBe(200);
    expect(calls.confirm).toEqual([['b1', 'turn-assembly', 'SN-1']]);
  });
});
