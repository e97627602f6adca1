import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { projectRoot } from '../../project-root.js';
import type { Auth } from '../auth.js';
import type { HttpDeps } from '../context.js';
import { cleanText } from '../input.js';
import { SESSION_TTL_MS, sessionCookie } from '../sessions.js';
import { CONSOLE_CSP, esc, page } from '../web/html.js';

/** The console's scripts and stylesheet ship in the package (src/http/web/assets), never from a CDN. */
const ASSET_DIR = join(projectRoot(), 'src', 'http', 'web', 'assets');
const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

const SessionBody = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 256, description: "the person's token (mpocert users add), or the config's shared token" }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'who signs in: required with the shared token' })),
  },
  { additionalProperties: false },
);

/**
 * What every console page stands on: the assets, signing in and out. The assets are read once at
 * start-up into memory (a few kB): a request can only name a file that shipped.
 */
export const consoleShellRoutes: FastifyPluginAsyncTypebox<{ auth: Auth; users: Pick<HttpDeps['users'], 'hasUsers'> }> = async (app, { auth, users }) => {
  const assets = new Map<string, { type: string; body: Buffer }>();
  for (const name of readdirSync(ASSET_DIR)) {
    const type = TYPES[extname(name)];
    if (type) assets.set(name, { type, body: readFileSync(join(ASSET_DIR, name)) });
  }

  app.get('/assets/:name', { schema: { hide: true, params: Type.Object({ name: Type.String({ maxLength: 64 }) }) } }, async (req, reply) => {
    const asset = assets.get(req.params.name);
    if (!asset) return reply.code(404).send({ error: 'not-found', message: `no asset ${req.params.name}` });
    // Revalidated on every load: an upgraded daemon's pages never run yesterday's script.
    return reply.type(asset.type).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(asset.body);
  });

  app.get('/sign-in', { schema: { hide: true } }, async (req, reply) => {
    const session = auth.sessionOf(req);
    // With people's own tokens the token says who signs in; before, the shared token needs a name.
    const personal = users.hasUsers();
    const body = `<h1>Sign in</h1>
<div id="notice" class="notice error" role="alert" hidden></div>
${session ? `<p class="notice info">You are signed in as <b>${esc(session.operator)}</b>. Signing in again replaces that.</p>` : ''}
<form id="sign-in-form" class="card" autocomplete="off">
  <p class="muted">${personal ? 'Your token is the one <code>mpocert users add</code> gave you.' : "This daemon has no personal tokens yet: give your name and the bench's shared token (<code>http.token</code> in its config)."} It is sent once and never shown again: the console keeps only a session.</p>
  ${personal ? '' : '<label for="name">Your name</label>\n  <input id="name" name="name" type="text" maxlength="128" autocomplete="username" required autofocus>'}
  <label for="token">Token</label>
  <input id="token" name="token" type="password" required maxlength="256" autocomplete="current-password"${personal ? ' autofocus' : ''}>
  <p><button type="submit">Sign in</button></p>
</form>`;
    return reply.type('text/html; charset=utf-8').header('content-security-policy', CONSOLE_CSP).send(page({ title: 'Sign in', signedInAs: session?.operator, body }));
  });

  app.post('/session', { schema: { hide: true, body: SessionBody } }, async (req, reply) => {
    const name = req.body.name === undefined ? undefined : cleanText('name', req.body.name);
    const { id, session } = auth.signIn(req.body.token, name);
    // The session this browser had ends with the new sign-in (nobody keeps a second one alive).
    auth.signOut(req);
    return reply
      .header('set-cookie', sessionCookie(id, Math.floor(SESSION_TTL_MS / 1000)))
      .header('cache-control', 'no-store')
      .send({ name: session.operator, role: session.principal.role });
  });

  app.post('/session/end', { schema: { hide: true } }, async (req, reply) => {
    auth.signOut(req);
    return reply.header('set-cookie', sessionCookie('', 0)).send({ signedOut: true });
  });
};
