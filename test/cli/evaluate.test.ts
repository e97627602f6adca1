import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitCodeFor, worstOf, type Evaluation } from '../../src/evaluation/index.js';
import { runEvaluateCommand } from '../../src/cli/evaluate.js';
import { assembly } from '../helpers/records.js';

async function run(path: string, options = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runEvaluateCommand(path, { io: { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) }, ...options });
  return { code, stdout, stderr };
}

function tempRecord(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'mpocert-record-')), 'record.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('mpocert evaluate <record.json>', () => {
  it('prints the certificate as JSON and exits 0 on PASS', async () => {
    const { code, stdout, stderr } = await run('fixtures/records/assembly-mtp12-om4-pass.json');
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const certificate = JSON.parse(stdout) as Evaluation;
    expect(certificate).toMatchObject({ verdict: 'PASS', subject: { kind: 'assembly', id: 'MTP12-OM4-000123' }, limitSet: { id: 'mtp-mpo-connector-grades', version: '1.1.0' } });
    expect(certificate.ends).toEqual({ certified: ['A', 'B'] });
    expect(certificate.setup).toMatchObject({ accepted: true, refusals: [] });
  });

  it('exits 0 on MARGINAL, 1 on FAIL, 2 on INVALID', async () => {
    expect((await run(tempRecord(assembly({ readings: assembly().readings.map((r) => ({ ...r, lossDb: 0.58 })) })))).code).toBe(0);
    expect((await run('fixtures/records/assembly-mtp12-om4-fail-fiber7.json')).code).toBe(1);
    const invalid = await run('fixtures/records/assembly-mtp12-om4-reference-error.json');
    expect(invalid.code).toBe(2);
    expect((JSON.parse(invalid.stdout) as Evaluation).verdict).toBe('INVALID');
    expect((await run('fixtures/records/link-400gbase-sr8-om4.json')).code).toBe(0);
  });

  it('exits 2 on bad input with one line naming the field, and no stack trace', async () => {
    const bad = assembly();
    (bad.readings[3] as unknown as Record<string, unknown>).lossDb = 'x';
    const result = await run(tempRecord(bad));
    expect(result).toEqual({ code: 2, stdout: '', stderr: 'mpocert evaluate: /readings/3/lossDb: must be number\n' });
    const notJson = await run(tempRecord('{ nope'));
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/^mpocert evaluate: .*record\.json: the record is not JSON: .*\n$/);
    expect(notJson.stderr.split('\n')).toHaveLength(2);
    expect((await run('/nonexistent/record.json')).stderr).toMatch(/^mpocert evaluate: \/nonexistent\/record\.json: cannot read the record/);
  });

  it('reports drift against a previous certificate file', async () => {
    const first = await run('fixtures/records/assembly-mtp12-om4-pass.json');
    const previousPath = tempRecord(first.stdout);
    const again = await run('fixtures/records/assembly-mtp12-om4-pass.json', { previousPath });
    expect((JSON.parse(again.stdout) as Evaluation).drift).toMatchObject({ flaggedCount: 0, largestChangeDb: 0 });
  });
});

describe('verdict order and exit codes', () => {
  it('PASS < MARGINAL < FAIL < INVALID; INVALID is never PASS', () => {
    expect(worstOf([])).toBe('PASS');
    expect(worstOf(['PASS', 'MARGINAL'])).toBe('MARGINAL');
    expect(worstOf(['MARGINAL', 'FAIL', 'PASS'])).toBe('FAIL');
    expect(worstOf(['FAIL', 'INVALID', 'PASS'])).toBe('INVALID');
    expect([exitCodeFor('PASS'), exitCodeFor('MARGINAL'), exitCodeFor('FAIL'), exitCodeFor('INVALID')]).toEqual([0, 0, 1, 2]);
  });
});
