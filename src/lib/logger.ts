import { pino } from 'pino';

export type Logger = pino.Logger;

export interface LoggerOptions {
  level: string;
  /** Human-readable output (pino-pretty); JSON lines otherwise. */
  pretty: boolean;
}

export function createLogger(options: LoggerOptions): Logger {
  if (options.pretty) {
    return pino({
      level: options.level,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  return pino({ level: options.level });
}

/** A logger that drops everything: for tests and library use without a host logger. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
