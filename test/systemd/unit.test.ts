import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from '../helpers/daemon-harness.js';

const unitPath = join(root, 'systemd', 'mpocert.service');

function directives(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

describe('systemd unit', () => {
  it('passes systemd-analyze verify', () => {
    // Throws (and fails the test) with systemd-analyze's complaint on any error.
    const out = execFileSync('systemd-analyze', ['verify', unitPath], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toBe('');
  });

  it('runs node directly as a notify service under a dedicated dialout user, hardened', () => {
    const d = directives(readFileSync(unitPath, 'utf8'));
    expect(d.get('Type')).toEqual(['notify']);
    expect(d.get('ExecStart')![0]).toMatch(/^\/usr\/bin\/node \S+\/dist\/src\/cli\/main\.js serve --config \S+$/);
    expect(d.get('User')).toEqual(['mpocert']);
    expect(d.get('SupplementaryGroups')).toEqual(['dialout']);
    expect(d.get('Restart')).toEqual(['on-failure']);
    expect(d.get('ProtectSystem')).toEqual(['strict']);
    expect(d.get('NoNewPrivileges')).toEqual(['yes']);
    expect(d.get('StateDirectory')).toEqual(['mpocert']);
    expect(d.get('WatchdogSec')).toEqual(['30s']);
  });
});
