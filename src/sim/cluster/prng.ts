/**
 * Random is a seeded stream of numbers in [0, 1); the simulator never calls Math.random in its
 * fault or kubelet paths, so the same seed reproduces the same decisions.
 */
export type Random = () => number;

/** mulberry32 is a tiny, fast 32-bit PRNG; good enough for fault decisions, not for secrets. */
export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** hashString (FNV-1a) turns a stream name into 32 bits so each stream gets its own sequence. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * streamFor derives an independent stream per purpose, so drawing for one fault kind never shifts
 * the decisions of another.
 */
export function streamFor(seed: number, name: string): Random {
  return mulberry32((seed ^ hashString(name)) >>> 0);
}

/** hex draws n lowercase hex digits. */
export function hex(random: Random, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += Math.floor(random() * 16).toString(16);
  return out;
}

/** uuid draws a version-4-shaped UUID from the stream, so uids repeat under the same seed. */
export function uuid(random: Random): string {
  const variant = (8 + Math.floor(random() * 4)).toString(16);
  return `${hex(random, 8)}-${hex(random, 4)}-4${hex(random, 3)}-${variant}${hex(random, 3)}-${hex(random, 12)}`;
}

/** alnum draws n characters the way generateName suffixes look (no vowels, as Kubernetes does). */
export function alnum(random: Random, n: number): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[Math.floor(random() * alphabet.length)] ?? 'x';
  return out;
}
