import { loadConfig } from '../config/load.js';
import type { DaemonConfig } from '../config/schema.js';
import { startDaemon, type RunningDaemon } from '../daemon/daemon.js';
import { chooseLogFormat, createLogger } from '../daemon/logger.js';
import { createSystemdNotifier } from '../daemon/sd-notify.js';

/** Runs the daemon until SIGTERM/SIGINT; resolves with the exit code. */
export async function serveCommand(
  configPath: string,
  onReady?: (d: RunningDaemon) => void,
  opts: { demo?: boolean; central?: NonNullable<DaemonConfig['central']> } = {},
): Promise<number> {
  const loaded = loadConfig(configPath);
  const config = opts.central ? { ...loaded, central: opts.central } : loaded;
  const stdoutIsTerminal = process.stdout.isTTY === true;
  const format = chooseLogFormat({ stdoutIsTerminal, demo: opts.demo ?? false, env: process.env });
  const daemon = await startDaemon(config, createLogger(config.logLevel, format, stdoutIsTerminal));
  const systemd = createSystemdNotifier(process.env, (msg) => daemon.logger.warn(msg));
  // A bug that escapes every handler: log it where the operator looks, then exit non-zero so
  // systemd restarts us; the restart marks the running job interrupted.
  process.on('uncaughtException', (err) => {
    daemon.logger.fatal({ err }, 'uncaught exception; exiting');
    process.exit(70);
  });
  process.on('unhandledRejection', (err) => {
    daemon.logger.fatal({ err }, 'unhandled promise rejection; exiting');
    process.exit(70);
  });
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
