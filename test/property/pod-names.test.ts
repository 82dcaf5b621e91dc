import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidNameError, MAX_POD_NAME_PREFIX, legacyPodName, parseServerKey, podName, serverKey } from '../../src/kube/names.js';

/**
 * The proof that pod names are injective: over arbitrary Unicode names, and over "squatter" names
 * built from another server's pod name (its readable part, its digest, its `--` splits, its case),
 * two distinct servers never get one pod name, and every name is a DNS-1123 label of ≤ 63 characters.
 */

const RUNS = Number(process.env['PROPERTY_RUNS'] ?? 2_000);
const SEED = process.env['PROPERTY_SEED'] === undefined ? Date.now() % 2 ** 31 : Number(process.env['PROPERTY_SEED']);
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

type Namer = (key: string, prefix: string) => string;

/** keyOf is the server key of a user and server name, or undefined when either is not a valid name. */
function keyOf(user: string, name: string): string | undefined {
  try {
    return serverKey(user, name);
  } catch (err) {
    if (err instanceof InvalidNameError) return undefined;
    throw err;
  }
}

const part = (min: number) =>
  fc.oneof(
    fc.string({ unit: 'binary', minLength: min, maxLength: 40 }),
    fc.string({ unit: 'grapheme', minLength: min, maxLength: 12 }),
    // a small alphabet makes plain names, near-plain names and collisions of their readable cuts likely
    fc.string({ unit: fc.constantFrom('a', 'b', 'B', '0', '-', '.', '_', 'é'), minLength: min, maxLength: 70 }),
    fc.string({ unit: fc.constantFrom('x', 'X', '-'), minLength: Math.max(min, 200), maxLength: 255 }),
  );
const keyArb = fc
  .tuple(part(1), fc.oneof(fc.constant(''), part(0)))
  .map(([user, name]) => keyOf(user, name))
  .filter((k): k is string => k !== undefined);
const prefixArb = fc.oneof(
  fc.constant('jupyter'),
  fc.constantFrom('a', '0', 'a---b', 'x'.repeat(MAX_POD_NAME_PREFIX)),
  fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/),
);

/** squatters are keys an adversary would pick to take the pod name of `key`: its pod name read back as names. */
function squatters(key: string, prefix: string, namer: Namer): string[] {
  const { user, name } = parseServerKey(key);
  const suffix = namer(key, prefix).slice(prefix.length + 1);
  const tails = [suffix, legacyPodName(key, prefix).slice(prefix.length + 1)];
  const out: Array<string | undefined> = [
    keyOf(user.toLowerCase(), name),
    keyOf(user.toUpperCase(), name),
    keyOf(user, name.toLowerCase()),
  ];
  for (const tail of tails) {
    out.push(keyOf(tail, ''));
    for (let i = tail.indexOf('--'); i !== -1; i = tail.indexOf('--', i + 1)) out.push(keyOf(tail.slice(0, i), tail.slice(i + 2)));
    const cut = tail.replace(/-+[a-z0-9]*$/, '');
    out.push(keyOf(`${cut}-${tail.slice(-8)}`, ''), keyOf(cut, name));
  }
  return [...new Set(out.filter((k): k is string => k !== undefined))];
}

/** injective is the property: distinct keys among a key and its squatters have distinct pod names. */
const injective = (namer: Namer) =>
  fc.property(keyArb, fc.array(keyArb, { maxLength: 4 }), prefixArb, (key, others, prefix) => {
    const keys = [...new Set([key, ...others, ...squatters(key, prefix, namer)])];
    const byName = new Map<string, string>();
    for (const k of keys) {
      const pod = namer(k, prefix);
      const seen = byName.get(pod);
      if (seen !== undefined) throw new Error(`${JSON.stringify(seen)} and ${JSON.stringify(k)} both map to ${pod}`);
      byName.set(pod, k);
    }
  });

describe('pod names (property)', () => {
  it(`never maps two distinct servers to one pod name, squatters shaped like hashed names included (seed ${SEED})`, () => {
    fc.assert(injective(podName), { numRuns: RUNS, seed: SEED });
  });

  it('finds the squatting collision of the earlier scheme, so the generator reaches the class of bug', () => {
    const result = fc.check(injective(legacyPodName), { numRuns: RUNS, seed: SEED });
    expect(result.failed).toBe(true);
    expect(String(result.errorInstance)).toMatch(/both map to/);
  });

  it(`makes every pod name a DNS-1123 label of at most 63 characters that starts with the prefix (seed ${SEED})`, () => {
    fc.assert(
      fc.property(keyArb, prefixArb, (key, prefix) => {
        const pod = podName(key, prefix);
        expect(pod.length).toBeLessThanOrEqual(63);
        expect(pod).toMatch(DNS_LABEL);
        expect(pod.startsWith(`${prefix}-`)).toBe(true);
        expect(podName(key, prefix)).toBe(pod);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it(`keeps every name the earlier scheme left readable, so pods of plain names keep their names across an upgrade (seed ${SEED})`, () => {
    const plainPart = fc.stringMatching(/^[a-z0-9]{1,8}(?:-[a-z0-9]{1,8}){0,4}$/);
    const plainKey = fc.tuple(plainPart, fc.oneof(fc.constant(''), plainPart)).map(([u, n]) => serverKey(u, n));
    fc.assert(
      fc.property(fc.oneof(plainKey, keyArb), prefixArb, (key, prefix) => {
        const { user, name } = parseServerKey(key);
        const readable = `${prefix}-${user}${name === '' ? '' : `--${name}`}`;
        if (legacyPodName(key, prefix) === readable) expect(podName(key, prefix)).toBe(readable);
        else expect(podName(key, prefix)).not.toBe(legacyPodName(key, prefix));
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
