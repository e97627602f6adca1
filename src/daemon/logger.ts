import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type LogFormat = 'json' | 'pretty';

/**
 * One log line per event, in the form its reader wants: readable lines for a person at a terminal
 * (or running the demo), JSON lines for machines (systemd's journal, a file, a log shipper).
 * MPOCERT_LOG_FORMAT=json|pretty overrides the choice.
 */
export function chooseLogFormat(o: { stdoutIsTerminal: boolean; demo: boolean; env: NodeJS.ProcessEnv }): LogFormat {
  const forced = o.env.MPOCERT_LOG_FORMAT;
  if (forced === 'json' || forced === 'pretty') return forced;
  return o.stdoutIsTerminal || o.demo ? 'pretty' : 'json';
}

export function createLogger(level: string, format: LogFormat, colour = false): Logger {
  if (format === 'json') return pino({ level });
  // In-process and synchronous (no worker thread): a line is on screen before the next step runs,
  // and the last lines before an exit are not lost.
  return pino(
    { level },
    pretty({ sync: true, colorize: colour, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true, errorLikeObjectKeys: ['err'] }),
  );
}
