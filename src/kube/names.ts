import { createHash } from 'node:crypto';
import { nameRuleBroken } from './name-rules.js';

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

/**
 * validateUserName returns a user name in Unicode's composed form (NFC), so one name has one
 * spelling: 1–255 characters, no slash, white space or control characters (what fits a URL
 * segment), and none of the unsafe forms name-rules.ts refuses.
 */
export function validateUserName(user: string): string {
  const nfc = user.normalize('NFC');
  if (!USER_NAME.test(nfc))
    throw new InvalidNameError(
      `invalid user name ${JSON.stringify(user.slice(0, 80))}: 1–255 characters, no '/', white space or control characters`,
    );
  const broken = nameRuleBroken(nfc);
  if (broken !== undefined) throw new InvalidNameError(`invalid user name ${JSON.stringify(user.slice(0, 80))}: ${broken}`);
  return nfc;
}

/** validateServerName is validateUserName's rules for a server name, which may also be empty (the default server). */
export function validateServerName(name: string): string {
  const nfc = name.normalize('NFC');
  if (!SERVER_NAME.test(nfc))
    throw new InvalidNameError(
      `invalid server name ${JSON.stringify(name.slice(0, 80))}: up to 255 characters, no '/', white space or control characters`,
    );
  const broken = nameRuleBroken(nfc);
  if (broken !== undefined) throw new InvalidNameError(`invalid server name ${JSON.stringify(name.slice(0, 80))}: ${broken}`);
  return nfc;
}

/** serverKey is the runtime's key: `user/name`, the name empty for the default server. */
export function serverKey(user: string, name = ''): string {
  return `${validateUserName(user)}/${validateServerName(name)}`;
}

/** parseServerKey splits a runtime key into its user and server name. */
export function parseServerKey(key: string): ServerKey {
  const slash = key.indexOf('/');
  if (slash <= 0) throw new InvalidNameError(`invalid server key ${JSON.stringify(key.slice(0, 80))}`);
  const user = key.slice(0, slash);
  const name = key.slice(slash + 1);
  // A stored key is checked for its shape only: a key made under older name rules must stay readable.
  if (!USER_NAME.test(user) || !SERVER_NAME.test(name))
    throw new InvalidNameError(`invalid server key ${JSON.stringify(key.slice(0, 80))}`);
  return { user, name };
}

/** keyHash is a label-safe digest of a key: labels hold at most 63 characters of a small alphabet. */
export function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 20);
}

/** dnsSafe lowercases and keeps [a-z0-9-], so the result can be part of a DNS-1123 label. */
function dnsSafe(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
}

/** PLAIN is a name part that is used as it is: lowercase letters and digits in runs joined by single hyphens. */
const PLAIN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
/** HASH_CHARS: 26 base-32 characters carry 130 bits of SHA-256, far beyond any search for a second key. */
const HASH_CHARS = 26;
/** HASH_MARK separates the readable part of a hashed name from its digest; a plain name never contains it. */
const HASH_MARK = '---';
/** MAX_PREFIX leaves room for `-`, one readable character, the mark and the digest in 63 characters. */
export const MAX_POD_NAME_PREFIX = 63 - 1 - 1 - HASH_MARK.length - HASH_CHARS;

/** validatePodNamePrefix accepts a DNS-1123 label short enough that every pod name fits in 63 characters. */
export function validatePodNamePrefix(prefix: string): string {
  if (!DNS_LABEL.test(prefix) || prefix.length > MAX_POD_NAME_PREFIX) {
    throw new InvalidNameError(
      `invalid pod name prefix ${JSON.stringify(prefix.slice(0, 80))}: 1–${MAX_POD_NAME_PREFIX} lowercase letters, digits or '-', starting and ending with a letter or digit`,
    );
  }
  return prefix;
}

/** nameDigest is the base-32 SHA-256 digest of a server key that a hashed pod name ends with. */
function nameDigest(key: string): string {
  const bytes = createHash('sha256').update(key).digest();
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5 && out.length < HASH_CHARS) {
      bits -= 5;
      out += BASE32[(value >>> bits) & 31];
    }
  }
  return out;
}

/**
 * namePart is a user or server name as part of an object name: itself when it is plain (`alice`),
 * else a readable cut, `---` and the digest of the exact name, so two names never share a part.
 */
export function namePart(s: string): string {
  if (PLAIN.test(s) && s.length <= 63) return s;
  return `${(dnsSafe(s) || 'x').slice(0, 20).replace(/-+$/, '')}${HASH_MARK}${nameDigest(s)}`;
}

/**
 * podName is the deterministic DNS-1123 name of a server's pod. A user and server name made of plain
 * parts (`alice`, `lab-2`) give `jupyter-alice` and `jupyter-alice--lab-2`; anything else gives a
 * readable cut, `---` and a digest of the exact key (`jupyter-bob---<26 chars>` for `Bob`). A plain
 * name never contains `---`, so the two forms never meet, and two hashed names differ in their
 * digests: two distinct servers never share a pod name. Plain names are those of the earlier scheme.
 */
export function podName(key: string, prefix = 'jupyter'): string {
  const { user, name } = parseServerKey(key);
  validatePodNamePrefix(prefix);
  const plain = `${prefix}-${user}${name === '' ? '' : `--${name}`}`;
  if (PLAIN.test(user) && (name === '' || PLAIN.test(name)) && plain.length <= 63) return plain;
  const readable = [dnsSafe(user) || 'x', ...(name === '' ? [] : [dnsSafe(name) || 'x'])].join('--');
  const room = 63 - prefix.length - 1 - HASH_MARK.length - HASH_CHARS;
  return `${prefix}-${readable.slice(0, room).replace(/-+$/, '')}${HASH_MARK}${nameDigest(key)}`;
}

/**
 * legacyPodName is the name the earlier scheme gave: a readable cut and `-` with 8 hex characters of
 * the label digest. It is only looked up, never created, so pods made before the change stay found.
 */
export function legacyPodName(key: string, prefix = 'jupyter'): string {
  const { user, name } = parseServerKey(key);
  const readable = `${prefix}-${dnsSafe(user)}${name === '' ? '' : `--${dnsSafe(name)}`}`;
  const exact = `${prefix}-${user}${name === '' ? '' : `--${name}`}`;
  if (readable === exact && readable.length <= 63) return readable;
  return `${readable.slice(0, 63 - 9).replace(/-+$/, '')}-${keyHash(key).slice(0, 8)}`;
}

/** podNameCandidates are the names a server's pod may have: the current one first, then the earlier scheme's if it differs. */
export function podNameCandidates(key: string, prefix = 'jupyter'): readonly [string, ...string[]] {
  const current = podName(key, prefix);
  const legacy = legacyPodName(key, prefix);
  return legacy === current ? [current] : [current, legacy];
}
