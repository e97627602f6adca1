import { readFileSync } from 'node:fs';
import { projectRoot } from '../project-root.js';

const pkg = JSON.parse(readFileSync(`${projectRoot()}/package.json`, 'utf8')) as { name: string; version: string };

/** Written into every certificate: which software judged it. */
export const SOFTWARE = { name: pkg.name, version: pkg.version, node: process.version } as const;
