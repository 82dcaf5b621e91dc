import type { DestinationStream, Logger } from 'pino';
import { pino } from 'pino';
import pretty from 'pino-pretty';
import type { HubConfig } from './settings.js';

/**
 * REDACT_PATHS name every place a secret could reach a log line; pino replaces them, so a token
 * never appears in the logs even when someone logs a header object by mistake.
 */
export const REDACT_PATHS = [
  'token',
  'adminToken',
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  '*.token',
  '*.adminToken',
  '*.authorization',
];

/** LoggerOptions choose level and format; `destination` lets tests read what was written. */
export interface LoggerOptions {
  level?: HubConfig['logLevel'];
  format?: HubConfig['logFormat'];
  /** destination: where JSON lines go (default stdout); tests pass a sink stream. */
  destination?: DestinationStream;
}

/** createLogger makes the one root logger: JSON lines, or pretty ones on a terminal, secrets redacted. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? 'auto';
  const usePretty = options.destination === undefined && (format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true));
  const base = {
    level: options.level ?? 'info',
    base: { name: 'spawnkeeper' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  if (usePretty) return pino(base, pretty({ colorize: true, ignore: 'pid,hostname,name', translateTime: 'SYS:HH:MM:ss.l' }));
  return options.destination === undefined ? pino(base) : pino(base, options.destination);
}
