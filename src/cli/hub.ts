import { loadHubConfig } from '../central/hub-config.js';
import { mergeHubOnce, startHub } from '../central/hub.js';
import { chooseLogFormat, createLogger } from '../daemon/logger.js';

/**
 * `mpocert hub --config FILE`: the central QA hub until SIGTERM/SIGINT; resolves with the exit
 * code. Logs `mpocert hub listening` with its URL once it serves (port 0 picks a free port).
 */
export async function hubCommand(configPath: string): Promise<number> {
  const config = loadHubConfig(configPath);
  const stdoutIsTerminal = process.stdout.isTTY === true;
  const logger = createLogger(config.logLevel, chooseLogFormat({ stdoutIsTerminal, demo: false, env: process.env }), stdoutIsTerminal);
  const hub = await startHub(config, logger);
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception; exiting');
    process.exit(70);
  });
  process.on('unhandledRejection', (err) => {
    logger.fatal({ err }, 'unhandled promise rejection; exiting');
    process.exit(70);
  });
  logger.info({ url: hub.url, config: config.source }, 'mpocert hub listening');
  return new Promise((resolve) => {
    const shutdown = (signal: string): void => {
      void hub.stop(signal).then(
        () => resolve(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}

/** `mpocert hub merge --config FILE`: one merge; prints what it did and each refusal; exit 0 (2 on an error). */
export async function hubMergeCommand(configPath: string): Promise<number> {
  const config = loadHubConfig(configPath);
  const logger = createLogger('warn', 'json');
  const r = await mergeHubOnce(config, logger);
  process.stdout.write(`merged ${r.merged}, quarantined ${r.quarantined}, duplicates ${r.duplicates}, other ${r.other}, waiting ${r.waiting}\n`);
  for (const q of r.quarantinedItems) {
    process.stdout.write(`quarantined ${q.kind} ${q.ref} (site ${q.site}, bench ${q.benchId ?? '-'}, sequence ${q.benchSequence ?? '-'}): ${q.problem}\n`);
  }
  return 0;
}
