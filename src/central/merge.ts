import type { Pool, PoolClient } from 'pg';
import { shippedColumnsDisagreeing, shippedPayload, type ShippedCertificate } from '../store/certificate-store.js';
import { decompressBody } from '../store/compact-body.js';
import { sha256Hex, verifyBytes } from '../store/signing-key.js';
import type { TrustedKeys } from '../store/trusted-keys.js';

/**
 * QA's pinned keys, per site: a copy of each site's trusted keys file (mpocert's custody files),
 * kept by QA with the hub (central-trust.ts), never read from the database (a key in the database
 * beside the certificates it vouches for proves nothing) and never learned from what a bench ships.
 */
export interface CentralTrust {
  /** The trusted keys for a site's benches, or undefined when QA pinned none for it. */
  forSite(site: string): Pick<TrustedKeys, 'publicKeyPem' | 'retiredAt' | 'entries'> | undefined;
}

export interface MergeResult {
  merged: number;
  duplicates: number;
  quarantined: number;
  /** Certificates still in the inbox: an earlier one of their bench has not arrived yet. */
  waiting: number;
  other: number;
}

interface InboxRecord {
  id: string;
  kind: 'certificate' | 'job-aborted' | 'signing-key';
  ref: string;
  site: string;
  bench_id: string | null;
  bench_seq: string | null;
  fields: Record<string, unknown>;
  body: Buffer | null;
  received_at: Date;
}

/** One merge at a time across hubs: an arbitrary fixed advisory-lock key ("mpocert merge"). */
const MERGE_LOCK = 7_351_420_012;
/** Certificates of one bench per batch: a hundred benches shipping at once all make progress. */
const PER_BENCH = 100;

const hex = (b: Buffer | null): string | null => (b === null ? null : b.toString('hex'));

/**
 * Moves what benches shipped from the inbox into the central store, each certificate only after
 * it verified: the body is what was signed (hash), the signature is by a key QA pinned for the
 * site (and not one rotated away before it signed), the columns say what the body says, and it
 * links to the bench's previous merged certificate (sequence and hash). Anything else goes to
 * quarantine with the reason, never into `certificates`; a bench's later certificates that link
 * to a quarantined one fail their link and are quarantined too, until QA looks; one signed by a
 * key QA has not pinned for the site waits (with the bench's later ones) until QA pins it. The same
 * certificate twice is a duplicate and dropped; another certificate for a sequence already merged
 * is a fork and quarantined. A certificate whose predecessor has not arrived yet waits in the
 * inbox. Returns what it did; runs in batches until the inbox holds nothing it can decide.
 */
export async function mergeInbox(pool: Pool, trust: CentralTrust, batch = 500): Promise<MergeResult> {
  const total: MergeResult = { merged: 0, duplicates: 0, quarantined: 0, waiting: 0, other: 0 };
  for (;;) {
    const r = await mergeBatch(pool, trust, batch);
    total.merged += r.merged;
    total.duplicates += r.duplicates;
    total.quarantined += r.quarantined;
    total.other += r.other;
    total.waiting = r.waiting;
    if (r.merged + r.duplicates + r.quarantined + r.other === 0) return total;
  }
}

