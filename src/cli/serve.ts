import { loadConfig } from '../config/load.js';
import { startDaemon, type RunningDaemon } from '../daemon/daemon.js';
import { createSystemdNotifier } from '../daemon/sd-notify.js';

/** Runs the daemon until SIGTERM/SIGINT; resolves with the exit code. */
export async function serveCommand(configPath: string, onReady?: (d: RunningDaemon) => void): Promise<number> {
  const config = loadConfig(configPath);
  const daemon = await startDaemon(config);
  const systemd = createSystemdNotifier(process.env, (msg) => daemon.logger.warn(msg));
  daemon.logger.info({ url: daemon.url, config: config.source, dataDir: config.dataDir }, 'mpocert listening');
  systemd.ready(`listening on ${daemon.url}`);
  onReady?.(daemon);
  return new Promise((resolve) => {
    const shutdown = (signal: string): void => {
      systemd.stopping(`${signal}: finishing running jobs`);
      void daemon.stop(signal).then(
        () => {
          systemd.close();
          resolve(0);
        },
        (err: unknown) => {
          daemon.logger.error({ err }, 'shutdown failed');
          systemd.close();
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}
