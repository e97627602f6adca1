/**
 * The hub's config (`mpocert hub --config FILE`): validated on load, every problem named by its
 * key, secrets in files only when private; a bad config stops `mpocert hub` before it touches the
 * database, with one line and exit code 2.
 */
import { execFile } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHubConfig, resolveHubConfig } from '../../src/central/hub-config.js';
import { root, tempDir } from '../helpers/daemon-harness.js';

const run = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
const GOOD = { postgresUrl: 'postgres://qa@db.example/central', http: { token: 'hub-token-0123456789abcdef' }, trust: [{ site: 'plant-a', keysFile: 'keys/plant-a.json' }] };

beforeAll(() => {
  tmp = tempDir('mpocert-hub-config-');
});
afterAll(() => tmp?.remove());

const problem = (raw: unknown): string => {
  try {
    resolveHubConfig(raw, join(tmp.dir, 'hub.yaml'));
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
};

describe('hub config', () => {
  it('fills in the defaults and resolves paths against the config file', () => {
    const c = resolveHubConfig(GOOD, join(tmp.dir, 'hub.yaml'));
    expect(c).toEqual({
      postgresUrl: 'postgres://qa@db.example/central',
      logLevel: 'info',
      http: { host: '127.0.0.1', port: 8760, token: 'hub-token-0123456789abcdef' },
      trust: [{ site: 'plant-a', keysFile: join(tmp.dir, 'keys', 'plant-a.json') }],
      mergeIntervalMs: 1000,
      limits: {},
      source: join(tmp.dir, 'hub.yaml'),
    });
  });

  it('names the key of every problem', () => {
    expect(problem({ ...GOOD, http: { tokn: 'x' } })).toBe('config key http/tokn: unknown key (misspelt?); known keys here: host, port, token, tokenFile');
    expect(problem({ ...GOOD, trust: undefined })).toBe('config key trust: is required');
    expect(problem({ ...GOOD, trust: [{ site: 'plant a', keysFile: 'k.json' }] })).toMatch(/^config key trust\/0\/site: must match pattern/);
    expect(problem({ ...GOOD, trust: [{ site: 'a', keysFile: 'k.json' }, { site: 'a', keysFile: 'l.json' }] })).toBe('config key trust/1/site: site "a" is listed twice; one keys file per site');
    expect(problem({ ...GOOD, logLevel: 'loud' })).toBe('config key logLevel: must be one of "fatal", "error", "warn", "info", "debug", "trace"');
    expect(problem({ ...GOOD, mergeIntervalMs: 10 })).toBe('config key mergeIntervalMs: must be >= 50');
    expect(problem({ ...GOOD, postgresUrlFile: 'url' })).toBe('config key postgresUrl: set exactly one of postgresUrl or postgresUrlFile');
    expect(problem({ ...GOOD, postgresUrl: 'mysql://x' })).toBe('config key postgresUrl: the PostgreSQL URL must start with postgres:// (or postgresql://)');
    expect(problem({ ...GOOD, http: {} })).toMatch(/^config key http\/token: set token or tokenFile to a bearer token of at least 16 printable characters/);
  });

  it('reads the URL and the token from files only when other users cannot', () => {
    writeFileSync(join(tmp.dir, 'url'), 'postgres://qa:secret@db.example/central\n', { mode: 0o600 });
    writeFileSync(join(tmp.dir, 'token'), 'hub-token-from-a-file-0123\n', { mode: 0o644 });
    const raw = { postgresUrlFile: 'url', http: { tokenFile: 'token' }, trust: GOOD.trust };
    expect(problem(raw)).toMatch(/^http\.tokenFile .*token has mode 0644: other users may read or change it; chmod 0600/);
    chmodSync(join(tmp.dir, 'token'), 0o600);
    const c = resolveHubConfig(raw, join(tmp.dir, 'hub.yaml'));
    expect([c.postgresUrl, c.http.token]).toEqual(['postgres://qa:secret@db.example/central', 'hub-token-from-a-file-0123']);
  });

  it('loads YAML', () => {
    const file = join(tmp.dir, 'hub.yaml');
    writeFileSync(file, 'postgresUrl: postgres://qa@db/central\nhttp: { port: 0, token: hub-token-0123456789abcdef }\ntrust:\n  - { site: plant-a, keysFile: a.json }\nlimits: { userDir: qa-limits }\n');
    expect(loadHubConfig(file)).toMatchObject({ http: { port: 0 }, limits: { userDir: join(tmp.dir, 'qa-limits') } });
  });

  it('stops `mpocert hub` with one line naming the problem, before the database', async () => {
    const file = join(tmp.dir, 'bad-keys.yaml');
    // The database is never reached: the pinned keys are read first.
    writeFileSync(file, 'postgresUrl: postgres://qa@127.0.0.1:1/none\nhttp: { port: 0, token: hub-token-0123456789abcdef }\ntrust:\n  - { site: plant-a, keysFile: missing.json }\n');
    const failed = await run(process.execPath, [join(root, 'dist/src/cli/main.js'), 'hub', '--config', file]).catch((e: { code: number; stderr: string }) => e);
    expect('code' in failed && failed.code).toBe(2);
    expect(failed.stderr).toMatch(/^mpocert: config key trust\/0\/keysFile: site plant-a: cannot read the trusted keys file: ENOENT.* \(file=.*bad-keys\.yaml key=trust\/0\/keysFile\)\n$/);
    const missing = await run(process.execPath, [join(root, 'dist/src/cli/main.js'), 'hub', 'merge', '--config', join(tmp.dir, 'nope.yaml')]).catch((e: { code: number; stderr: string }) => e);
    expect('code' in missing && missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^mpocert: cannot read hub config file: ENOENT \(file=.*nope\.yaml\)\n$/);
  });
});