async function mergeBatch(pool: Pool, trust: CentralTrust, batch: number): Promise<MergeResult> {
  const client = await pool.connect();
  const result: MergeResult = { merged: 0, duplicates: 0, quarantined: 0, waiting: 0, other: 0 };
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MERGE_LOCK]);
    // Keys and aborts first (they need no order), then certificates in chain order per bench.
    const others = await client.query<InboxRecord>(`SELECT * FROM inbox WHERE kind <> 'certificate' ORDER BY id LIMIT $1`, [batch]);
    for (const row of others.rows) {
      // Each row on its own: one malformed row is quarantined with its error, never stops the rest.
      await client.query('SAVEPOINT one_row');
      try {
        await mergeOther(client, row);
        await client.query('RELEASE SAVEPOINT one_row');
      } catch (err) {
        await client.query('ROLLBACK TO SAVEPOINT one_row');
        await quarantineRow(client, row, `malformed ${row.kind}: ${(err as Error).message}`);
      }
      result.other++;
    }    // Only what can be decided now: benches whose oldest waiting certificate is their next
    // sequence (or at or below their head: duplicates, forks), at most PER_BENCH of each. A bench
    // waiting for a missing predecessor is left out entirely, so however much it has queued
    // behind the gap it never fills a batch and starves the others.
    const certs = await client.query<InboxRecord>(
      `SELECT * FROM (
         SELECT i.*, ROW_NUMBER() OVER w AS rn, MIN(i.bench_seq) OVER w2 AS first_seq, COALESCE(h.seq, 0) AS head_seq
         FROM inbox i LEFT JOIN bench_heads h ON h.site = i.site AND h.bench_id = i.bench_id
         WHERE i.kind = 'certificate'
         WINDOW w AS (PARTITION BY i.site, i.bench_id ORDER BY i.bench_seq, i.id), w2 AS (PARTITION BY i.site, i.bench_id)
       ) x
       WHERE x.first_seq <= x.head_seq + 1 AND x.rn <= $2
       ORDER BY x.site, x.bench_id, x.bench_seq, x.id LIMIT $1`,
      [batch, PER_BENCH],
    );
    const stalled = new Set<string>();
    for (const row of certs.rows) {
      const bench = `${row.site}\u0000${row.bench_id}`;
      if (stalled.has(bench)) continue;
      await client.query('SAVEPOINT one_row');
      let outcome: Outcome;
      try {
        outcome = await mergeCertificate(client, trust, row);
        await client.query('RELEASE SAVEPOINT one_row');
      } catch (err) {
        await client.query('ROLLBACK TO SAVEPOINT one_row');
        await quarantineRow(client, row, `malformed certificate shipment: ${(err as Error).message}`);
        outcome = 'quarantined';
      }
      if (outcome === 'waiting') stalled.add(bench);
      else result[outcome]++;
    }
    result.waiting = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM inbox WHERE kind = 'certificate'`)).rows[0]!.n);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

type Outcome = 'merged' | 'duplicates' | 'quarantined' | 'waiting';

async function mergeCertificate(client: PoolClient, trust: CentralTrust, row: InboxRecord): Promise<Outcome> {
  const seq = Number(row.bench_seq);
  const quarantine = async (problem: string): Promise<Outcome> => {
    await quarantineRow(client, row, problem);
    return 'quarantined';
  };
  const malformed = shapeProblem(row);
  if (malformed) return quarantine(`malformed certificate shipment: ${malformed}`);

  const existing = await client.query<{ hash: Buffer }>('SELECT hash FROM certificates WHERE uuid = $1', [row.ref]);
  const f = row.fields as Omit<ShippedCertificate, 'body'>;
  if (existing.rows[0]) {
    if (hex(existing.rows[0].hash) === f.hash) {
      // Shipped again (a bench that crashed after PostgreSQL committed): harmless.
      await client.query('DELETE FROM inbox WHERE id = $1', [row.id]);
      return 'duplicates';
    }
    return quarantine(`certificate ${row.ref} arrived again with other content (hash ${f.hash}, merged ${hex(existing.rows[0].hash)})`);
  }
  const head = (await client.query<{ seq: string; hash: Buffer; key_id: Buffer | null; issued_at: string | null }>(
    'SELECT seq, hash, key_id, issued_at FROM bench_heads WHERE site = $1 AND bench_id = $2 FOR UPDATE',
    [row.site, row.bench_id],
  )).rows[0];
  const headSeq = head ? Number(head.seq) : 0;
  if (seq <= headSeq) return quarantine(`bench ${row.bench_id} (${row.site}) sequence ${seq} already holds another certificate: a second chain (a restored or copied bench?)`);
  if (seq > headSeq + 1) {
    // The one before has not arrived: benches ship in order, so it is in flight (or lost: the hub reports the wait).
    return 'waiting';
  }

  // A certificate that fails is quarantined and the bench's head stays where it was: the genuine
  // certificate for that sequence (if the failing one was injected) still merges, and the bench's
  // own later certificates, which link to the quarantined one, fail their link and follow it.
  // A key QA has not pinned (yet) for the site: the certificate waits, it is not refused. The
  // usual cause is a bench that rotated its key before QA copied the site's file; once QA pins
  // it and restarts the hub, the bench's chain merges where it stopped.
  if (trust.forSite(row.site)?.publicKeyPem(f.keyId) === undefined) return 'waiting';
  const problem = verifyShipped(row, f, trust, head ? hex(head.hash) : null) ?? chainKeyProblem(f, trust.forSite(row.site)!, head);
  if (problem) return quarantine(problem);
  const body = row.body!;
  const project = projectOf(decompressBody(body));
  await client.query(
    `INSERT INTO certificates (uuid, site, bench_id, bench_seq, id_on_bench, job_id, subject_kind, serial, link_id, project_id, verdict, limit_set_id, limit_set_version, issued_at, prev_hash, hash, signature, key_id, body)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
    [
      f.uuid, row.site, f.benchId, seq, f.idOnBench, f.jobId, f.subjectKind, f.serial, f.linkId, project, f.verdict, f.limitSetId, f.limitSetVersion, f.issuedAt,
      f.prevHash === null ? null : Buffer.from(f.prevHash, 'hex'), Buffer.from(f.hash, 'hex'), Buffer.from(f.signature, 'base64'), Buffer.from(f.keyId, 'hex'), body,
    ],
  );
  await client.query(
    `INSERT INTO bench_heads (site, bench_id, seq, hash, key_id, issued_at) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (site, bench_id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, key_id = EXCLUDED.key_id, issued_at = EXCLUDED.issued_at`,
    [row.site, row.bench_id, seq, Buffer.from(f.hash, 'hex'), Buffer.from(f.keyId, 'hex'), f.issuedAt],
  );
  await client.query('DELETE FROM inbox WHERE id = $1', [row.id]);
  return 'merged';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** What is wrong with a certificate shipment's shape, before any of it reaches SQL. */
