import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, existsSync, readdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describePublicKey } from '../../src/store/signing-key.js';
import { withBodyCodec } from '../helpers/stored-body.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchConfig, DaemonProcess, root, send, startSimulatorProcess, tempDir, TOKEN, writeConfig, type SimulatorProcess } from '../helpers/daemon-harness.js';

/**
 * Custody and access on the real daemon process: who may do what, what a stored certificate
 * that fails verification looks like when served, a consistent backup, key rotation, a second
 * daemon on the same data, and the database vanishing underneath a running daemon. One daemon,
 * one data directory, in order: each step builds on the state the previous one left.
 */
let sim: SimulatorProcess;
let tmp: ReturnType<typeof tempDir>;
let configPath: string;
let dataDir: string;
let daemon: DaemonProcess;

function mpocert(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return mpocertAs({}, ...args);
}

function mpocertAs(env: NodeJS.ProcessEnv, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'dist/src/cli/main.js'), ...args, '--config', configPath], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, MPOCERT_URL: daemon.base, ...env },
  });
  expect(r.stderr).not.toMatch(/^\s+at /m);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tokenOf(out: string): string {
  const m = /^token \(shown once; give it to \S+ only\): (mpc_[A-Za-z0-9_-]{43})$/m.exec(out);
  if (!m) throw new Error(`no token in: ${out}`);
  return m[1]!;
}

interface JobDone {
  state: string;
  certificateId: number;
  verdict: string;
}

const certify = (serial: string, token: string, extra: Record<string, unknown> = {}) =>
  daemon.api<JobDone & { error?: string; message?: string }>('POST', '/jobs', { bench: 'b1', serial, wait: true, ...extra }, token);

beforeAll(async () => {
  sim = await startSimulatorProcess({ meter: 0, switch: 0, control: 0 });
  tmp = tempDir('mpocert-custody-daemon-');
  dataDir = join(tmp.dir, 'data');
  // b2 exists only to be refused to an operator of b1: its instruments point at nothing.
  const b2 = {
    ...benchConfig({ id: 'b2', sim }),
    instruments: [
      { id: 'meter', dialect: 'thorlabs-pm100', timeoutMs: 300, transport: { kind: 'tcp', host: '127.0.0.1', port: 1 } },
      { id: 'switch', dialect: 'dicon-mems-switch', timeoutMs: 300, transport: { kind: 'tcp', host: '127.0.0.1', port: 1 } },
    ],
  };
  configPath = writeConfig(tmp.dir, [benchConfig({ id: 'b1', sim }), b2]);
  daemon = await new DaemonProcess(configPath).start();
});

afterAll(async () => {
  await daemon?.kill('SIGTERM');
  sim?.child.kill('SIGTERM');
  tmp?.remove();
});

