import { spawnSync } from 'node:child_process';
import { get as httpGet, type ClientRequest } from 'node:http';
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

  it('follows a bench from many consoles at once through one set of listeners, and refuses a 65th stream', async () => {
    const streams: { req: ClientRequest; events: string[] }[] = [];
    const open = (): Promise<{ status: number; req: ClientRequest; events: string[] }> =>
      new Promise((resolve, reject) => {
        const events: string[] = [];
        const req = httpGet(`${rig.base}/events?bench=bench1`, (res) => {
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => events.push(...[...chunk.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]!)));
          resolve({ status: res.statusCode!, req, events });
        });
        req.on('error', reject);
      });
    for (let i = 0; i < 64; i++) {
      const s = await open();
      expect(s.status).toBe(200);
      streams.push(s);
    }
    const extra = await open();
    expect(extra.status).toBe(503);
    extra.req.destroy();
    const ok = await rig.daemon.api('POST', '/benches/bench1/reference', { operator: 'ci' });
    expect(ok.status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(streams.map((s) => s.events.filter((e) => e === 'reference').length)).toEqual(Array(64).fill(1));
    for (const s of streams) s.req.destroy();
    expect(rig.daemon.log.join('\n')).not.toContain('MaxListenersExceededWarning');
  });

  it("once people have their own tokens, the shared token signs nobody in and its sessions end; a disabled person's session ends at once", async () => {
    const { cookie: sharedCookie } = await signIn({ token: TOKEN, name: 'Ada Operator' });
    const write = (cookie: string) => send(rig.base, { method: 'POST', path: '/benches/bench1/reference', headers: { ...json, cookie, 'x-mpocert-console': '1' }, body: '{}' });
    expect((await write(sharedCookie!)).status).toBe(200);
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [join(root, 'dist/src/cli/main.js'), 'users', ...args, '--config', rig.daemon.configPath], { encoding: 'utf8', env: { ...process.env, MPOCERT_URL: rig.base } });
    const added = cli('add', 'alice', '--role', 'operator', '--bench', 'bench1');
    expect(added.status).toBe(0);
    const alice = /(mpc_[A-Za-z0-9_-]{43})/.exec(added.stdout)![1]!;
    // The shared-token session opened before anyone had a token of their own writes nothing now.
    expect((await write(sharedCookie!)).status).toBe(401);
    const shared = await signIn({ token: TOKEN, name: 'Ada Operator' });
    expect([shared.status, shared.json.message]).toEqual([403, 'people on this daemon have their own tokens (mpocert users add): sign in with yours, not the shared token']);
    const own = await signIn({ token: alice, name: 'somebody else' });
    expect([own.status, own.json]).toEqual([200, { name: 'alice', role: 'operator' }]);
    expect((await write(own.cookie!)).status).toBe(200);
    expect(cli('disable', 'alice').status).toBe(0);
    expect((await write(own.cookie!)).status).toBe(401);
  });
});
