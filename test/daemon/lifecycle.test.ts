import Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  benchConfig,
  DaemonProcess,
  simControl,
  startSimulatorProcess,
  tempDir,
  writeConfig,
  type SimulatorProcess,
} from '../helpers/daemon-harness.js';

interface JobReply {
  id: string;
  state: string;
  reason?: string;
  certificateId?: number;
  progress: { step: string; readings: unknown[] };
}

let sim: SimulatorProcess;
beforeAll(async () => {
  sim = await startSimulatorProcess({ meter: 0, switch: 0, control: 0 });
});
afterAll(() => void sim?.child.kill('SIGTERM'));
afterEach(async () => {
  await simControl(sim, 'FAULT CLEAR');
});

async function referencedDaemon(tmpDir: string, env: NodeJS.ProcessEnv = {}): Promise<DaemonProcess> {
  const daemon = await new DaemonProcess(writeConfig(tmpDir, [benchConfig({ id: 'b1', sim })]), env).start();
  expect((await daemon.api('POST', '/benches/b1/reference')).status).toBe(200);
  return daemon;
}

async function waitForReadings(daemon: DaemonProcess, jobId: string, atLeast: number): Promise<JobReply> {
  for (;;) {
    const job = (await daemon.api<JobReply>('GET', `/jobs/${jobId}`)).json;
    if (job.state !== 'running' || job.progress.readings.length >= atLeast) return job;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('daemon lifecycle with a real process', () => {
  it('a SIGKILL mid-job leaves an intact database, the job interrupted after restart and no certificate', async () => {
    const tmp = tempDir('mpocert-kill-');
    try {
      const daemon = await referencedDaemon(tmp.dir);
      // Every meter reply 100 ms late: 24 readings take seconds, time enough to kill mid-job.
      expect(await simControl(sim, 'FAULT meter delay 100 1000')).toBe('OK');
      const started = await daemon.api<JobReply>('POST', '/jobs', { bench: 'b1', operator: 'ci', serial: 'GOOD-1' });
      expect(started.status).toBe(202);
      const mid = await waitForReadings(daemon, started.json.id, 3);
      expect(mid.state).toBe('running');
      expect(await daemon.kill('SIGKILL')).toBe('SIGKILL');
      await simControl(sim, 'FAULT CLEAR');

      const db = new Database(join(tmp.dir, 'data', 'mpocert.db'), { readonly: true });
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.prepare('SELECT count(*) AS n FROM certificates').get()).toEqual({ n: 0 });
      db.close();

      const restarted = await new DaemonProcess(daemon.configPath).start();
      const job = (await restarted.api<JobReply>('GET', `/jobs/${started.json.id}`)).json;
      expect(job.state).toBe('interrupted');
      expect(job.reason).toBe('the daemon stopped while the job was running');
      expect(job.certificateId).toBeUndefined();
      expect((await restarted.api<{ total: number }>('GET', '/certificates')).json.total).toBe(0);
      expect(await restarted.kill('SIGTERM')).toBe(0);
    } finally {
      tmp.remove();
    }
  });

  it('SIGTERM mid-job aborts that job with its reason, stores no certificate and exits 0', async () => {
    const tmp = tempDir('mpocert-term-');
    try {
      const daemon = await referencedDaemon(tmp.dir);
      await simControl(sim, 'FAULT meter delay 100 1000');
      const started = await daemon.api<JobReply>('POST', '/jobs', { bench: 'b1', operator: 'ci', serial: 'GOOD-1' });
      await waitForReadings(daemon, started.json.id, 2);
      expect(await daemon.kill('SIGTERM')).toBe(0);
      await simControl(sim, 'FAULT CLEAR');

      const db = new Database(join(tmp.dir, 'data', 'mpocert.db'), { readonly: true });
      const row = db.prepare('SELECT state, reason, certificate_id FROM jobs WHERE id = ?').get(started.json.id);
      expect(row).toEqual({ state: 'aborted', reason: 'the daemon is shutting down; the job was aborted before its certificate', certificate_id: null });
      expect(db.prepare('SELECT count(*) AS n FROM certificates').get()).toEqual({ n: 0 });
      db.close();
    } finally {
      tmp.remove();
    }
  });

  it('refuses a second job on a busy bench with 409', async () => {
    const tmp = tempDir('mpocert-busy-');
    try {
      const daemon = await referencedDaemon(tmp.dir);
      await simControl(sim, 'FAULT meter delay 50 1000');
      const first = await daemon.api<JobReply>('POST', '/jobs', { bench: 'b1', operator: 'ci', serial: 'GOOD-1' });
      expect(first.status).toBe(202);
      const second = await daemon.api<{ error: string; message: string }>('POST', '/jobs', { bench: 'b1', operator: 'ci', serial: 'GOOD-2' });
      expect(second.status).toBe(409);
      expect(second.json).toEqual({ error: 'BENCH_BUSY', message: 'bench "b1" is busy with a job (bench=b1)' });
      await simControl(sim, 'FAULT CLEAR');
      await daemon.kill('SIGTERM');
    } finally {
      tmp.remove();
    }
  });

  it('tells systemd READY once listening, pings the watchdog, and says STOPPING on SIGTERM', async () => {
    const require = createRequire(import.meta.url);
    const unixDgram = require('unix-dgram') as {
      createSocket(type: 'unix_dgram', cb: (msg: Buffer) => void): { bind(path: string): void; close(): void };
    };
    const tmp = tempDir('mpocert-notify-');
    const messages: string[] = [];
    const socketPath = join(tmp.dir, 'notify.sock');
    const server = unixDgram.createSocket('unix_dgram', (msg) => messages.push(msg.toString()));
    server.bind(socketPath);
    try {
      const daemon = await new DaemonProcess(writeConfig(tmp.dir, [benchConfig({ id: 'b1', sim })]), {
        NOTIFY_SOCKET: socketPath,
        WATCHDOG_USEC: '200000',
      }).start();
      const until = async (pred: () => boolean): Promise<void> => {
        while (!pred()) await new Promise((r) => setTimeout(r, 20));
      };
      await until(() => messages.some((m) => m.startsWith('READY=1')));
      expect(messages.find((m) => m.startsWith('READY=1'))).toBe(`READY=1\nMAINPID=${daemon.child.pid}\nSTATUS=listening on ${daemon.base}`);
      await until(() => messages.includes('WATCHDOG=1'));
      expect(await daemon.kill('SIGTERM')).toBe(0);
      await until(() => messages.some((m) => m.startsWith('STOPPING=1')));
      expect(messages.find((m) => m.startsWith('STOPPING=1'))).toBe('STOPPING=1\nSTATUS=SIGTERM: finishing running jobs');
    } finally {
      server.close();
      tmp.remove();
    }
  });
});
