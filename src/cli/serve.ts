import { loadConfig } from '../config/load.js';
import { startDaemon, type RunningDaemon } from '../daemon/daemon.js';

/** Runs the daemon until SIGTERM/SIGINT; resolves with the exit code. */
export async function serveCommand(configPath: string, onReady?: (d: RunningDaemon) => void): Promise<number> {
  const config = loadConfig(configPath);
  const daemon = await startDaemon(config);
  daemon.logger.info({ url: daemon.url, config: config.source, dataDir: config.dataDir }, 'mpocert listening');
  onReady?.(daemon);
  return new Promise((resolve) => {
    const shutdown = (signal: string): void => {
      void daemon.stop(signal).then(
        () => resolve(0),
        (err: unknown) => {
          daemon.logger.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}
