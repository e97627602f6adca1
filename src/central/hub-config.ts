import { Type, type Static } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { ConfigError } from '../errors.js';

/**
 * The central QA hub's config (`mpocert hub --config FILE`), YAML or JSON, validated on load like
 * the daemon's: every problem is a ConfigError naming the file and the key. Relative paths resolve
 * against the config file.
 */
const Site = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', description: 'a site as its benches name it (central.site in their configs)' });

export const HubConfigSchema = Type.Object(
  {
    postgresUrl: Type.Optional(Type.String({ minLength: 1, description: 'postgres://user:password@host:port/db' })),
    postgresUrlFile: Type.Optional(Type.String({ minLength: 1, description: 'a file holding the URL (it holds a password: mode 0600 or 0640); relative to this file' })),
    logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace'].map((l) => Type.Literal(l)), { default: 'info' }),
    http: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8760 }),
        token: Type.Optional(Type.String({ minLength: 16, description: 'bearer token every write (re-judge) must carry; reads need none' })),
        tokenFile: Type.Optional(Type.String({ description: 'file holding the bearer token (mode 0600 or 0640); relative to this file' })),
      },
      { additionalProperties: false, default: {} },
    ),
    trust: Type.Array(
      Type.Object(
        {
          site: Site,
          keysFile: Type.String({ minLength: 1, description: "QA's copy of the site's trusted keys file (mpocert-trusted-keys); relative to this file" }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, description: "QA's pinned keys, per site: a certificate is merged only when signed by one of them" },
    ),
    mergeIntervalMs: Type.Integer({ minimum: 50, maximum: 3_600_000, default: 1000, description: 'how often the inbox is merged' }),
    limits: Type.Object(
      { userDir: Type.Optional(Type.String({ description: 'extra limit-set files for re-judging; relative to this file' })) },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

type HubConfigFile = Static<typeof HubConfigSchema>;

/** The hub's config after loading: paths absolute, URL and token read. */
export interface HubConfig {
  postgresUrl: string;
  logLevel: string;
  http: { host: string; port: number; token: string };
  trust: { site: string; keysFile: string }[];
  mergeIntervalMs: number;
  limits: { userDir?: string };
  /** The file it was loaded from, for messages. */
  source: string;
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true });
const validate = ajv.compile<HubConfigFile>(HubConfigSchema);

export function loadHubConfig(path: string): HubConfig {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read hub config file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { file });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    const line = err instanceof YAMLParseError ? err.linePos?.[0]?.line : undefined;
    throw new ConfigError(`hub config file is not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`, { file, line });
  }
  return resolveHubConfig(raw, file);
}

/** Validates a parsed hub config; `file` is what messages and relative paths refer to. */
export function resolveHubConfig(raw: unknown, file: string): HubConfig {
  if (!validate(raw)) {
    const { key, message } = describe(validate.errors ?? []);
    throw new ConfigError(`config key ${key}: ${message}`, { file, key });
  }
  const cfg = raw;
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(dirname(file), p));

  if ((cfg.postgresUrl === undefined) === (cfg.postgresUrlFile === undefined)) {
    throw new ConfigError('config key postgresUrl: set exactly one of postgresUrl or postgresUrlFile', { file, key: 'postgresUrl' });
  }
  const postgresUrl = cfg.postgresUrl ?? readSecret(abs(cfg.postgresUrlFile!), 'postgresUrlFile', file);
  if (!/^postgres(ql)?:\/\//.test(postgresUrl)) {
    throw new ConfigError('config key postgresUrl: the PostgreSQL URL must start with postgres:// (or postgresql://)', { file, key: cfg.postgresUrl === undefined ? 'postgresUrlFile' : 'postgresUrl' });
  }

  if (cfg.http.token !== undefined && cfg.http.tokenFile !== undefined) {
    throw new ConfigError('config key http: set token or tokenFile, not both', { file, key: 'http/token' });
  }
  const token = cfg.http.token ?? (cfg.http.tokenFile === undefined ? undefined : readSecret(abs(cfg.http.tokenFile), 'http/tokenFile', file));
  if (token === undefined || token.length < 16 || /\s/.test(token)) {
    throw new ConfigError('config key http/token: set token or tokenFile to a bearer token of at least 16 printable characters without whitespace (openssl rand -hex 32); re-judging needs it', {
      file,
      key: cfg.http.tokenFile === undefined ? 'http/token' : 'http/tokenFile',
    });
  }

  const sites = new Set<string>();
  cfg.trust.forEach((t, i) => {
    if (sites.has(t.site)) throw new ConfigError(`config key trust/${i}/site: site "${t.site}" is listed twice; one keys file per site`, { file, key: `trust/${i}/site` });
    sites.add(t.site);
  });

  return {
    postgresUrl,
    logLevel: cfg.logLevel,
    http: { host: cfg.http.host, port: cfg.http.port, token },
    trust: cfg.trust.map((t) => ({ site: t.site, keysFile: abs(t.keysFile) })),
    mergeIntervalMs: cfg.mergeIntervalMs,
    limits: cfg.limits.userDir === undefined ? {} : { userDir: abs(cfg.limits.userDir) },
    source: file,
  };
}

/** The deepest error, with an unknown or missing key named as a key. */
function describe(errors: ErrorObject[]): { key: string; message: string } {
  const real = errors.filter((e) => e.keyword !== 'anyOf');
  const pick = (real.length ? real : errors).reduce((a, b) => (b.instancePath.split('/').length > a.instancePath.split('/').length ? b : a));
  const at = pick.instancePath.replace(/^\//, '');
  const join = (k: string): string => (at === '' ? k : `${at}/${k}`);
  if (pick.keyword === 'additionalProperties') {
    const extra = (pick.params as { additionalProperty: string }).additionalProperty;
    const known = Object.keys((pick.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
    return { key: join(extra), message: `unknown key (misspelt?); known keys here: ${known.join(', ')}` };
  }
  if (pick.keyword === 'required') return { key: join((pick.params as { missingProperty: string }).missingProperty), message: 'is required' };
  if (pick.keyword === 'const') {
    const allowed = real.filter((e) => e.keyword === 'const' && e.instancePath === pick.instancePath).map((e) => JSON.stringify((e.params as { allowedValue: unknown }).allowedValue));
    return { key: at || '(top level)', message: `must be one of ${allowed.join(', ')}` };
  }
  return { key: at || '(top level)', message: pick.message ?? 'is invalid' };
}

/** A file holding a secret (a token, a URL with its password): no permission for other users, no group write. */
function readSecret(path: string, key: string, file: string): string {
  try {
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o027) !== 0) {
      throw new ConfigError(`${key.replace('/', '.')} ${path} has mode ${mode.toString(8).padStart(4, '0')}: other users may read or change it; chmod 0600 (or 0640 root:mpocert)`, { file, key });
    }
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot read ${key.replace('/', '.')}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { file, key });
  }
}
