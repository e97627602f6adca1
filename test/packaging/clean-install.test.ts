/**
 * `npm ci` on the supported Node must be warning-free. npm warns (EBADENGINE) for every locked
 * package whose `engines.node` excludes the running Node, and (install-scripts) for every package
 * with an install script that `allowScripts` does not cover. Both are read from the lockfile, which
 * records each package's engines and whether it has an install script, so this checks exactly what
 * `npm ci` will install without running it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/project-root.js';

interface LockedPackage {
  version?: string;
  engines?: { node?: string } | string[];
  hasInstallScript?: boolean;
  optional?: boolean;
}
const root = projectRoot();
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockedPackage> };
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string }; allowScripts?: Record<string, boolean> };
const locked = Object.entries(lock.packages).filter(([path]) => path !== '');
const nameOf = (path: string): string => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);

describe('a clean install on the supported Node', () => {
  it('every locked package accepts the oldest Node the project supports and the one running the tests', () => {
    const oldest = semver.minVersion(manifest.engines.node)!.version;
    const refused = locked
      .filter(([, p]) => p.engines && !Array.isArray(p.engines) && p.engines.node !== undefined)
      .flatMap(([path, p]) => {
        const range = (p.engines as { node: string }).node;
        return [oldest, process.version]
          .filter((v) => !semver.satisfies(v, range, { includePrerelease: true }))
          .map((v) => `${nameOf(path)}@${p.version} requires node ${range}, not ${v}`);
      });
    expect(refused).toEqual([]);
  });

  it('every package with an install script is reviewed in allowScripts', () => {
    const withScripts = locked.filter(([, p]) => p.hasInstallScript).map(([path]) => nameOf(path));
    expect(withScripts.length).toBeGreaterThan(0); // better-sqlite3 and the serialport binding compile
    expect(withScripts.filter((name) => manifest.allowScripts?.[name] !== true)).toEqual([]);
  });
});
