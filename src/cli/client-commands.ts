import type { Evaluation } from '../evaluation/index.js';
import { fiberRows, fmtDb } from '../http/certificate-view.js';
import type { JobView } from '../jobs/job-runner.js';
import { createInterface } from 'node:readline';
import { describeError, MpocertError } from '../errors.js';
import { clientFor, type DaemonClient } from './http-client.js';

const out = (s: string): void => void process.stdout.write(s + '\n');

interface ReferenceReply {
  takenAt: string;
  wavelengthsNm: number[];
  fiberCount: number;
  powerDbm: Record<string, number[]>;
  acceptedDespite?: { reason: string; checks: string[] };
  cordVerification?: { cordId: string; against: string; maxLossDb: number | null; lossDb: Record<string, (number | null)[]> };
}

/** With a person's token the daemon knows who it is; with the shared token, name them ($USER by default). */
function operatorFor(client: DaemonClient, given: string | undefined): string | undefined {
  return given ?? (client.personal ? undefined : (process.env.USER ?? 'operator'));
}

export async function referenceCommand(opts: { bench: string; config: string; operator?: string; acceptDespite?: string }): Promise<number> {
  const client = clientFor(opts.config);
  const operator = operatorFor(client, opts.operator);
  const ref = await client.request<ReferenceReply>('POST', `/benches/${encodeURIComponent(opts.bench)}/reference`, {
    ...(operator !== undefined ? { operator } : {}),
    ...(opts.acceptDespite !== undefined ? { acceptDespite: opts.acceptDespite } : {}),
  });
  out(`bench ${opts.bench} referenced at ${ref.takenAt}: ${ref.fiberCount} fibers at ${ref.wavelengthsNm.join(', ')} nm`);
  for (const [wl, row] of Object.entries(ref.powerDbm)) out(`  ${wl} nm: ${row.map((p) => p.toFixed(2)).join(' ')} dBm`);
  if (ref.acceptedDespite) out(`  accepted despite: ${ref.acceptedDespite.checks.join('; ')} (reason: ${ref.acceptedDespite.reason})`);
  const v = ref.cordVerification;
  if (v) {
    out(`launch cord ${v.cordId} verified against ${v.against}: highest loss ${v.maxLossDb === null ? 'no light on a fiber' : `${v.maxLossDb.toFixed(2)} dB`}`);
    for (const [wl, row] of Object.entries(v.lossDb)) out(`  ${wl} nm: ${row.map((x) => (x === null ? '--' : x.toFixed(2))).join(' ')} dB`);
  }
  return 0;
}

/**
 * Starts the job and follows it. On a manual bench every physical step the daemon asks for is
 * printed, and the person confirms it by scanning the serial (a barcode scanner types it and
 * Enter) or pressing Enter; the job's own timeout applies.
 */
export async function certifyCommand(opts: {
  bench: string;
  serial?: string;
  link?: string;
  product?: string;
  operator?: string;
  config: string;
}): Promise<number> {
  if ((opts.serial === undefined) === (opts.link === undefined)) {
    process.stderr.write('mpocert certify: give exactly one of --serial (assembly) or --link (installed link)\n');
    return 2;
  }
  const client = clientFor(opts.config);
  const operator = operatorFor(client, opts.operator);
  let job = await client.request<JobView>('POST', '/jobs', {
    bench: opts.bench,
    ...(operator !== undefined ? { operator } : {}),
    ...(opts.serial !== undefined ? { serial: opts.serial } : { linkId: opts.link }),
    ...(opts.product !== undefined ? { product: opts.product } : {}),
  });
  const input = createInterface({ input: process.stdin, terminal: false });
  const lines = input[Symbol.asyncIterator]();
  let asked: string | undefined;
  try {
    while (job.state === 'running') {
      const step = job.progress.waitingFor;
      if (step && asked !== step.since) {
        asked = step.since;
        out(`>> ${step.instruction}`);
        out(step.confirmSerial ? `   scan ${step.confirmSerial} when done; the bench waits ${step.timeoutS} s` : `   press Enter when done; the bench waits ${step.timeoutS} s`);
        const next = await lines.next();
        if (next.done) throw new MpocertError('NO_OPERATOR', 'the bench asked for a step and stdin closed: run certify from a terminal at a manual bench');
        const scanned = next.value.trim();
        try {
          await client.request('POST', `/benches/${encodeURIComponent(opts.bench)}/confirm`, { step: step.id, ...(scanned ? { serial: scanned } : {}) });
        } catch (err) {
          out(`   not confirmed: ${describeError(err)}`);
          asked = undefined; // ask again
        }
      }
      await new Promise((r) => setTimeout(r, 200));
      job = await client.request<JobView>('GET', `/jobs/${job.id}`);
    }
  } finally {
    input.close();
  }
  if (job.state !== 'completed' || job.certificateId === undefined) {
    process.stderr.write(`mpocert certify: job ${job.id} ${job.state}: ${job.reason ?? 'no reason recorded'}\n`);
    return 2;
  }
  const cert = await client.request<{ verdict: string; certificate: { evaluation: Evaluation; polarityMeasured?: boolean } }>('GET', `/certificates/${job.certificateId}`);
  const evaluation = cert.certificate.evaluation;
  out(`${opts.serial ?? opts.link}: ${cert.verdict}  (certificate ${job.certificateId}, job ${job.id})`);
  if (cert.certificate.polarityMeasured === false) out('  polarity not verified: this bench cannot see where light arrives (loss only)');
  const notPassing = fiberRows(evaluation.fibers).filter((x) => x.outcome !== 'PASS' && x.valueDb !== null && x.outcome !== 'INVALID');
  for (const r of notPassing) {
    out(`  fiber ${r.fiber} end ${r.end} ${r.wavelengthNm} nm ${r.quantity}: ${r.outcome} ${fmtDb(r.valueDb)} dB, limit ${fmtDb(r.limitDb)} dB, margin ${fmtDb(r.marginDb)} dB`);
  }
  // Everything else that kept the verdict from PASS (polarity, setup, missing readings), once each.
  const fiberReasons = new Set(notPassing.map((r) => r.reason));
  for (const reason of evaluation.reasons) if (!fiberReasons.has(reason)) out(`  ${reason}`);
  out(`  JSON: ${client.baseUrl}/certificates/${job.certificateId}`);
  out(`  page: ${client.baseUrl}/certificates/${job.certificateId}?format=html`);
  return cert.verdict === 'PASS' || cert.verdict === 'MARGINAL' ? 0 : cert.verdict === 'FAIL' ? 1 : 2;
}

export async function statusCommand(opts: { config: string }): Promise<number> {
  const client = clientFor(opts.config);
  out(JSON.stringify(await client.request('GET', '/status'), null, 2));
  return 0;
}
