import { Ajv, type ErrorObject } from 'ajv';
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { ConfigError } from '../errors.js';
import { DaemonConfigSchema, type DaemonConfig, type DaemonConfigFile } from './schema.js';

// verbose: errors carry their schema, so an unknown key can be answered with the keys allowed there.
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true });
const validate = ajv.compile<DaemonConfigFile>(DaemonConfigSchema);

/**
 * Reads, validates and resolves a daemon config file (YAML or JSON). Every problem becomes a
 * ConfigError naming the file and the key, e.g. `benches/0/instruments/1/transport/port`.
 */
/**
 * `tokenOptional`: for CLI clients that bring their own token (MPOCERT_TOKEN): a token file they
 * may not read is not an error for them.
 */
export function loadConfig(path: string, opts: { tokenOptional?: boolean } = {}): DaemonConfig {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { file });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    const line = err instanceof YAMLParseError ? err.linePos?.[0]?.line : undefined;
    throw new ConfigError(`config file is not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`, { file, line });
  }
  return resolveConfig(raw, file, opts);
}

/** Validates an already-parsed config object; `file` is what messages and relative paths refer to. */
export function resolveConfig(raw: unknown, file: string, opts: { tokenOptional?: boolean } = {}): DaemonConfig {
  if (!validate(raw)) {
    const first = mostSpecificError(validate.errors ?? []);
    throw new ConfigError(`config key ${first.key}: ${first.message}`, { file, key: first.key });
  }
  const base = dirname(file);
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  const cfg = raw;

  checkCrossReferences(cfg, file);

  let token = cfg.http.token;
  if (token === undefined && cfg.http.tokenFile !== undefined && opts.tokenOptional) {
    token = '';
  } else if (token === undefined && cfg.http.tokenFile !== undefined) {
    const tokenFile = abs(cfg.http.tokenFile);
    try {
      // Anyone who can read the token can certify: no permission for other users, and no group
      // write (root-owned 0640 with the daemon's group, as systemd/README.md installs it, is right).
      const mode = statSync(tokenFile).mode & 0o777;
      if ((mode & 0o027) !== 0) {
        throw new ConfigError(`http.tokenFile ${tokenFile} has mode ${mode.toString(8).padStart(4, '0')}: other users may read or change it; chmod 0600 (or 0640 root:mpocert)`, { file, key: 'http/tokenFile' });
      }
      token = readFileSync(tokenFile, 'utf8').trim();
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`cannot read http.tokenFile: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
        file,
        key: 'http/tokenFile',
      });
    }
  }
  if (token !== undefined && /\s/.test(token)) {
    throw new ConfigError('config key http: the token contains whitespace; use a token of printable characters (openssl rand -hex 32)', { file, key: 'http/token' });
  }
  if (!(opts.tokenOptional && token === '') && (token === undefined || token.length < 16)) {
    throw new ConfigError('config key http: set token or tokenFile to a bearer token of at least 16 characters; every write needs it', {
      file,
      key: 'http/token',
    });
  }

  const { central: centralFile, ...rest } = cfg;
  let central: DaemonConfig['central'];
  if (centralFile) {
    if ((centralFile.postgresUrl === undefined) === (centralFile.postgresUrlFile === undefined)) {
      throw new ConfigError('config key central: set exactly one of postgresUrl or postgresUrlFile', { file, key: 'central' });
    }
    const url = centralFile.postgresUrl ?? readSecretFile(abs(centralFile.postgresUrlFile!), 'central.postgresUrlFile', file);
    if (!/^postgres(ql)?:\/\//.test(url)) throw new ConfigError('config key central: the PostgreSQL URL must start with postgres:// (or postgresql://)', { file, key: 'central/postgresUrl' });
    central = { site: centralFile.site, postgresUrl: url, batchSize: centralFile.batchSize, intervalMs: centralFile.intervalMs };
  }

  return {
    ...rest,
    ...(central ? { central } : {}),
    dataDir: abs(cfg.dataDir),
    limits: cfg.limits.userDir === undefined ? {} : { userDir: abs(cfg.limits.userDir) },
    trust: cfg.trust.keysFile === undefined ? {} : { keysFile: abs(cfg.trust.keysFile) },
    http: { host: cfg.http.host, port: cfg.http.port, token },
    source: file,
  };
}

function checkCrossReferences(cfg: DaemonConfigFile, file: string): void {
  const benchIds = new Set<string>();
  cfg.benches.forEach((bench, b) => {
    if (benchIds.has(bench.id)) throw new ConfigError(`config key benches/${b}/id: bench id "${bench.id}" is used twice`, { file, key: `benches/${b}/id` });
    benchIds.add(bench.id);
    const ids = new Map<string, number>();
    bench.instruments.forEach((inst, i) => {
      if (ids.has(inst.id)) {
        throw new ConfigError(`config key benches/${b}/instruments/${i}/id: instrument id "${inst.id}" is used twice`, {
          file,
          key: `benches/${b}/instruments/${i}/id`,
        });
      }
      ids.set(inst.id, i);
    });
    const method = bench.method as Record<string, unknown>;
    if (method['kind'] === 'mpo-source-and-multiport-meter' && (bench as { channelOffset?: number }).channelOffset) {
      // The MPO source lights fiber n on its output n; an offset would be silently ignored.
      throw new ConfigError(`config key benches/${b}/channelOffset: the mpo-source-and-multiport-meter method has no switch channels; remove channelOffset`, { file, key: `benches/${b}/channelOffset` });
    }
    for (const role of ['powerMeter', 'switch', 'multiPortMeter', 'lossTestSet', 'lightSource', 'mpoSource']) {
      const ref = method[role];
      if (typeof ref === 'string' && !ids.has(ref)) {
        throw new ConfigError(
          `config key benches/${b}/method/${role}: no instrument with id "${ref}" on bench "${bench.id}" (have: ${[...ids.keys()].join(', ')})`,
          { file, key: `benches/${b}/method/${role}` },
        );
      }
    }
  });
}

/**
 * Ajv reports one error per failed branch of a union; a person wants the errors of the branch they
 * meant, and of those the one that points deepest into their file, or the unknown key by name.
 * Every union here is discriminated by `kind`: a branch whose `kind` does not match the value's is
 * a branch the user never meant, and all of its errors are dropped (a serial transport with a
 * misspelt key is not a TCP transport missing `host`). When no branch's kind matches, the kind
 * itself is the error.
 */
function mostSpecificError(errors: ErrorObject[]): { key: string; message: string } {
  const wrongBranches = errors
    .map((e) => KIND_MISMATCH.exec(e.schemaPath) && e.keyword === 'const' && e.instancePath.endsWith('/kind')
      ? { schema: KIND_MISMATCH.exec(e.schemaPath)![1]!, instance: e.instancePath.slice(0, -'/kind'.length) }
      : undefined)
    .filter((b) => b !== undefined);
  const inWrongBranch = (e: ErrorObject): boolean =>
    wrongBranches.some((b) => (e.instancePath === b.instance || e.instancePath.startsWith(`${b.instance}/`)) && e.schemaPath.startsWith(`${b.schema}/`));
  const meant = errors.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf' && !inWrongBranch(e));
  const pool = meant.length ? meant : errors.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf');
  const pick = (pool.length ? pool : errors).reduce((a, b) => (b.instancePath.split('/').length > a.instancePath.split('/').length ? b : a));
  const key = pick.instancePath.replace(/^\//, '') || '(top level)';
  if (pick.keyword === 'additionalProperties') {
    const extra = (pick.params as { additionalProperty: string }).additionalProperty;
    const known = Object.keys((pick.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
    return { key: key === '(top level)' ? extra : `${key}/${extra}`, message: `unknown key (misspelt?)${known.length ? `; known keys here: ${known.join(', ')}` : ''}` };
  }
  if (pick.keyword === 'required') {
    const missing = (pick.params as { missingProperty: string }).missingProperty;
    return { key: key === '(top level)' ? missing : `${key}/${missing}`, message: 'is required' };
  }
  if (pick.keyword === 'const' || pick.keyword === 'enum') {
    const allowed = new Set(
      pool
        .filter((e) => (e.keyword === 'const' || e.keyword === 'enum') && e.instancePath === pick.instancePath)
        .flatMap((e) => (e.keyword === 'const' ? [(e.params as { allowedValue: unknown }).allowedValue] : (e.params as { allowedValues: unknown[] }).allowedValues))
        .map((v) => JSON.stringify(v)),
    );
    return { key, message: `must be one of ${[...allowed].join(', ')}` };
  }
  return { key, message: pick.message ?? 'is invalid' };
}

/** The schema path of a union branch, from the error ajv gives when that branch's `kind` does not match. */
const KIND_MISMATCH = /^(.*\/anyOf\/\d+)\/properties\/kind\/const$/;

/** A file holding a secret (a token, a database URL with its password): private to the daemon. */
function readSecretFile(path: string, key: string, file: string): string {
  try {
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o027) !== 0) {
      throw new ConfigError(`${key} ${path} has mode ${mode.toString(8).padStart(4, '0')}: other users may read or change it; chmod 0600 (or 0640 root:mpocert)`, { file, key: key.replace('.', '/') });
    }
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot read ${key}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { file, key: key.replace('.', '/') });
  }
}
