/**
 * Name rules beyond the URL-segment shape: what makes a user or server name unsafe to show, store
 * or put in a URL even though each character is printable. A name must be well-formed UTF-16 (a lone
 * surrogate cannot be stored as UTF-8 and would never be found again), must not be `.` or `..` (a
 * URL path would read it as a step), must hold no invisible formatting characters (bidi overrides
 * and isolates, zero-width spaces and joiners, the byte-order mark: Unicode category Cf), and must
 * not mix scripts in a way that builds look-alikes (`аdmin` with a Cyrillic `а`): its letters come
 * from one script, or from one of the combinations Unicode's "highly restrictive" profile (UTS #39)
 * allows for Chinese, Japanese and Korean with Latin.
 */

const SCRIPTS = [
  'Latin',
  'Greek',
  'Cyrillic',
  'Armenian',
  'Hebrew',
  'Arabic',
  'Syriac',
  'Thaana',
  'Devanagari',
  'Bengali',
  'Gurmukhi',
  'Gujarati',
  'Oriya',
  'Tamil',
  'Telugu',
  'Kannada',
  'Malayalam',
  'Sinhala',
  'Thai',
  'Lao',
  'Tibetan',
  'Myanmar',
  'Georgian',
  'Hangul',
  'Ethiopic',
  'Cherokee',
  'Khmer',
  'Mongolian',
  'Hiragana',
  'Katakana',
  'Bopomofo',
  'Han',
].map((name) => ({ name, test: new RegExp(`^\\p{Script=${name}}$`, 'u') }));

/** ALLOWED_MIXES are the sets of scripts one name may combine (UTS #39, highly restrictive). */
const ALLOWED_MIXES: ReadonlyArray<ReadonlySet<string>> = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Bopomofo']),
  new Set(['Latin', 'Han', 'Hangul']),
];

const LETTER = /^\p{L}$/u;
const LONE_SURROGATE = /\p{Cs}/u;
const FORMAT = /\p{Cf}/u;

/** scriptOf is the script of a letter, or `Other:<letter>` for a script not in the list (which mixes with nothing). */
function scriptOf(letter: string): string {
  return SCRIPTS.find((s) => s.test.test(letter))?.name ?? `Other:${letter}`;
}

/** mixesScripts tells whether a name's letters come from more than one script, beyond the allowed combinations. */
function mixesScripts(name: string): boolean {
  const scripts = new Set<string>();
  for (const ch of name) if (LETTER.test(ch)) scripts.add(scriptOf(ch));
  if (scripts.size <= 1) return false;
  return !ALLOWED_MIXES.some((mix) => [...scripts].every((s) => mix.has(s)));
}

/** nameRuleBroken says which rule a name breaks, in words for an error message, or undefined when it breaks none. */
export function nameRuleBroken(name: string): string | undefined {
  if (LONE_SURROGATE.test(name)) return 'it holds a lone surrogate (not valid Unicode text)';
  if (name === '.' || name === '..') return 'it is a dot segment';
  if (FORMAT.test(name)) return 'it holds an invisible formatting character (a bidi control or a zero-width character)';
  if (mixesScripts(name)) return 'it mixes letters of different scripts (look-alikes)';
  return undefined;
}
