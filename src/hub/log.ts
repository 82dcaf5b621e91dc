import type { DestinationStream, Logger } from 'pino';
import { createRequire } from 'node:module';
import { pino } from 'pino';
import type PinoPretty from 'pino-pretty';
import type { HubConfig } from './settings.js';

const SECRET_KEYS = ['token', 'adminToken', 'password', 'secret', 'authorization', 'Authorization', 'cookie', 'Cookie'];
const HEADER_KEYS = ['authorization', 'Authorization', 'cookie', 'Cookie', 'x-auth-token'];
const URL_KEYS = ['url', 'path', 'uri', 'href'];

/**
 * REDACT_PATHS name every place a secret can reach a log line, for pino's `redact`: secrets by name
 * at the top and one level down (`token`, `adminToken`, `authorization` in either case …), lists of
 * tokens and lists of objects with a token, request headers at the depths our lines carry them
 * (`headers`, `req.headers`, `err.config.headers`, `err.response.headers`), and URLs, in which only a
 * `token=` query value is replaced. pino matches keys exactly, so both spellings of a header are listed.
 */
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`]),
  'tokens[*]',
  '*.tokens[*]',
  '*[*].token',
  '*.*[*].token',
  ...HEADER_KEYS.flatMap((h) => [`headers["${h}"]`, `*.headers["${h}"]`, `*.*.headers["${h}"]`]),
  ...URL_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
];

const CENSOR = '[redacted]';
const URL_TOKEN = /([?&](?:token|access_token|api_token)=)[^&#\s]*/gi;

/** censor replaces a secret; of a URL it replaces only the token in its query, so the line still says where a call went. */
function censor(value: unknown, path: readonly PropertyKey[]): unknown {
  const key = path[path.length - 1];
  if (typeof key === 'string' && URL_KEYS.includes(key)) return typeof value === 'string' ? value.replace(URL_TOKEN, `$1${CENSOR}`) : value;
  return CENSOR;
}

/** LoggerOptions choose level and format; `destination` lets tests read what was written. */
export interface LoggerOptions {
  level?: HubConfig['logLevel'];
  format?: HubConfig['logFormat'];
  /** destination: where JSON lines go (default stdout); tests pass a sink stream. */
  destination?: DestinationStream;
}

/** loadPretty loads pino-pretty only for a hub that logs to a terminal: a deployed hub writes JSON lines. */
function loadPretty(): typeof PinoPretty {
  return createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
}

/** createLogger makes the one root logger: JSON lines, or pretty ones on a terminal, secrets redacted. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? 'auto';
  const usePretty = options.destination === undefined && (format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true));
  const base = {
    level: options.level ?? 'info',
    base: { name: 'spawnkeeper' },
    redact: { paths: [...REDACT_PATHS], censor },
  };
  if (usePretty) return pino(base, loadPretty()({ colorize: true, ignore: 'pid,hostname,name', translateTime: 'SYS:HH:MM:ss.l' }));
  return options.destination === undefined ? pino(base) : pino(base, options.destination);
}
