import type { Evaluation } from '../evaluation/index.js';
import { fiberRows, fmtDb } from '../http/certificate-view.js';
import type { JobView } from '../pipeline/job-runner.js';
import { clientFor } from './http-client.js';

const out = (s: string): void => void process.stdout.write(s + '\n');

export async function referenceCommand(opts: { bench: string; config: string }): Promise<number> {
  const client = clientFor(opts.config);
  const ref = await client.request<{ takenAt: string; wavelengthsNm: number[]; fiberCount: number; powerDbm: Record<string, number[]> }>(
    'POST',
    `/benches/${encodeURIComponent(opts.bench)}/reference`,
  );
  out(`bench ${opts.bench} referenced at ${ref.takenAt}: ${ref.fiberCount} fibers at ${ref.wavelengthsNm.join(', ')} nm`);
  for (const [wl, row] of Object.entries(ref.powerDbm)) out(`  ${wl} nm: ${row.map((p) => p.toFixed(2)).join(' ')} dBm`);
  return 0;
}

export async function certifyCommand(opts: {
  bench: string;
  serial?: string;
  link?: string;
  product?: string;
  operator: string;
  config: string;
}): Promise<number> {
  if ((opts.serial === undefined) === (opts.link === undefined)) {
    process.stderr.write('mpocert certify: give exactly one of --serial (assembly) or --link (installed link)\n');
    return 2;
  }
  const client = clientFor(opts.config);
  const job = await client.request<JobView>('POST', '/jobs', {
    bench: opts.bench,
    operator: opts.operator,
    ...(opts.serial !== undefined ? { serial: opts.serial } : { linkId: opts.link }),
    ...(opts.product !== undefined ? { product: opts.product } : {}),
    wait: true,
  });
  if (job.state !== 'completed' || job.certificateId === undefined) {
    process.stderr.write(`mpocert certify: job ${job.id} ${job.state}: ${job.reason ?? 'no reason recorded'}\n`);
    return 2;
  }
  const cert = await client.request<{ verdict: string; certificate: { evaluation: Evaluation; polarityMeasured?: boolean } }>(
    'GET',
    `/certificates/${job.certificateId}`,
  );
  out(`${opts.serial ?? opts.link}: ${cert.verdict}  (certificate ${job.certificateId}, job ${job.id})`);
  if (cert.certificate.polarityMeasured === false) out('  polarity not verified: this bench cannot see where light arrives (loss only)');
  const notPassing = fiberRows(cert.certificate.evaluation.fibers).filter((x) => x.outcome !== 'PASS');
  if (notPassing.length === 0) for (const reason of cert.certificate.evaluation.reasons) out(`  ${reason}`);
  for (const r of notPassing) {
    out(`  fiber ${r.fiber} ${r.wavelengthNm} nm ${r.quantity}: ${r.outcome} ${fmtDb(r.valueDb)} dB, limit ${fmtDb(r.limitDb)} dB, margin ${fmtDb(r.marginDb)} dB${r.reason ? ` (${r.reason})` : ''}`);
  }
  out(`  JSON: ${client.baseUrl}/certificates/${job.certificateId}`);
  out(`  page: ${client.baseUrl}/certificates/${job.certificateId}?format=html`);
  return cert.verdict === 'PASS' || cert.verdict === 'MARGINAL' ? 0 : cert.verdict === 'FAIL' ? 1 : 2;
}

export async function statusCommand(opts: { config: string }): Promise<number> {
  const client = clientFor(opts.config);
  out(JSON.stringify(await client.request('GET', '/status'), null, 2));
  return 0;
}
