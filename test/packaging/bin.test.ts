/**
 * `npx mpocert` runs the built CLI through the bin link npm made at install time, before anything
 * was built: the build itself must leave the file executable, or a fresh clone's
 * `npm ci && npm start` then `npx mpocert ...` fails with "Permission denied".
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/project-root.js';

describe('the mpocert bin', () => {
  it('is executable after the build, with its shebang', async () => {
    const file = join(projectRoot(), 'dist/src/cli/main.js');
    expect(statSync(file).mode & 0o111).toBe(0o111);
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(file, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});