describe('custody and access on a running daemon', () => {
  let alice: string;
  let quinn: string;
  let firstCert: number;
  let sharedCert: number;
  let ci: string;

  it('people get their own token; an operator may use only their benches; QA may read only; a job records who ran it', async () => {
    // Before anyone has a token of their own, the shared token works, and is nobody in particular:
    // it must name the operator, and the certificate says how it was authenticated.
    expect((await daemon.api('POST', '/benches/b1/reference', {}, TOKEN)).status).toBe(200);
    const anonymous = await certify('GOOD-2', TOKEN);
    expect(anonymous.status).toBe(400);
    expect(anonymous.json.message).toBe('operator: with the shared token, name who runs the job');
    const named = await certify('GOOD-2', TOKEN, { operator: 'night shift' });
    sharedCert = named.json.certificateId;
    const namedCert = await daemon.api<{ certificate: { job: { operator: string; authenticatedAs: string } } }>('GET', `/certificates/${sharedCert}`);
    expect(namedCert.json.certificate.job).toMatchObject({ operator: 'night shift', authenticatedAs: 'shared token' });
    const page = await send(daemon.base, { method: 'GET', path: `/certificates/${sharedCert}?format=html` });
    expect(page.text).toMatch(/<dt>Tested<\/dt><dd>\S+ by night shift \(authenticated as shared token\)<\/dd>/);
    expect(page.headers['content-security-policy']).toBe("default-src 'none'; style-src 'unsafe-inline'; img-src data:");

    const added = mpocert('users', 'add', 'alice', '--role', 'operator', '--bench', 'b1');
    expect(added.status).toBe(0);
    expect(added.stdout.split('\n')[0]).toBe('added alice (operator, benches b1)');
    alice = tokenOf(added.stdout);
    quinn = tokenOf(mpocert('users', 'add', 'quinn', '--role', 'qa').stdout);
    ci = tokenOf(mpocert('users', 'add', 'ci', '--role', 'admin').stdout);
    // The database holds only a hash of each token.
    const db = new Database(join(dataDir, 'mpocert.db'), { readonly: true });
    const stored = db.prepare('SELECT token_hash FROM users').pluck().all() as string[];
    db.close();
    expect(stored.some((h) => h.includes(alice) || h.includes(quinn))).toBe(false);
    // Now that people have their own tokens, a typed name with the shared token certifies nothing.
    const shared = await certify('GOOD-2', TOKEN, { operator: 'alice' });
    expect(shared.status).toBe(403);
    expect(shared.json.message).toBe('people on this daemon have their own tokens (mpocert users add): start jobs with yours (MPOCERT_TOKEN), not the shared token (bench=b1)');

    expect((await daemon.api('POST', '/benches/b1/reference', {}, null)).status).toBe(401);
    expect((await daemon.api('POST', '/benches/b1/reference', {}, 'mpc_not-a-token')).status).toBe(401);
    const qa = await daemon.api('POST', '/benches/b1/reference', {}, quinn);
    expect(qa.status).toBe(403);
    expect(qa.json).toMatchObject({ error: 'FORBIDDEN', message: 'quinn (qa) may not reference or certify on bench "b1" (bench=b1)' });
    const other = await daemon.api('POST', '/jobs', { bench: 'b2', serial: 'GOOD-1' }, alice);
    expect(other.status).toBe(403);
    expect(other.json).toMatchObject({ message: 'alice (operator) may not reference or certify on bench "b2" (bench=b2)' });
    // QA still reads.
    expect((await daemon.api('GET', '/certificates', undefined, quinn)).status).toBe(200);

    const override = await daemon.api<{ message: string }>('POST', '/benches/b1/reference', { acceptDespite: 'new source fitted' }, alice);
    expect(override.status).toBe(403);
    expect(override.json.message).toBe('alice (operator) may not accept a reference the plausibility checks refuse: an admin does (acceptDespite) (bench=b1)');
    expect((await daemon.api('POST', '/benches/b1/reference', {}, alice)).status).toBe(200);
    const impersonate = await certify('GOOD-1', alice, { operator: 'bob' });
    expect(impersonate.status).toBe(400);
    expect(impersonate.json.message).toBe('operator: you are alice; a job is recorded under the person whose token started it');
    const done = await certify('GOOD-1', alice);
    expect(done.json).toMatchObject({ state: 'completed', verdict: 'PASS' });
    firstCert = done.json.certificateId;
    const cert = await daemon.api<{ certificate: { job: { operator: string; authenticatedAs: string } } }>('GET', `/certificates/${firstCert}`);
    expect(cert.json.certificate.job).toMatchObject({ operator: 'alice', authenticatedAs: 'alice' });

    // At the bench, alice uses her own token from the environment: the CLI sends no name, the daemon records hers.
    const cli = mpocertAs({ MPOCERT_TOKEN: alice, USER: 'someone-else' }, 'certify', '--bench', 'b1', '--serial', 'GOOD-1');
    expect(cli.status).toBe(0);
    const cliCert = Number(/certificate (\d+)/.exec(cli.stdout)?.[1]);
    const cliJob = await daemon.api<{ certificate: { job: { operator: string; authenticatedAs: string } } }>('GET', `/certificates/${cliCert}`);
    expect(cliJob.json.certificate.job).toMatchObject({ operator: 'alice', authenticatedAs: 'alice' });

    expect(mpocert('users', 'disable', 'alice')).toMatchObject({ status: 0, stdout: 'alice disabled: their token no longer works\n' });
    expect((await certify('GOOD-1', alice)).status).toBe(401);
    expect(mpocert('users', 'list').stdout).toMatch(/^alice\toperator\tb1\tdisabled \d{4}-\d\d-\d\dT.*\nci\tadmin\t\*\tactive\nquinn\tqa\t\*\tactive\n$/);
  });

  it('refuses text a certificate could not carry faithfully, and ids that are not plain numbers', async () => {
    const raw = (body: string) => send(daemon.base, { method: 'POST', path: '/jobs', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body });
    // A lone surrogate has no UTF-8 form: a certificate holding one could not verify its own signature.
    const lone = await raw('{"bench":"b1","operator":"ci","serial":"GOOD-\\ud800"}');
    expect(lone.status).toBe(400);
    expect((lone.json as { message: string }).message).toBe('serial: contains a control character or an unpaired surrogate; use printable text (field=serial)');
    const bell = await raw('{"bench":"b1","operator":"ci","serial":"GOOD-1\\u0007"}');
    expect(bell.status).toBe(400);
    for (const id of ['0x1', '1e0', '+1', '01', ' 1']) {
      expect((await daemon.api('GET', `/certificates/${encodeURIComponent(id)}`)).status, id).toBe(400);
    }
  });

  it('verifies read-only beside the running daemon, and a backup taken while it runs verifies on its own', () => {
    const before = readdirSync(dataDir).sort();
    const live = mpocert('verify');
    expect(live).toMatchObject({ status: 0, stdout: '3 certificate(s) checked against 1 trusted key(s), all intact\n' });
    expect(readdirSync(dataDir).sort()).toEqual(before);

    const dest = join(tmp.dir, 'backup-1');
    const backup = mpocert('backup', dest);
    expect(backup.status).toBe(0);
    expect(backup.stdout.split('\n')[0]).toBe(`backed up 3 certificate(s) to ${dest} (mpocert.db, checkpoints.jsonl, trusted-keys.json)`);
    expect(readdirSync(dest).sort()).toEqual(['checkpoints.jsonl', 'mpocert.db', 'trusted-keys.json']);
    expect(existsSync(join(dest, 'signing-key.pem'))).toBe(false); // the private key is backed up on its own
    const copy = mpocert('verify', '--db', join(dest, 'mpocert.db'), '--trust', join(dest, 'trusted-keys.json'), '--checkpoints', join(dest, 'checkpoints.jsonl'));
    expect(copy).toMatchObject({ status: 0, stdout: '3 certificate(s) checked against 1 trusted key(s), all intact\n' });
    // Without QA's checkpoints, nothing could show a removed newest certificate: verify says so and does not pass.
    const noAnchor = mpocert('verify', '--db', join(dest, 'mpocert.db'), '--trust', join(dest, 'trusted-keys.json'));
    expect(noAnchor).toMatchObject({
      status: 1,
      stdout:
        'certificate 0: checkpoint: no checkpoints given for 3 certificate(s): removed certificates cannot be detected; pass --checkpoints FILE (QA\'s copy of GET /checkpoints)\n' +
        '3 certificate(s) checked against 1 trusted key(s), 1 problem(s)\n',
    });
    expect(mpocert('backup', dest)).toMatchObject({ status: 2, stderr: `mpocert: ${dest} is not empty: back up into a new directory\n` });
  });

  it('refuses a second daemon on the same data directory and leaves the first working', async () => {
    const second = spawnSync(process.execPath, [join(root, 'dist/src/cli/main.js'), 'serve', '--config', configPath], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, MPOCERT_LOG_FORMAT: 'json' } });
    expect(second.status).toBe(2);
    expect(second.stderr).toContain(`another mpocert (pid ${daemon.pid}`);
    expect(second.stderr).toContain('one daemon per data directory; nothing was changed');
    expect((await daemon.api('GET', '/healthz')).status).toBe(200);
    expect((await certify('GOOD-1', ci)).json).toMatchObject({ state: 'completed', certificateId: 4 });
  });

  it('rotates the signing key: old and new certificates verify against the rotated trust file, not against a stale copy', async () => {
    const qaStaleCopy = join(tmp.dir, 'qa-trusted-keys-before-rotation.json');
    copyFileSync(join(dataDir, 'trusted-keys.json'), qaStaleCopy);
    // Not while the daemon signs with the old key.
    expect(mpocert('keys', 'rotate')).toMatchObject({ status: 2, stderr: expect.stringContaining(`another mpocert (pid ${daemon.pid}`) });
    await daemon.stop();
    const rotated = mpocert('keys', 'rotate');
    expect(rotated.status).toBe(0);
    expect(rotated.stdout).toMatch(/^rotated to key [0-9a-f]{64}; the rotation, signed by [0-9a-f]{64}, is in .*trusted-keys\.json: give QA the new file\n/);
    daemon = await new DaemonProcess(configPath).start();
    expect((await daemon.api('POST', '/benches/b1/reference', {}, ci)).status).toBe(200);
    expect((await certify('GOOD-2', ci)).json).toMatchObject({ state: 'completed', certificateId: 5 });
    expect(mpocert('verify')).toMatchObject({ status: 0, stdout: '5 certificate(s) checked against 2 trusted key(s), all intact\n' });
    const stale = mpocert('verify', '--trust', qaStaleCopy);
    expect(stale.status).toBe(1);
    const newKey = /^rotated to key ([0-9a-f]{64})/.exec(rotated.stdout)![1]!;
    expect(stale.stdout).toBe(
      `certificate 5: untrusted-key: signing key ${newKey} is not a trusted key (${qaStaleCopy})\n` +
        `certificate 0: checkpoint: ${join(dataDir, 'checkpoints.jsonl')} line 5: checkpoint of bench b1 #5 is signed by key ${newKey}, which is not trusted\n` +
        '5 certificate(s) checked against 1 trusted key(s), 2 problem(s)\n',
    );
  });

  it('serves a certificate whose stored bytes were edited flagged, never a 500, and stops its bench', async () => {
    // Bodies are stored compressed: edited as an attacker would, decompressed, changed, compressed again.
    const db = withBodyCodec(new Database(join(dataDir, 'mpocert.db')));
    db.exec('DROP TRIGGER IF EXISTS certificates_no_update');
    // A key written into the database vouches for nothing and is never published.
    const attackerKey = generateKeyPairSync('ed25519').publicKey;
    const described = describePublicKey(attackerKey);
    db.prepare('INSERT INTO signing_keys (key_id, public_key_pem, first_used_at) VALUES (?, ?, ?)').run(described.keyId, described.publicKeyPem, '2026-11-30T00:00:00Z');
    // Whitespace is not content (the signature covers canonical JSON); a name is.
    db.prepare(`UPDATE certificates SET body = body_replace(body, '"operator":"alice"', '"operator":"bob"') WHERE id = ?`).run(firstCert);
    db.prepare(`UPDATE certificates SET body = compress_body(substr(body_text(body), 1, 40)) WHERE id = ?`).run(sharedCert);
    db.close();
    const trusted = (await daemon.api<{ keys: { keyId: string }[] }>('GET', '/signing-keys')).json.keys.map((k) => k.keyId);
    expect(trusted).toHaveLength(2); // the pinned key and the one it rotated to
    expect(trusted).not.toContain(described.keyId);
    const json = await daemon.api<{ integrity: { valid: boolean } }>('GET', `/certificates/${firstCert}`);
    expect(json.status).toBe(200);
    expect(json.headers['x-mpocert-integrity']).toBe('FAILED');
    expect(json.json.integrity.valid).toBe(false);
    const html = await send(daemon.base, { method: 'GET', path: `/certificates/${firstCert}?format=html` });
    expect(html.text).toContain('INTEGRITY CHECK FAILED');
    const csv = await send(daemon.base, { method: 'GET', path: `/certificates/${firstCert}?format=csv` });
    // Neither page nor CSV renders the edited content as a certificate: the problems, and (page) the stored bytes escaped.
    expect(html.text).not.toContain('<p class="verdict">PASS</p>');
    expect(html.text).toContain('<pre>{&quot;');
    expect(csv.text.split('\r\n').slice(0, 3)).toEqual([
      'certificate,problem,detail,integrity',
      `${firstCert},content,content does not match its recorded hash,FAILED`,
      `${firstCert},signature,signature does not match the content,FAILED`,
    ]);
    // A body that is not even JSON is shown as stored, flagged.
    const broken = await daemon.api<{ storedBody: string; integrity: { valid: boolean } }>('GET', `/certificates/${sharedCert}`);
    expect(broken.status).toBe(200);
    expect(broken.headers['x-mpocert-integrity']).toBe('FAILED');
    expect(broken.json.storedBody).toHaveLength(40);
    expect((await send(daemon.base, { method: 'GET', path: `/certificates/${sharedCert}?format=html` })).text).toContain('INTEGRITY CHECK FAILED');
    const verifyRoute = await daemon.api<{ valid: boolean; problems: { problem: string; detail: string }[] }>('GET', `/certificates/${sharedCert}/verify`);
    expect(verifyRoute.status).toBe(200);
    expect(verifyRoute.json.valid).toBe(false);
    expect(verifyRoute.json.problems[0]).toMatchObject({ problem: 'content', detail: 'the stored body is not valid JSON: it was altered' });
    expect(mpocert('verify', '--id', String(sharedCert))).toMatchObject({ status: 1, stdout:
        'certificate 0: schema: the trigger certificates_no_update was dropped outside mpocert\n' +
        `certificate ${sharedCert}: content: the stored body is not valid JSON: it was altered\n1 certificate(s) checked against 2 trusted key(s), 2 problem(s)\n`,
    });
    // The list reads the columns (which verification compares with the signed body)...
    const list = await daemon.api<{ items: { id: number; verdict: string | null; serial: string | null }[] }>('GET', '/certificates?limit=10');
    expect(list.status).toBe(200);
    // ...and every certificate found failing is flagged in the list.
    expect(list.json.items.find((i) => i.id === sharedCert)).toMatchObject({ integrity: 'FAILED' });
    expect(list.json.items.find((i) => i.id === firstCert)).toMatchObject({ verdict: 'PASS', integrity: 'FAILED' });
    expect(list.json.items.filter((i) => (i as { integrity?: string }).integrity === undefined).map((i) => i.id)).toEqual([5, 4, 3]);
    // Once seen, the bench issues nothing more on a chain that fails.
    const refused = await certify('GOOD-1', ci);
    expect(refused.status).toBe(409);
    expect(refused.json).toMatchObject({ error: 'CHAIN_BROKEN' });
    const verify = mpocert('verify');
    expect(verify).toMatchObject({ status: 1, stderr: '' });
    expect(verify.stdout).toContain('certificate 0: schema: the trigger certificates_no_update was dropped outside mpocert\n');
    expect(verify.stdout).toContain(`certificate ${sharedCert}: content: `);

    // QA looks, and acknowledges: the bench certifies again; verify still reports both, annotated.
    expect(mpocert('custody', 'acknowledge', '--certificate', String(firstCert), '--reason', 'short')).toMatchObject({
      status: 2,
      stderr: 'mpocert: --reason: say what was found and done (at least 10 characters); it is kept with the certificate\n',
    });
    const ack = mpocert('custody', 'acknowledge', '--certificate', String(firstCert), '--by', 'qa-lead', '--reason', 'operator name edited in the file; ticket QA-17');
    expect(ack).toMatchObject({ status: 0, stdout: `acknowledged every problem of certificate ${firstCert} (by qa-lead): its bench may certify again; verify still reports it\n` });
    expect((await certify('GOOD-1', ci)).json).toMatchObject({ error: 'CHAIN_BROKEN', message: expect.stringContaining(`certificate ${sharedCert}: content`) });
    mpocert('custody', 'acknowledge', '--certificate', String(sharedCert), '--problem', 'content', '--by', 'qa-lead', '--reason', 'body truncated in the file; ticket QA-18');
    expect((await certify('GOOD-1', ci)).json).toMatchObject({ state: 'completed', verdict: 'PASS' });
    const after = mpocert('verify');
    expect(after.status).toBe(1);
    expect(after.stdout).toMatch(new RegExp(`^certificate ${firstCert}: content: .* \\(acknowledged by qa-lead at \\S+: operator name edited in the file; ticket QA-17\\)$`, 'm'));
  });

  it('notices the database removed underneath it: no more jobs, /healthz 503; restarting over the remains is refused', async () => {
    const dbFile = join(dataDir, 'mpocert.db');
    renameSync(dbFile, join(tmp.dir, 'moved-away.db'));
    const health = await daemon.api('GET', '/healthz');
    expect(health.status).toBe(503);
    expect(health.json).toMatchObject({ error: 'STORAGE_LOST', message: `the database file ${dbFile} was removed while the daemon had it open: accepting no more jobs` });
    const job = await certify('GOOD-1', ci);
    expect(job.status).toBe(503);
    expect(job.json).toMatchObject({ error: 'STORAGE_LOST' });
    await daemon.stop();
    const restart = spawnSync(process.execPath, [join(root, 'dist/src/cli/main.js'), 'serve', '--config', configPath], { encoding: 'utf8', timeout: 30_000 });
    expect(restart.status).toBe(2);
    expect(restart.stderr).toContain(`mpocert: the database ${dbFile} is missing, but`);
    expect(existsSync(dbFile)).toBe(false);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
  });
});
