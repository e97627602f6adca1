/**
 * A private PostgreSQL cluster for tests: Debian's `postgresql` (server binaries in
 * /usr/lib/postgresql/<major>/bin; scripts/install-test-deps.sh installs it), initialised in a
 * temporary directory, listening on 127.0.0.1 on a free port with its Unix socket in that
 * directory. It never touches Debian's own cluster (port 5432, /var/run/postgresql).
 *
 * As root the server runs as the `postgres` user (PostgreSQL refuses to run as root) through
 * `runuser`; otherwise as the current user. Authentication is `trust`; the superuser is `postgres`.
 *
 * Use one cluster per test file and always destroy it in afterAll (afterAll runs even when tests
 * or beforeAll failed; `?.` because beforeAll may have thrown before assigning):
 *
 *     let pg: PrivateCluster | undefined;
 *     beforeAll(async () => { pg = await startPostgres(); });
 *     afterAll(async () => { await pg?.destroy(); });
 *
 * If the test process dies without reaching afterAll (killed by a timeout, a crash, Ctrl-C), a
 * watchdog started with each cluster notices (its stdin pipe from this process closes, whatever the
 * cause of death) and shuts the server down (SIGQUIT, then SIGKILL) and removes the directory.
 * Each cluster has its own directory and port, so test files running in parallel (vitest runs
 * files in parallel worker processes) each start their own without interfering.
 *
 * Before stop() or kill9(), end your pg clients (or give them an 'error' listener): a connection
 * that the server closes makes a client without one throw an uncaught 'error' event.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export interface PrivateCluster {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  /** The cluster's data directory (<dir>/data). */
  dataDir: string;
  /** The temporary directory holding the data directory, the server log and the Unix socket. */
  dir: string;
  /** The server log (<dir>/log). */
  logFile: string;
  /** Creates a database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Fast shutdown; the cluster stays on disk for start(). Does nothing when it is not running. */
  stop(): Promise<void>;
  /** Starts the same cluster again on the same port. Does nothing when it is running. */
  start(): Promise<void>;
  /** SIGKILLs the postmaster (a crash) and waits until it and its children are dead. */
  kill9(): Promise<void>;
  /** Stops the server (immediately) and removes the directory. Safe to call more than once. */
  destroy(): Promise<void>;
}

const PG_ROOT = '/usr/lib/postgresql';
const isRoot = process.getuid?.() === 0;

/** The newest /usr/lib/postgresql/<major>/bin that has an initdb. */
export function postgresBinDir(): string {
  let majors: string[] = [];
  try {
    majors = readdirSync(PG_ROOT).filter((d) => /^\d+(\.\d+)?$/.test(d) && existsSync(path.join(PG_ROOT, d, 'bin', 'initdb')));
  } catch {
    // no /usr/lib/postgresql at all
  }
  majors.sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  const newest = majors[0];
  if (newest === undefined) {
    throw new Error(`PostgreSQL test cluster: no server found (no ${PG_ROOT}/*/bin/initdb); install Debian's postgresql (scripts/install-test-deps.sh does, as root)`);
  }
  return path.join(PG_ROOT, newest, 'bin');
}

