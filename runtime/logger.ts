import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** The root pino JSON logger; everything else takes `log.child({ venue, symbol, shard, ... })`. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}, options: LoggerOptions = {}): Logger {
  return pino({
    level,
    base: { pid: process.pid, ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...options,
  });
}

/** A silent logger for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
