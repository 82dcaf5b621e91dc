import { createHash } from 'node:crypto';

/** MANAGED_BY is the label value that marks a pod as spawnkeeper's; nothing else is ever touched. */
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'spawnkeeper';
export const LABEL_INSTANCE = 'spawnkeeper.io/instance';
export const LABEL_SERVER = 'spawnkeeper.io/server';
export const ANNOTATION_KEY = 'spawnkeeper.io/key';
export const ANNOTATION_USER = 'hub.jupyter.org/username';
export const ANNOTATION_SERVER_NAME = 'hub.jupyter.org/servername';

/** ServerKey names one server: the user and the server name ('' for the default server). */
export interface ServerKey {
  readonly user: string;
  readonly name: string;
}

const USER_NAME = /^[^/\s\p{Cc}]{1,255}$/u;
const SERVER_NAME = /^[^/\s\p{Cc}]{0,255}$/u;

/** InvalidNameError is a user or server name that cannot name a server. */
export class InvalidNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidNameError';
  }
}

/** validateUserName accepts what JupyterHub accepts in a URL segment: no slash, no white space, no control characters. */
export function validateUserName(user: string): string {
  if (!USER_NAME.test(user)) throw new InvalidNameError(`invalid user name ${JSON.stringify(user.slice(0, 80))}: 1–255 characters, no '/', white space or control characters`);
  return user;
}

export function validateServerName(name: string): string {
  if (!SERVER_NAME.test(name)) throw new InvalidNameError(`invalid server name ${JSON.stringify(name.slice(0, 80))}: up to 255 characters, no '/', white space or control characters`);
  return name;
}

/** serverKey is the runtime's key: `user/name`, the name empty for the default server. */
export function serverKey(user: string, name = ''): string {
  return `${validateUserName(user)}/${validateServerName(name)}`;
}

export function parseServerKey(key: string): ServerKey {
  const slash = key.indexOf('/');
  if (slash <= 0) throw new InvalidNameError(`invalid server key ${JSON.stringify(key.slice(0, 80))}`);
  const user = key.slice(0, slash);
  const name = key.slice(slash + 1);
  validateUserName(user);
  validateServerName(name);
  return { user, name };
}

/** keyHash is a label-safe digest of a key: labels hold at most 63 characters of a small alphabet. */
export function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 20);
}

/** dnsSafe lowercases and keeps [a-z0-9-], so the result can be part of a DNS-1123 label. */
function dnsSafe(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
}

/**
 * podName is the deterministic DNS-1123 name of a server's pod (`jupyter-alice`, `jupyter-alice--lab`);
 * when anything had to be changed or cut to fit, a digest of the exact key keeps names unique.
 */
export function podName(key: string, prefix = 'jupyter'): string {
  const { user, name } = parseServerKey(key);
  const readable = `${prefix}-${dnsSafe(user)}${name === '' ? '' : `--${dnsSafe(name)}`}`;
  const exact = `${prefix}-${user}${name === '' ? '' : `--${name}`}`;
  if (readable === exact && readable.length <= 63) return readable;
  return `${readable.slice(0, 63 - 9).replace(/-+$/, '')}-${keyHash(key).slice(0, 8)}`;
}