/** A port that was free on 127.0.0.1 a moment ago (bind port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function tail(text: string, lines: number): string {
  const all = text.trimEnd().split('\n').filter((l) => l.length > 0);
  return all.slice(-lines).map((l) => `  | ${l}`).join('\n');
}

function logTail(logFile: string, lines = 15): string {
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return `server log ${logFile}: none`;
  }
  return text.trim() ? `server log ${logFile} (last lines):\n${tail(text, lines)}` : `server log ${logFile}: empty`;
}

interface RunResult { code: number | null; output: string }

/** Runs a PostgreSQL program as the cluster's owner: `runuser -u postgres --` when root. */
function runAsOwner(program: string, args: string[], cwd: string, timeoutMs = 60_000): Promise<RunResult> {
  const [file, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', program, ...args]] : [program, args];
  return new Promise((resolve) => {
    execFile(file, argv, { cwd, timeout: timeoutMs, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null;
      resolve({ code, output: `${stdout}${stderr}${err !== null && code === null ? `\n${err.message}` : ''}` });
    });
  });
}

function failure(what: string, r: RunResult, logFile?: string): Error {
  const out = r.output.trim() ? `:\n${tail(r.output, 10)}` : ' (no output)';
  return new Error(`PostgreSQL test cluster: ${what} failed (${r.code === null ? 'did not finish' : `exit code ${r.code}`})${out}${logFile ? `\n${logTail(logFile)}` : ''}`);
}

function processState(pid: number): string | undefined {
  try {
    // /proc/PID/stat: "pid (comm) S ..."; comm may contain spaces and parentheses, the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** Dead: gone, or a zombie waiting for init to reap it (pg_ctl's postmaster is not our child). */
const dead = (pid: number): boolean => {
  const s = processState(pid);
  return s === undefined || s === 'Z' || s === 'X';
};

function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) kids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return kids;
}

/** Line `index` (0-based) of the data directory's postmaster.pid, if it is there. */
function pidFileLine(dataDir: string, index: number): string | undefined {
  try {
    return readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[index];
  } catch {
    return undefined;
  }
}

/** Removes a dead postmaster's shared memory segment if it is still there, unattached, with its key. */
async function removeSegment(segment: { key: string; id: string }): Promise<void> {
  let table = '';
  try {
    table = readFileSync('/proc/sysvipc/shm', 'utf8');
  } catch {
    return;
  }
  const ours = table.split('\n').some((line) => {
    const f = line.trim().split(/\s+/); // key shmid perms size cpid lpid nattch ...
    return f[0] === segment.key && f[1] === segment.id && f[6] === '0';
  });
  if (!ours) return;
  await new Promise<void>((resolve) => execFile('ipcrm', ['-m', segment.id], () => resolve()));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Runs as a separate, detached process (its own session: a Ctrl-C for the test run does not reach
 * it) whose stdin is a pipe from this process: `read` returns when this process closes it or
 * dies, however it dies. Then the server is stopped immediately and the directory removed.
 */
const WATCHDOG = `
dir="$1"
read -r _ || true
pidfile="$dir/data/postmaster.pid"
if [ -f "$pidfile" ]; then
  pid=$(head -n 1 "$pidfile")
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ]; then
    kill -QUIT "$pid" 2>/dev/null
    for _ in $(seq 50); do [ -f "$pidfile" ] || break; sleep 0.1; done
    [ -f "$pidfile" ] && kill -KILL "$pid" 2>/dev/null
  fi
fi
rm -rf -- "$dir"
`;

function startWatchdog(dir: string): ChildProcess {
  const child = spawn('bash', ['-c', WATCHDOG, 'mpocert-pg-watchdog', dir], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  child.on('error', () => undefined);
  child.stdin?.on('error', () => undefined);
  // Neither the process nor its pipe keeps this process's event loop alive.
  child.unref();
  (child.stdin as unknown as net.Socket | null)?.unref();
  return child;
}

/** Starts a private cluster (initdb in a new temporary directory, then pg_ctl start on a free port). */
export async function startPostgres(): Promise<PrivateCluster> {
  const bin = postgresBinDir();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mpocert-pg-'));
  if (dir.includes("'")) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL test cluster: temporary directory ${dir} has a quote in its path (it is quoted in pg_ctl's server options)`);
  }
  const watchdog = startWatchdog(dir);
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'log');
  let port = 0;
  let running = false;
  // After kill9(): the dead postmaster's System V shared memory segment (key, id), which only a
  // later start of the cluster would recycle; destroy() removes it if the cluster was not started.
  let crashedSegment: { key: string; id: string } | undefined;

  const options = (): string =>
    // The socket lives in the private directory; fsync and full-page writes are off for speed (the
    // OS page cache survives a killed server, so kill9() loses nothing). synchronous_commit stays
    // on: with it off a commit returns before its WAL is written, and kill9() loses committed rows.
    [`-p ${port}`, `-k '${dir}'`, '-c listen_addresses=127.0.0.1', '-c fsync=off', '-c full_page_writes=off'].join(' ');

  const pgCtlStart = async (): Promise<RunResult> => runAsOwner(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-o', options(), '-l', logFile, '-w', '-t', '60', 'start'], dir, 90_000);

  const postmasterPid = (): number | undefined => {
    const pid = Number(pidFileLine(dataDir, 0));
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  };

  const immediateStop = async (): Promise<void> => {
    if (!running) return;
    const r = await runAsOwner(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop'], dir);
    if (r.code !== 0) {
      const pid = postmasterPid();
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    running = false;
  };

  const cluster: PrivateCluster = {
    get url() {
      return `postgres://postgres@127.0.0.1:${port}/postgres`;
    },
    get port() {
      return port;
    },
    dataDir,
    dir,
    logFile,

    async createDatabase(name: string): Promise<string> {
      const client = new pg.Client({ connectionString: cluster.url });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
      } catch (err) {
        throw new Error(`PostgreSQL test cluster: CREATE DATABASE ${name} on port ${port} failed: ${(err as Error).message}\n${logTail(logFile)}`);
      } finally {
        await client.end().catch(() => undefined);
      }
      return `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(name)}`;
    },

    async stop(): Promise<void> {
      if (!running) return;
      const r = await runAsOwner(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop'], dir, 90_000);
      if (r.code !== 0) throw failure(`pg_ctl stop -m fast (port ${port}, ${dataDir})`, r, logFile);
      running = false;
    },

    async start(): Promise<void> {
      if (running) return;
      const r = await pgCtlStart();
      if (r.code !== 0) throw failure(`pg_ctl start (port ${port}, ${dataDir})`, r, logFile);
      running = true;
      crashedSegment = undefined;
    },

    async kill9(): Promise<void> {
      if (!running) return;
      const pid = postmasterPid();
      if (pid === undefined) throw new Error(`PostgreSQL test cluster: kill9: no postmaster.pid in ${dataDir}\n${logTail(logFile)}`);
      const children = childrenOf(pid);
      process.kill(pid, 'SIGKILL');
      running = false;
      // The children notice the postmaster's death and exit by themselves; SIGKILL any that do not.
      const deadline = Date.now() + 10_000;
      while (!dead(pid) || children.some((c) => !dead(c))) {
        if (Date.now() > deadline) {
          for (const c of children) if (!dead(c)) process.kill(c, 'SIGKILL');
          await sleep(200);
          break;
        }
        await sleep(20);
      }
      // The postmaster was started by pg_ctl, so init, not this process, reaps it, and until then its
      // zombie makes postmaster.pid look alive to the next start ("lock file already exists"). It is
      // dead: remove its stale lock files, as an administrator would after a crash. Recovery does not
      // depend on them (the control file says the cluster was not shut down).
      const [key, id] = (pidFileLine(dataDir, 6) ?? '').trim().split(/\s+/);
      if (key && id) crashedSegment = { key, id };
      rmSync(path.join(dataDir, 'postmaster.pid'), { force: true });
      rmSync(path.join(dir, `.s.PGSQL.${port}.lock`), { force: true });
    },

    async destroy(): Promise<void> {
      try {
        await immediateStop();
        if (crashedSegment) await removeSegment(crashedSegment);
        crashedSegment = undefined;
      } finally {
        await rm(dir, { recursive: true, force: true });
        watchdog.kill('SIGKILL');
      }
    },
  };

  try {
    if (isRoot) {
      const id = await new Promise<{ uid: number; gid: number }>((resolve, reject) =>
        execFile('id', ['-u', 'postgres'], (err, uid) =>
          err ? reject(new Error(`PostgreSQL test cluster: no postgres user to run the server as (installing Debian's postgresql creates it): ${err.message}`)) :
            execFile('id', ['-g', 'postgres'], (err2, gid) => (err2 ? reject(err2) : resolve({ uid: Number(uid), gid: Number(gid) }))),
        ),
      );
      await chown(dir, id.uid, id.gid);
    }
    const init = await runAsOwner(path.join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C'], dir);
    if (init.code !== 0) throw failure(`initdb ${dataDir}${isRoot ? ' (as postgres; can it reach the temporary directory?)' : ''}`, init);
    // The port was free when picked, but another process (another test file) may take it before the
    // server binds it: then pick another.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const logBefore = existsSync(logFile) ? readFileSync(logFile, 'utf8').length : 0;
      const r = await pgCtlStart();
      if (r.code === 0) break;
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(logBefore) : '';
      if (attempt < 5 && /could not bind|Address already in use/i.test(log)) continue;
      throw failure(`pg_ctl start (port ${port}, ${dataDir})`, r, logFile);
    }
    running = true;
  } catch (err) {
    await cluster.destroy().catch(() => undefined);
    throw err;
  }
  return cluster;
}