function shapeProblem(row: InboxRecord): string | undefined {
  const f = row.fields as Record<string, unknown> | null;
  if (typeof f !== 'object' || f === null || Array.isArray(f)) return 'its fields are not an object';
  if (!UUID.test(row.ref)) return `ref "${row.ref.slice(0, 64)}" is not a certificate uuid`;
  if (row.bench_id === null || !Number.isSafeInteger(Number(row.bench_seq)) || Number(row.bench_seq) < 1) return 'no bench or sequence';
  for (const k of ['uuid', 'benchId', 'jobId', 'subjectKind', 'verdict', 'limitSetId', 'limitSetVersion', 'issuedAt', 'hash', 'signature', 'keyId'] as const) {
    if (typeof f[k] !== 'string') return `field ${k} is not text`;
  }
  for (const k of ['serial', 'linkId', 'prevHash'] as const) if (f[k] !== null && typeof f[k] !== 'string') return `field ${k} is neither text nor null`;
  if (!Number.isSafeInteger(f['idOnBench'])) return 'field idOnBench is not an integer';
  if (!HEX64.test(f['hash'] as string) || !HEX64.test(f['keyId'] as string) || (f['prevHash'] !== null && !HEX64.test(f['prevHash'] as string))) return 'hash, prevHash or keyId is not 64 hex digits';
  return undefined;
}

/**
 * A bench's chain is signed by one key and its rotation successors, in time order: a key pinned
 * for the site signs for its own benches only (another bench's key, stolen, cannot add to this
 * chain), a retired key never signs after its successor has, and issue times never go back.
 */
function chainKeyProblem(
  f: Omit<ShippedCertificate, 'body'>,
  keys: Pick<TrustedKeys, 'entries'>,
  head: { key_id: Buffer | null; issued_at: string | null } | undefined,
): string | undefined {
  if (!head || head.key_id === null) return undefined;
  const headKey = head.key_id.toString('hex');
  if (head.issued_at !== null && f.issuedAt < head.issued_at) return `issued at ${f.issuedAt}, before the bench's previous certificate (${head.issued_at}): a chain never goes back in time`;
  if (f.keyId === headKey) return undefined;
  // Follow the pinned rotations from the chain's key: the signer must be a successor.
  const seen = new Set<string>([headKey]);
  for (let k = headKey; ; ) {
    const next = keys.entries.find((e) => e.via === 'rotation' && e.from === k);
    if (!next || seen.has(next.keyId)) return `signed by key ${f.keyId}, but this bench's chain is signed by ${headKey} and QA pinned no rotation from it to that key`;
    if (next.keyId === f.keyId) return undefined;
    seen.add(next.keyId);
    k = next.keyId;
  }
}

