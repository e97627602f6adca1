/**
 * The private PostgreSQL cluster the central-store tests run against (fixtures/harness/postgres.ts):
 * it starts, keeps committed data across a clean restart and across a SIGKILL of the postmaster,
 * runs side by side with another cluster, and is removed by destroy() or, when the test process
 * dies without destroy(), by its watchdog.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PrivateCluster } from '../helpers/postgres.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

async function query<T extends pg.QueryResultRow = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function postmasterPid(cluster: PrivateCluster): number {
  return Number(readFileSync(`${cluster.dataDir}/postmaster.pid`, 'utf8').split('\n')[0]);
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2)[0] ?? '');
  } catch {
    return false;
  }
}

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('private PostgreSQL cluster for tests', () => {
  let cluster: PrivateCluster | undefined;
  const db = (): PrivateCluster => {
    if (!cluster) throw new Error('the cluster did not start (see beforeAll)');
    return cluster;
  };

  beforeAll(async () => {
    cluster = await startPostgres();
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('starts on a free loopback port, as postgres, and answers', async () => {
    const c = db();
    expect(c.url).toBe(`postgres://postgres@127.0.0.1:${c.port}/postgres`);
    expect(c.port).not.toBe(5432);
    expect(c.dataDir).toBe(`${c.dir}/data`);
    const [row] = await query<{ one: number; usr: string; port: string; version: string; fsync: string; sc: string }>(
      c.url,
      "SELECT 1 AS one, current_user AS usr, current_setting('port') AS port, current_setting('server_version_num') AS version, current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sc",
    );
    expect(row).toMatchObject({ one: 1, usr: 'postgres', port: String(c.port), fsync: 'off', sc: 'on' });
    expect(Number(row?.version)).toBeGreaterThanOrEqual(120000);
  });

  it('keeps a committed row across stop() and start() on the same port', async () => {
    const c = db();
    await query(c.url, 'CREATE TABLE restart_probe (id int PRIMARY KEY, note text NOT NULL)');
    await query(c.url, 'INSERT INTO restart_probe VALUES ($1, $2)', [1, 'before stop']);
    const port = c.port;

    await c.stop();
    expect(existsSync(c.dataDir)).toBe(true);
    await expect(query(c.url, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);

    await c.start();
    expect(c.port).toBe(port);
    expect(await query(c.url, 'SELECT id, note FROM restart_probe')).toEqual([{ id: 1, note: 'before stop' }]);
  });

  it('keeps committed rows after kill9() of the postmaster and start() (crash recovery)', async () => {
    const c = db();
    const client = new pg.Client({ connectionString: c.url });
    client.on('error', () => undefined);
    await client.connect();
    await client.query('CREATE TABLE crash_probe (id int PRIMARY KEY)');
    await client.query('BEGIN');
    await client.query('INSERT INTO crash_probe SELECT g FROM generate_series(1, 1000) AS g');
    await client.query('COMMIT');
    await client.query('INSERT INTO crash_probe VALUES (1001)');
    await client.query('BEGIN');
    await client.query('INSERT INTO crash_probe VALUES (9999)'); // never committed
    const pid = postmasterPid(c);

    await c.kill9();
    expect(alive(pid)).toBe(false);
    await client.end().catch(() => undefined);
    await expect(query(c.url, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);

    await c.start();
    expect(postmasterPid(c)).not.toBe(pid);
    expect(await query(c.url, 'SELECT count(*)::int AS n, max(id) AS top FROM crash_probe')).toEqual([{ n: 1001, top: 1001 }]);
    expect(readFileSync(c.logFile, 'utf8')).toMatch(/not properly shut down; automatic recovery in progress/);
  });

  it('creates a database and returns its URL', async () => {
    const c = db();
    const url = await c.createDatabase('central_probe');
    expect(url).toBe(`postgres://postgres@127.0.0.1:${c.port}/central_probe`);
    expect(await query(url, 'SELECT current_database() AS name')).toEqual([{ name: 'central_probe' }]);
  });

  it('runs two more clusters at once, on different ports, each with its own data', async () => {
    const started = await Promise.allSettled([startPostgres(), startPostgres()]);
    const [a, b] = started.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
    try {
      for (const s of started) if (s.status === 'rejected') throw s.reason;
      if (!a || !b) throw new Error('unreachable');
      expect(new Set([a.port, b.port, db().port]).size).toBe(3);
      expect(a.dir).not.toBe(b.dir);
      await Promise.all([query(a.url, 'CREATE TABLE who (name text)'), query(b.url, 'CREATE TABLE who (name text)')]);
      await Promise.all([query(a.url, "INSERT INTO who VALUES ('a')"), query(b.url, "INSERT INTO who VALUES ('b')")]);
      expect(await query(a.url, 'SELECT name FROM who')).toEqual([{ name: 'a' }]);
      expect(await query(b.url, 'SELECT name FROM who')).toEqual([{ name: 'b' }]);
    } finally {
      await Promise.all([a?.destroy(), b?.destroy()]);
    }
  });

  it('destroy() stops the server and removes its directory', async () => {
    const c = await startPostgres();
    const pid = postmasterPid(c);
    expect(existsSync(c.dataDir)).toBe(true);
    await c.destroy();
    expect(existsSync(c.dir)).toBe(false);
    expect(alive(pid)).toBe(false);
    await expect(query(c.url, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
    await c.destroy(); // a second destroy (afterAll after a test already did) is harmless
  });

  it('destroy() after kill9() also removes the dead server\'s shared memory segment', async () => {
    const c = await startPostgres();
    try {
      const [key, id] = (readFileSync(`${c.dataDir}/postmaster.pid`, 'utf8').split('\n')[6] ?? '').trim().split(/\s+/);
      const segmentThere = (): boolean => readFileSync('/proc/sysvipc/shm', 'utf8').split('\n').some((l) => l.trim().split(/\s+/).slice(0, 2).join(' ') === `${key} ${id}`);
      expect(segmentThere()).toBe(true);
      await c.kill9();
      expect(segmentThere()).toBe(true);
      await c.destroy();
      expect(segmentThere()).toBe(false);
      expect(existsSync(c.dir)).toBe(false);
    } finally {
      await c.destroy();
    }
  });

  it('is removed by its watchdog when the test process dies without destroy()', async () => {
    // The helper, as plain JavaScript, in a separate node process that is then SIGKILLed.
    const source = readFileSync(`${repoRoot}/fixtures/harness/postgres.ts`, 'utf8');
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    const main = `
      const c = await startPostgres();
      const fs = await import('node:fs');
      const pid = Number(fs.readFileSync(c.dataDir + '/postmaster.pid', 'utf8').split('\\n')[0]);
      console.log(JSON.stringify({ dir: c.dir, pid, url: c.url }));
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', `${js}\n${main}`], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const started = await new Promise<{ dir: string; pid: number; url: string }>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve(JSON.parse(line) as { dir: string; pid: number; url: string });
      });
      child.on('exit', (code, signal) => reject(new Error(`the child exited (${signal ?? code}) before its cluster started: ${stderr}`)));
    });
    expect(await query(started.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);

    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
    await until(`the watchdog to stop postmaster ${started.pid} and remove ${started.dir}`, () => !alive(started.pid) && !existsSync(started.dir));
  });
});
