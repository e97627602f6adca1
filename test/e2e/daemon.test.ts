import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  benchConfig,
  DaemonProcess,
  root,
  send,
  startSimulatorProcess,
  tempDir,
  TOKEN,
  writeConfig,
  type SimulatorProcess,
} from '../helpers/daemon-harness.js';

/**
 * The real daemon process against the simulated bench running as its own process on loopback
 * TCP, driven over HTTP like a user would. Needs `npm run build` first (the test command does).
 */
const MTP_MM_LIMIT = 0.6; // source document: MTP multimode insertion loss max per mated pair

let sim: SimulatorProcess;
let daemon: DaemonProcess;
let tmp: ReturnType<typeof tempDir>;
const api = <T,>(method: string, path: string, body?: unknown, token: string | null = TOKEN) => daemon.api<T>(method, path, body, token);

beforeAll(async () => {
  tmp = tempDir('mpocert-e2e-');
  sim = await startSimulatorProcess({ meter: 0, switch: 0, control: 0 });
  const configPath = writeConfig(tmp.dir, [benchConfig({ id: 'e2e', sim, assemblies: { 'GOOD-1': 'mtp12-om4-good', 'BAD-7': 'mtp12-om4-fiber7-0.9dB' } })]);
  daemon = await new DaemonProcess(configPath).start();
});

afterAll(async () => {
  if (daemon) await daemon.kill('SIGTERM');
  sim?.child.kill('SIGTERM');
  tmp?.remove();
});

interface Judgment { quantity: string; wavelengthNm: number; end: string; value: number | null; limit: number; margin: number | null; outcome: string }
interface CertReply {
  id: number;
  verdict: string;
  limitSet: { id: string; version: string };
  signature: { algorithm: string; keyId: string; hash: string; prevHash: string | null };
  certificate: {
    subject: { kind: string; id: string };
    bench: { id: string; instruments: { raw: string }[] };
    readings: { fiber: number; wavelengthNm: number; referenceDbm: number; measuredDbm: number; lossDb: number }[];
    evaluation: { verdict: string; fibers: { fiber: number; outcome: string; judgments: Judgment[] }[] };
  };
}

const goodLoss = JSON.parse(readFileSync(join(root, 'fixtures/assemblies/mtp12-om4-good.json'), 'utf8')) as { lossDb: Record<string, number[]> };

