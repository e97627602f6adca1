/**
 * The layer rules in .dependency-cruiser.cjs hold for the whole tree, and they do catch the
 * imports issue 12 found (http -> daemon, pipeline -> a driver, drivers -> pipeline, a cycle):
 * each is planted in a scratch tree and must be reported by name.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/project-root.js';

const run = promisify(execFile);
const root = projectRoot();
const depcruise = join(root, 'node_modules', '.bin', 'depcruise');

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

async function violations(cwd: string, dirs: string[]): Promise<Violation[]> {
  const r = await run(depcruise, ['--config', '.dependency-cruiser.cjs', '--output-type', 'json', ...dirs], { cwd, maxBuffer: 64 * 1024 * 1024 }).catch(
    (e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }),
  );
  return (JSON.parse(r.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

describe('layers', () => {
  it('the tree has no import against the direction of the layers and no cycle', async () => {
    const found = await violations(root, ['src', 'drivers', 'fixtures', 'benchmarks']);
    expect(found.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)).toEqual([]);
  }, 60_000);

  it('catches each kind of wrong import when planted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mpocert-layers-'));
    try {
      copyFileSync(join(root, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
      writeFileSync(join(dir, 'tsconfig.test.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', allowJs: false } }));
      const files: Record<string, string> = {
        'src/errors.ts': 'export class E extends Error {}\n',
        'src/daemon/metrics.ts': "export const m = 1;\n",
        'src/http/server.ts': "import { m } from '../daemon/metrics.js';\nexport const s = m;\n",
        'drivers/common.ts': "import { r } from '../src/pipeline/runner.js';\nexport class OpticalRangeError extends Error { x = r; }\n",
        'src/pipeline/runner.ts': "import { OpticalRangeError } from '../../drivers/common.js';\nexport const r = OpticalRangeError.name;\n",
        'src/evaluation/a.ts': "import { b } from './b.js';\nexport const a = b;\n",
        'src/evaluation/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
      };
      for (const [f, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, f)), { recursive: true });
        writeFileSync(join(dir, f), text);
      }
      const found = (await violations(dir, ['src', 'drivers'])).map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
      expect(found).toEqual(
        expect.arrayContaining([
          'http: src/http/server.ts -> src/daemon/metrics.ts',
          'pipeline: src/pipeline/runner.ts -> drivers/common.ts',
          'drivers: drivers/common.ts -> src/pipeline/runner.ts',
          'no-circular: src/evaluation/a.ts -> src/evaluation/b.ts',
        ]),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
