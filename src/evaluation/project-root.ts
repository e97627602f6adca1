import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';

/**
 * The directory holding package.json above a module file. Modules run from `src/` under vitest and
 * from `dist/src/` after tsc, so data directories (limits/) are found from the project root rather
 * than by a fixed number of `..`.
 */
export function findProjectRoot(moduleUrl: string): string {
  let dir = dirname(fileURLToPath(moduleUrl));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new ConfigError(`no package.json above ${fileURLToPath(moduleUrl)}: cannot locate the shipped limits/ directory`);
    dir = parent;
  }
}
