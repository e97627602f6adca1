/**
 * Log lines a person can read at a terminal (and in the demo), JSON lines for machines. The
 * terminal is a real one: util-linux `script` gives the daemon a pseudo-terminal as its stdout.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { chooseLogFormat } from '../../src/daemon/logger.js';
import { root, tempDir, writeDaemonConfig } from '../../fixtures/harness/daemon-process.js';

const tmp = tempDir('mpocert-logs-');
afterAll(() => tmp.remove());
const main = join(root, 'dist/src/cli/main.js');
const dirIn = (name: string): string => {
  mkdirSync(join(tmp.dir, name));
  return join(tmp.dir, name);
};
const withoutColour = (text: string): string => text.replace(/\x1b\[[0-9;]*m/g, '');

const manualBench = {
  id: 'b1',
  method: { kind: 'switch-and-meter', powerMeter: 'pm', switch: 'sw' },
  instruments: [
    { id: 'pm', dialect: 'thorlabs-pm100', transport: { kind: 'tcp', host: '127.0.0.1', port: 9 } },
    { id: 'sw', dialect: 'dicon-mems-switch', transport: { kind: 'tcp', host: '127.0.0.1', port: 9 } },
  ],
  operator: { kind: 'manual' },
};

/** Runs a command until its output shows `until`, then stops it; resolves with everything it printed. */
function runUntil(command: string, args: string[], until: RegExp, env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, detached: true });
    let out = '';
    const timer = setTimeout(() => {
      process.kill(-child.pid!, 'SIGKILL');
      reject(new Error(`no ${until} within 20 s; output:\n${out}`));
    }, 20_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (until.test(out)) {
        clearTimeout(timer);
        process.kill(-child.pid!, 'SIGTERM');
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });

describe('log format', () => {
  it('is chosen by the terminal, the demo, or MPOCERT_LOG_FORMAT', () => {
    expect(chooseLogFormat({ stdoutIsTerminal: true, demo: false, env: {} })).toBe('pretty');
    expect(chooseLogFormat({ stdoutIsTerminal: false, demo: false, env: {} })).toBe('json');
    expect(chooseLogFormat({ stdoutIsTerminal: false, demo: true, env: {} })).toBe('pretty');
    expect(chooseLogFormat({ stdoutIsTerminal: true, demo: false, env: { MPOCERT_LOG_FORMAT: 'json' } })).toBe('json');
    expect(chooseLogFormat({ stdoutIsTerminal: false, demo: false, env: { MPOCERT_LOG_FORMAT: 'pretty' } })).toBe('pretty');
  });

  it('serve on a terminal prints readable lines, not JSON', async () => {
    const config = writeDaemonConfig(dirIn('tty'), { benches: [manualBench] });
    const out = await runUntil('script', ['-qec', `${process.execPath} ${main} serve --config ${config}`, '/dev/null'], /mpocert listening/);
    const line = withoutColour(out.split(/\r?\n/).find((l) => l.includes('mpocert listening'))!);
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: mpocert listening .*url.*http:\/\/127\.0\.0\.1:\d+/);
    expect(out.split(/\r?\n/).filter((l) => l.trimStart().startsWith('{"level"'))).toEqual([]);
  });

  it('serve into a pipe (systemd, a file) prints one JSON object per line', async () => {
    const config = writeDaemonConfig(dirIn('pipe'), { benches: [manualBench] });
    const out = await runUntil(process.execPath, [main, 'serve', '--config', config], /mpocert listening/);
    const listening = out.split('\n').find((l) => l.includes('mpocert listening'))!;
    expect(JSON.parse(listening)).toMatchObject({ level: 30, msg: 'mpocert listening', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
  });

  it('the demo prints readable lines even into a pipe', async () => {
    const demo = parse(readFileSync(join(root, 'fixtures/benches/demo.yaml'), 'utf8'));
    const [meter, sw, control] = [await freePort(), await freePort(), await freePort()];
    demo.dataDir = join(tmp.dir, 'demo-data');
    demo.http.port = 0;
    demo.benches[0].instruments[0].transport.port = meter;
    demo.benches[0].instruments[1].transport.port = sw;
    demo.benches[0].operator.port = control;
    const config = join(tmp.dir, 'demo.yaml');
    writeFileSync(config, stringify(demo));
    const out = await runUntil(process.execPath, [main, 'demo', '--config', config], /mpocert demo is running[\s\S]*instrument/);
    expect(out).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: mpocert listening/m);
    expect(out).toMatch(/INFO: instrument .*state.*online/);
    expect(out.split('\n').filter((l) => l.startsWith('{'))).toEqual([]);
  });
});