describe('daemon end to end on the simulated bench', () => {
  it('refuses a job before the bench is referenced, and writes without a token', async () => {
    const noRef = await api('POST', '/jobs', { bench: 'e2e', operator: 'ci', serial: 'GOOD-1', wait: true });
    expect(noRef.status).toBe(422);
    expect(noRef.json).toMatchObject({ error: 'NO_REFERENCE' });
    const noToken = await api('POST', '/benches/e2e/reference', undefined, null);
    expect(noToken.status).toBe(401);
    const wrongToken = await api('POST', '/jobs', { bench: 'e2e', operator: 'ci', serial: 'GOOD-1' }, 'x'.repeat(TOKEN.length));
    expect(wrongToken.status).toBe(401);
    // Refused before validation: a bad body without a token is a 401, not a schema lesson.
    const badBodyNoToken = await api('POST', '/jobs', { nonsense: true }, null);
    expect(badBodyNoToken.status).toBe(401);
    expect((await api('GET', '/jobs/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('accepts content-type: application/json with no body on a route that takes none; a route that needs one says so', async () => {
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const ref = await send<{ benchId: string }>(daemon.base, { method: 'POST', path: '/benches/e2e/reference', headers, body: '' });
    expect(ref.status).toBe(200);
    expect(ref.json.benchId).toBe('e2e');
    const job = await send<{ error: string; message: string }>(daemon.base, { method: 'POST', path: '/jobs', headers, body: '' });
    expect(job.status).toBe(400);
    expect(job.json).toEqual({ error: 'bad-request', message: 'body must be object' });
    const broken = await send<{ error: string; message: string }>(daemon.base, { method: 'POST', path: '/benches/e2e/reference', headers, body: '{"a":' });
    expect(broken.status).toBe(400);
  });

  it('references the bench: source minus launch-cord loss per fiber', async () => {
    const ref = await api<{ powerDbm: Record<string, number[]> }>('POST', '/benches/e2e/reference');
    expect(ref.status).toBe(200);
    // Simulator: source -20.00 dBm at 850 nm, launch cord 0.10 dB on fiber 1 and 0.14 dB on fiber 6.
    expect(ref.json.powerDbm['850']![0]).toBeCloseTo(-20.1, 6);
    expect(ref.json.powerDbm['850']![5]).toBeCloseTo(-20.14, 6);
    expect(ref.json.powerDbm['1300']![0]).toBeCloseTo(-20.6, 6);
  });

  it('certifies a good assembly PASS with every fiber judged against 0.60 dB', async () => {
    const job = await api<{ state: string; certificateId: number; verdict: string }>('POST', '/jobs', { bench: 'e2e', operator: 'ci', serial: 'GOOD-1', wait: true });
    expect(job.status).toBe(200);
    expect(job.json.state).toBe('completed');
    const cert = await api<CertReply>('GET', `/certificates/${job.json.certificateId}`);
    expect(cert.status).toBe(200);
    const c = cert.json;
    expect(c.verdict).toBe('PASS');
    expect(c.limitSet).toEqual({ id: 'mtp-mpo-connector-grades', version: '1.1.0' });
    expect(c.signature.algorithm).toBe('Ed25519');
    expect(c.signature.prevHash).toBeNull(); // first certificate of this bench
    expect(c.certificate.subject).toMatchObject({ kind: 'assembly', id: 'GOOD-1', description: { fiberType: 'OM4', fiberCount: 12 } });
    expect(c.certificate.bench.instruments.map((i) => i.raw.split(',')[0])).toEqual(['THORLABS', expect.any(String)]);
    // 12 fibers x 2 wavelengths, from end A and (the assembly turned round) from end B.
    expect(c.certificate.readings).toHaveLength(48);
    const fibers = c.certificate.evaluation.fibers;
    expect(fibers.map((f) => f.fiber)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    for (const f of fibers) {
      expect(f.outcome).toBe('PASS');
      expect(f.judgments.map((j) => `${j.end}${j.wavelengthNm}`)).toEqual(['A850', 'A1300', 'B850', 'B1300']);
      for (const j of f.judgments) {
        // Type B: end-B position p carries the fiber at end-A position 13 - p, with the same loss.
        const expected = goodLoss.lossDb[String(j.wavelengthNm)]![(j.end === 'A' ? f.fiber : 13 - f.fiber) - 1]!;
        expect(j.value).toBe(expected);
        expect(j.limit).toBe(MTP_MM_LIMIT);
        expect(j.margin).toBeCloseTo(MTP_MM_LIMIT - expected, 9);
      }
    }
    // fiber 10 is the worst at 850 nm: 0.45 dB, margin 0.15 dB
    expect(fibers[9]!.judgments.find((j) => j.wavelengthNm === 850)!.margin).toBeCloseTo(0.15, 6);
  });

  it('certifies the bad assembly FAIL on fiber 7 only, with value, limit and margin', async () => {
    const job = await api<{ state: string; certificateId: number }>('POST', '/jobs', { bench: 'e2e', operator: 'ci', serial: 'BAD-7', wait: true });
    expect(job.json.state).toBe('completed');
    const c = (await api<CertReply>('GET', `/certificates/${job.json.certificateId}`)).json;
    expect(c.verdict).toBe('FAIL');
    // Fiber 7 at end A is position 6 at end B (type B): the bad fiber fails from both ends.
    const failing = c.certificate.evaluation.fibers.filter((f) => f.outcome !== 'PASS');
    expect(failing.map((f) => f.fiber)).toEqual([6, 7]);
    expect(failing[0]!.judgments.filter((j) => j.outcome === 'FAIL').map((j) => `${j.end}${j.wavelengthNm} ${j.value}`)).toEqual(['B850 0.9', 'B1300 0.85']);
    const at = (wl: number): Judgment => failing[1]!.judgments.find((j) => j.wavelengthNm === wl && j.end === 'A')!;
    expect(at(850)).toMatchObject({ outcome: 'FAIL', limit: 0.6 });
    expect(at(850).value).toBeCloseTo(0.9, 6);
    expect(at(850).margin).toBeCloseTo(-0.3, 6);
    expect(at(1300).value).toBeCloseTo(0.85, 6);
    expect(at(1300).margin).toBeCloseTo(-0.25, 6);

    const list = await api<{ total: number; items: { id: number; verdict: string; serial: string }[] }>('GET', '/certificates?verdict=FAIL');
    expect(list.json.total).toBe(1);
    expect(list.json.items[0]).toMatchObject({ id: c.id, verdict: 'FAIL', serial: 'BAD-7' });

    const html = await api('GET', `/certificates/${c.id}?format=html`);
    expect(html.type).toContain('text/html');
    expect(html.text).toContain('<p class="verdict">FAIL</p>');
    const row7 = /<tr class="FAIL"><td>7<\/td>(.*?)<\/tr>/s.exec(html.text)![1]!;
    // IL 850 nm then IL 1300 nm: value (margin), each titled with its outcome and limit.
    // IL 850 and 1300 nm from end A fail; end B (position 7 there is fiber 6, 0.40 and 0.35 dB) passes.
    expect(row7).toMatch(/^<td class="n" style="color:#b3261e" title="FAIL; limit ≤ 0\.60 dB: [^"]+">0\.90 <small>\(-0\.30\)<\/small><\/td><td class="n" style="color:#b3261e" title="FAIL; limit ≤ 0\.60 dB: [^"]+">0\.85 <small>\(-0\.25\)<\/small><\/td><td class="n"[^>]*>0\.40 <small>\(0\.20\)<\/small><\/td><td class="n"[^>]*>0\.35 <small>\(0\.25\)<\/small><\/td><td style="color:#b3261e"><b>FAIL<\/b><\/td>/);
    expect(html.text.match(/<tr class="PASS">/g)).toHaveLength(10);
    expect(html.text).toContain('<dt>Description</dt><dd>12-fiber OM4; end A MTP female (unpinned), end B MTP female (unpinned)</dd>');
    const basis = /<dt>Limit basis<\/dt><dd>(.*?)<\/dd>/.exec(html.text)![1];
    expect(basis).toBe('end A grade MTP 0.60 dB (own grade, one connector per reading) (multimode)<br>end B grade MTP 0.60 dB (own grade, one connector per reading) (multimode)');

    const csv = await api('GET', `/certificates/${c.id}?format=csv`);
    const rows = csv.text.trim().split('\r\n');
    expect(rows).toHaveLength(1 + 48);
    expect(rows[0]).toBe('certificate,subject,verdict,limit_set,fiber,wavelength_nm,end,quantity,value_db,limit_db,limit_kind,limit_basis,margin_db,outcome,reason,headroom_db,integrity');
    const fields = rows.find((r) => r.includes(',7,850,A,'))!.match(/("([^"]|"")*"|[^,]*)(,|$)/g)!.map((f) => f.replace(/,$/, '').replace(/^"|"$/g, ''));
    expect(fields.slice(1, 8)).toEqual(['BAD-7', 'FAIL', 'mtp-mpo-connector-grades@1.1.0', '7', '850', 'A', 'insertion loss']);
    expect(Number(fields[8])).toBeCloseTo(0.9, 9);
    expect(fields.slice(9, 12)).toEqual(['0.6', 'max', 'end A grade MTP 0.60 dB (own grade, one connector per reading) (multimode)']);
    expect(Number(fields[12])).toBeCloseTo(-0.3, 9);
    expect(fields.slice(13, 15)).toEqual([
      'FAIL',
      'insertion loss 0.90 dB on fiber 7 at 850 nm, end A exceeds the maximum 0.60 dB (end A grade MTP 0.60 dB (own grade, one connector per reading) (multimode))',
    ]);

    const verify = await api<{ valid: boolean }>('GET', `/certificates/${c.id}/verify`);
    expect(verify.json.valid).toBe(true);
  });

  it('publishes Prometheus metrics and an OpenAPI document', async () => {
    const metrics = await api('GET', '/metrics');
    expect(metrics.type).toContain('text/plain');
    expect(metrics.text).toContain('mpocert_certificates_total{bench="e2e",verdict="PASS"} 1');
    expect(metrics.text).toContain('mpocert_certificates_total{bench="e2e",verdict="FAIL"} 1');
    expect(metrics.text).toContain('mpocert_jobs_total{bench="e2e",state="completed"} 2');
    expect(metrics.text).toContain('mpocert_instrument_online{bench="e2e",instrument="meter"} 1');
    expect(metrics.text).toMatch(/mpocert_http_request_duration_seconds_count\{method="GET",route="\/certificates\/:id",status="200"\} \d+/);
    const openapi = await api<{ openapi: string; paths: Record<string, Record<string, unknown>> }>('GET', '/openapi.json');
    expect(openapi.json.openapi).toMatch(/^3\./);
    expect(Object.keys(openapi.json.paths).sort()).toEqual(
      ['/benches/{id}/confirm', '/benches/{id}/cords', '/benches/{id}/reference', '/checkpoints', '/certificates', '/certificates/{id}', '/certificates/{id}/verify', '/healthz', '/jobs', '/jobs/{id}', '/signing-keys', '/status'].sort(),
    );
    expect(openapi.json.paths['/jobs']!.post).toMatchObject({ security: [{ bearer: [] }] });
  });

  it('answers bad requests with 4xx and a message', async () => {
    expect((await api('GET', '/certificates/999999')).status).toBe(404);
    expect((await api('GET', '/certificates/abc')).status).toBe(400);
    // Ids are plain decimal: 1e400, 0x1, 01 and +1 name nothing (they would alias certificate 1).
    for (const id of ['1e400', '0x1', '01', '+1', '1.0', '99999999999999999999']) {
      const r = await api<{ message: string }>('GET', `/certificates/${encodeURIComponent(id)}`);
      expect(r.status, id).toBe(400);
      expect(r.json.message).toBe('params/id must match pattern "^[1-9][0-9]{0,15}$"');
    }
    expect((await api('GET', '/certificates/1e400/verify')).status).toBe(400);
    const unknownBench = await api<{ message: string }>('POST', '/jobs', { bench: 'nope', operator: 'ci', serial: 'X' });
    expect(unknownBench.status).toBe(404);
    expect(unknownBench.json.message).toContain('no bench "nope"');
    const unknownDut = await api('POST', '/jobs', { bench: 'e2e', operator: 'ci', serial: 'NOT-ON-BENCH', wait: true });
    expect(unknownDut.json).toMatchObject({ state: 'aborted' });
  });

  it('stops cleanly on SIGTERM', async () => {
    expect(await daemon.kill('SIGTERM')).toBe(0);
  });
});
