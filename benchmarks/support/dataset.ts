/**
 * The 100,000-certificate database the storage, HTTP and memory figures use. Certificates are
 * inserted through CertificateStore (canonical JSON, SHA-256 chain, Ed25519 signature, the body
 * compressed: the real cost, about 10 ms a certificate, most of it brotli), in transactions of
 * 5,000, from one real certificate the daemon issued for an MTP-24 assembly at two wavelengths;
 * serial, job, date (spread over 2025) and verdict vary.
 */
import { writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CertificateStore, type NewCertificate } from '../../src/store/certificate-store.js';
import { openDatabase } from '../../src/store/database.js';
import { loadOrCreateSigningKey } from '../../src/store/signing-key.js';
import { signCheckpoint } from '../../src/store/checkpoints.js';
import { layoutOf, prepareDataDir } from '../../src/store/data-dir.js';
import { TrustedKeys, writeTrustedKeys } from '../../src/store/trusted-keys.js';
import { benchEntry, certify, Daemon, reference, root, SimHost, tempDir, writeConfig, writeMtp24 } from './harness.js';

export interface TemplateCertificate {
  document: Record<string, unknown>;
  limitSetId: string;
  limitSetVersion: string;
}

/** One real certificate: a simulated MTP-24 bench, the daemon process, one job. */
export async function captureTemplate(): Promise<TemplateCertificate> {
  const tmp = tempDir('mpocert-bench-template-');
  const sim = await new SimHost({ count: 1, channels: 24, transport: 'tcp' }).start();
  const daemon = new Daemon(writeConfig(tmp.dir, [benchEntry('t', sim.benches[0]!, { assemblies: { 'MTP24-GOOD': writeMtp24(tmp.dir) } })]));
  try {
    await daemon.start();
    await reference(daemon, 't');
    const job = await certify(daemon, 't', 'MTP24-GOOD');
    const c = await daemon.api<{ limitSet: { id: string; version: string }; certificate: Record<string, unknown> }>('GET', `/certificates/${job.certificateId}`);
    return { document: c.json.certificate, limitSetId: c.json.limitSet.id, limitSetVersion: c.json.limitSet.version };
  } finally {
    await daemon.stop().catch(() => undefined);
    await sim.close();
    tmp.remove();
  }
}

export const DATASET_YEAR_START = Date.parse('2025-01-01T00:00:00Z');
const YEAR_MS = 365 * 86_400_000;

export function verdictOf(i: number): string {
  if (i % 20 === 0) return 'FAIL';
  if (i % 50 === 1) return 'INVALID';
  if (i % 10 === 3) return 'MARGINAL';
  return 'PASS';
}

/** The i-th certificate of a data set of `count`, from the template. */
export function nthCertificate(t: TemplateCertificate, i: number, count: number): NewCertificate {
  const issuedAt = new Date(DATASET_YEAR_START + Math.floor((i * YEAR_MS) / count)).toISOString();
  const serial = `MTP24-${String(i).padStart(7, '0')}`;
  const jobId = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const verdict = verdictOf(i);
  const d = t.document as { job: Record<string, unknown>; subject: Record<string, unknown>; bench: Record<string, unknown> };
  const benchId = `b${(i % 4) + 1}`;
  return {
    benchId,
    jobId,
    subjectKind: 'assembly',
    serial,
    linkId: null,
    verdict,
    limitSetId: t.limitSetId,
    limitSetVersion: t.limitSetVersion,
    issuedAt,
    document: { ...t.document, issuedAt, bench: { ...d.bench, id: benchId }, job: { ...d.job, id: jobId, testedAt: issuedAt }, subject: { ...d.subject, id: serial }, verdict },
  };
}

/** Fills dataDir/mpocert.db with `count` certificates; returns certificates per second. */
export function fillDatabase(dataDir: string, t: TemplateCertificate, count: number, onProgress?: (n: number) => void): { seconds: number; perSecond: number } {
  const layout = layoutOf(dataDir);
  prepareDataDir(layout);
  const db = openDatabase(layout.database);
  try {
    const key = loadOrCreateSigningKey(layout.signingKey);
    const pinned = TrustedKeys.pin(key, new Date().toISOString());
    if (!TrustedKeys.exists(layout.trustedKeys)) writeTrustedKeys(layout.trustedKeys, pinned);
    const store = new CertificateStore(db, key, new TrustedKeys(pinned, 'dataset'));
    const batch = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) store.insert(nthCertificate(t, i, count));
    });
    const t0 = performance.now();
    for (let from = 0; from < count; from += 5000) {
      batch(from, Math.min(count, from + 5000));
      onProgress?.(Math.min(count, from + 5000));
    }
    const seconds = (performance.now() - t0) / 1000;
    // A checkpoint per certificate, as the daemon writes them (start-up reads them all).
    const lines: string[] = [];
    const sequence = new Map<string, number>();
    for (const row of db.prepare('SELECT id, bench_id AS bench, hash, issued_at FROM certificates ORDER BY id').iterate() as Iterable<{ id: number; bench: string; hash: string; issued_at: string }>) {
      const n = (sequence.get(row.bench) ?? 0) + 1;
      sequence.set(row.bench, n);
      lines.push(JSON.stringify(signCheckpoint(key, { bench: row.bench, sequence: n, certificateId: row.id, headHash: row.hash, at: row.issued_at })));
    }
    writeFileSync(layout.checkpoints, `${lines.join('\n')}\n`, { mode: 0o600 });
    db.pragma('wal_checkpoint(TRUNCATE)');
    return { seconds, perSecond: count / seconds };
  } finally {
    db.close();
  }
}

/** A child process started with `node <script>` that prints one JSON line when ready. */
export async function startChild(script: string, args: string[] = []): Promise<{ info: Record<string, unknown>; pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [join(root, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const info = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (l) => {
      child.removeAllListeners('exit');
      resolve(JSON.parse(l) as Record<string, unknown>);
    });
  });
  return {
    info,
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    },
  };
}