function projectOf(bodyText: string): string | null {
  const d = JSON.parse(bodyText) as { project?: { id?: unknown } };
  return typeof d.project?.id === 'string' ? d.project.id : null;
}

export { projectOf as projectIdOfBody };

/** Why a shipped certificate may not be merged, or undefined when it verifies. */
export function verifyShipped(
  row: { site: string; bench_id: string | null; ref: string; body: Buffer | null },
  f: Omit<ShippedCertificate, 'body'>,
  trust: CentralTrust,
  previousHash: string | null,
): string | undefined {
  if (row.body === null) return 'no body';
  let body: string;
  try {
    body = decompressBody(row.body);
  } catch (err) {
    return `the body cannot be read: ${(err as Error).message}`;
  }
  if (f.uuid !== row.ref || f.benchId !== row.bench_id) return 'the shipped fields do not name the certificate they were shipped as';
  const shipped: ShippedCertificate = { ...f, body };
  if (sha256Hex(shippedPayload(shipped)) !== f.hash) return 'content does not match its recorded hash';
  const keys = trust.forSite(row.site);
  const pem = keys?.publicKeyPem(f.keyId);
  if (!keys || pem === undefined) return `signing key ${f.keyId} is not pinned for site ${row.site}: QA has not trusted it`;
  if (!verifyBytes(pem, shippedPayload(shipped), f.signature)) return 'signature does not match the content';
  const retired = keys.retiredAt(f.keyId);
  if (retired !== undefined && f.issuedAt > retired) return `signed by key ${f.keyId} at ${f.issuedAt}, after it was rotated away at ${retired}`;
  let document: Record<string, unknown>;
  try {
    document = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return 'the body is not JSON';
  }
  const disagree = shippedColumnsDisagreeing(shipped, document);
  if (disagree.length > 0) return `columns disagree with the signed body: ${disagree.join('; ')}`;
  if (f.prevHash !== previousHash) return `previous-certificate link does not match the bench's chain (links to ${f.prevHash ?? 'nothing'}, the merged predecessor is ${previousHash ?? 'none'})`;
  return undefined;
}

/** A signing key or a job abort: informational, stored once (trust comes from the hub's files). */
async function mergeOther(client: PoolClient, row: InboxRecord): Promise<void> {
  if (row.kind === 'signing-key') {
    const f = row.fields as { keyId: string; publicKeyPem: string; firstUsedAt: string };
    await client.query('INSERT INTO signing_keys (key_id, site, public_key_pem, first_used_at) VALUES ($1, $2, $3, $4) ON CONFLICT (key_id) DO NOTHING', [f.keyId, row.site, f.publicKeyPem, f.firstUsedAt]);
  } else {
    const f = row.fields as { jobId: string; benchId: string; state: string; reason: string | null; operator: string; startedAt: string; endedAt: string | null };
    await client.query(
      'INSERT INTO job_aborts (job_id, site, bench_id, state, reason, operator, started_at, ended_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (job_id) DO NOTHING',
      [f.jobId, row.site, f.benchId, f.state, f.reason, f.operator, f.startedAt, f.endedAt],
    );
  }
  await client.query('DELETE FROM inbox WHERE id = $1', [row.id]);
}

/** Moves an inbox row to quarantine with the reason (the row as received, for QA). */
async function quarantineRow(client: PoolClient, row: InboxRecord, problem: string): Promise<void> {
  await client.query(
    'INSERT INTO quarantine (kind, ref, site, bench_id, bench_seq, fields, body, problem, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
    [row.kind, row.ref, row.site, row.bench_id, row.bench_seq, JSON.stringify(row.fields ?? null), row.body, problem, row.received_at],
  );
  await client.query('DELETE FROM inbox WHERE id = $1', [row.id]);
}
