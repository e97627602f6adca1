import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsoleRig, type ConsoleRig } from '../helpers/console-harness.js';
import { root, send, TOKEN } from '../helpers/daemon-harness.js';

/**
 * Console sign-in over real HTTP to the real daemon: the token is sent once and answered with an
 * opaque, HttpOnly, SameSite=Strict session cookie; a cookie alone (no console header) writes
 * nothing; signing out ends it; with personal tokens issued, the shared one signs nobody in.
 */
let rig: ConsoleRig;

beforeAll(async () => {
  rig = await startConsoleRig();
}, 60_000);
afterAll(async () => rig?.close());

const json = { 'content-type': 'application/json' };

async function signIn(body: Record<string, unknown>): Promise<{ status: number; cookie: string | undefined; json: Record<string, unknown>; setCookie: string | undefined }> {
  const res = await send(rig.base, { method: 'POST', path: '/session', headers: json, body: JSON.stringify(body) });
  const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? [])[0];
  return { status: res.status, json: res.json, setCookie, cookie: setCookie?.split(';')[0] };
}

describe('console sessions', () => {
  it('answers the token with an opaque HttpOnly, SameSite=Strict cookie and never echoes the token', async () => {
    const r = await signIn({ token: TOKEN, name: 'Ada Operator' });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ name: 'Ada Operator', role: 'admin' });
    expect(r.setCookie).toMatch(/^mpocert_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    expect(r.setCookie).not.toContain(TOKEN);
  });

  it('refuses a wrong token and the shared token without a name, with a message and no cookie', async () => {
    const wrong = await signIn({ token: 'not-the-token' });
    expect([wrong.status, wrong.json.error, wrong.setCookie]).toEqual([401, 'UNAUTHORIZED', undefined]);
    const nameless = await signIn({ token: TOKEN });
    expect([nameless.status, nameless.json.message, nameless.setCookie]).toEqual([400, 'name: with the shared token, say who you are (jobs are recorded under this name)', undefined]);
  });

  it('writes with the cookie only together with the console header, records the signed-in name, and stops after sign-out', async () => {
    const { cookie } = await signIn({ token: TOKEN, name: 'Ada Operator' });
    const post = (headers: Record<string, string>) => send(rig.base, { method: 'POST', path: '/benches/bench1/reference', headers: { ...json, ...headers }, body: '{}' });
    // A cross-site form can send the cookie (were it not SameSite) but never a custom header.
    const cookieOnly = await post({ cookie: cookie! });
    expect(cookieOnly.status).toBe(401);
    const ok = await post({ cookie: cookie!, 'x-mpocert-console': '1' });
    expect(ok.status).toBe(200);
    const cords = await send(rig.base, { method: 'GET', path: '/benches/bench1/cords' });
    expect((cords.json as { cords: { cordId: string; verification: { by: string } }[] }).cords.map((c) => [c.cordId, c.verification.by])).toEqual([['LC-1', 'Ada Operator']]);
    const out = await send(rig.base, { method: 'POST', path: '/session/end', headers: { cookie: cookie! } });
    expect(out.status).toBe(200);
    expect((await post({ cookie: cookie!, 'x-mpocert-console': '1' })).status).toBe(401);
  });

  it('pages that act on a bench send a person who is not signed in to the sign-in form', async () => {
    const res = await send(rig.base, { method: 'GET', path: '/benches/bench1' });
    expect([res.status, res.headers.location]).toEqual([302, '/sign-in?next=%2Fbenches%2Fbench1']);
    const signIn = await send(rig.base, { method: 'GET', path: '/sign-in' });
    expect(signIn.headers['content-security-policy']).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    );
    expect(signIn.text).toMatch(/<input id="token" name="token" type="password"/);
  });

  it('once people have their own tokens, the shared token signs nobody in; a personal token signs its person in', async () => {
    const added = spawnSync(process.execPath, [join(root, 'dist/src/cli/main.js'), 'users', 'add', 'alice', '--role', 'operator', '--bench', 'bench1', '--config', rig.daemon.configPath], {
      encoding: 'utf8',
      env: { ...process.env, MPOCERT_URL: rig.base },
    });
    expect(added.status).toBe(0);
    const alice = /(mpc_[A-Za-z0-9_-]{43})/.exec(added.stdout)![1]!;
    const shared = await signIn({ token: TOKEN, name: 'Ada Operator' });
    expect([shared.status, shared.json.message]).toEqual([403, 'people on this daemon have their own tokens (mpocert users add): sign in with yours, not the shared token']);
    const own = await signIn({ token: alice, name: 'somebody else' });
    expect([own.status, own.json]).toEqual([200, { name: 'alice', role: 'operator' }]);
  });
});
