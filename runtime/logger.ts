import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** `json`: one JSON object per line (containers, files, pipes); `pretty`: coloured lines for a person. */
export type LogFormat = 'json' | 'pretty';

/**
 * LOG_FORMAT `auto` (default) means pretty when stdout is a terminal and JSON otherwise; `json` and
 * `pretty` force one.
 */
export function logFormat(setting: string | undefined, isTTY: boolean = process.stdout.isTTY === true): LogFormat {
  if (setting === 'json' || setting === 'pretty') return setting;
  return isTTY ? 'pretty' : 'json';
}

/** The root pino logger; everything else takes `log.child({ venue, symbol, shard, ... })`. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}, options: LoggerOptions = {}, format: LogFormat = 'json'): Logger {
  const opts: LoggerOptions = {
    level,
    base: { pid: process.pid, ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...options,
  };
  return format === 'pretty' ? pino(opts, prettyStream()) : pino(opts);
}

/** pino-pretty in this thread (no worker), loaded only when a terminal asks for it. */
function prettyStream(): DestinationStream {
  const pretty = createRequire(import.meta.url)('pino-pretty') as (o: Record<string, unknown>) => DestinationStream;
  return pretty({
    colorize: process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,role',
    messageFormat: '{if role}[{role}] {end}{msg}',
    singleLine: true,
    sync: true,
  });
}

/** A silent logger for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
