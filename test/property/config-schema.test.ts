import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FieldDoc } from '../../src/core/schema.js';
import { ConfigError, MAX_DELAY_MS, fieldDocs, show } from '../../src/core/schema.js';
import { resolveConfig, parseArgs } from '../../src/hub/config.js';
import { SETTINGS, envName, flagName, settingSchema } from '../../src/hub/settings.js';
import { SPAWNKEEPER_SCHEMA, parseSpawnkeeperConfig } from '../../src/spawnkeeper-config.js';

/**
 * The whole class of the resyncMs bug: for every field of the engine's configuration, at any depth,
 * a value of the wrong kind or out of range, or a misspelled key beside it, is refused with a
 * ConfigError whose path is exactly that field, by createSpawnkeeper's parser and through the hub's file.
 */

const RUNS = Number(process.env['PROPERTY_RUNS'] ?? 300);
const SEED = process.env['PROPERTY_SEED'] === undefined ? Date.now() % 2 ** 31 : Number(process.env['PROPERTY_SEED']);
const LEAVES = fieldDocs(SPAWNKEEPER_SCHEMA);

/** expectedOf is what a hub setting's message says it expected: its values, with the article a reader needs. */
function expectedOf(setting: (typeof SETTINGS)[number]): string {
  const values = settingSchema(setting).meta.values;
  if (/^(port|non-negative)/.test(values)) return `a ${values}`;
  return values.startsWith('integer') ? `an ${values}` : values;
}

const notNumber = fc.oneof(
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string(), fc.integer(), { maxKeys: 2 }),
);
const notString = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }), fc.constant({}));

/** wrong is any value the field must refuse, by what the field's values are. */
function wrong(leaf: FieldDoc): fc.Arbitrary<unknown> {
  const range = /from (-?\d+) to (\d+)/.exec(leaf.values);
  if (range !== null) {
    const min = Number(range[1]);
    const max = Number(range[2]);
    const out = [
      notNumber,
      fc.double({ min: -1e15, max: min - 0.001, noNaN: true }),
      fc.double({ min: max + 0.001, max: 1e15, noNaN: true }),
    ];
    if (leaf.values.startsWith('integer') || leaf.values.startsWith('port'))
      out.push(fc.integer({ min, max: max - 1 }).map((n) => n + 0.5));
    return fc.oneof(...out);
  }
  if (leaf.values === 'text') return notString;
  if (leaf.values.startsWith('one of'))
    return fc.oneof(
      notString,
      fc.string().filter((s) => !leaf.values.slice(7).split(', ').includes(s)),
    );
  if (leaf.values === 'list of strings')
    return fc.oneof(fc.string(), fc.integer(), fc.constant({}), fc.array(fc.integer(), { minLength: 1, maxLength: 3 }));
  if (leaf.values === 'object of strings')
    return fc.oneof(
      fc.string(),
      fc.integer(),
      fc.array(fc.string(), { maxLength: 2 }),
      fc.dictionary(fc.string(), fc.integer(), { minKeys: 1, maxKeys: 2 }),
    );
  // Kubernetes-shaped lists (volumes, tolerations …) hold objects; the storage object needs a capacity.
  if (leaf.values === 'list')
    return fc.oneof(fc.string(), fc.integer(), fc.constant({}), fc.array(fc.integer(), { minLength: 1, maxLength: 3 }));
  if (leaf.values === 'object' || leaf.values === 'object or null')
    return fc.oneof(fc.string({ minLength: 1 }), fc.integer(), fc.array(fc.integer(), { maxLength: 2 }), fc.constant({}));
  throw new Error(`no generator of wrong values for ${leaf.path} (${leaf.values})`);
}

/** nest puts a value at a dotted path. */
function nest(path: string, value: unknown): Record<string, unknown> {
  return path
    .split('.')
    .reverse()
    .reduce<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
}

function refusal(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('accepted');
}

const badLeaf = fc.constantFrom(...LEAVES).chain((leaf) => wrong(leaf).map((value) => ({ leaf, value })));

describe('configuration schema', () => {
  it('refuses a wrong value at any field of the engine configuration with a ConfigError naming exactly that field', () => {
    fc.assert(
      fc.property(badLeaf, ({ leaf, value }) => {
        const err = refusal(() => parseSpawnkeeperConfig(nest(leaf.path, value)));
        // A list or map holding a wrong item is refused at the item, below the field.
        expect(err.path === leaf.path || err.path.startsWith(`${leaf.path}.`)).toBe(true);
        expect(err.message.startsWith(`${err.path}: expected `)).toBe(true);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('refuses a wrong value in the hub config file at any field of its spawnkeeper section, the path under spawnkeeper', () => {
    const hubLeaves = fc.constantFrom(...LEAVES.filter((l) => l.path !== 'namespace' && l.path !== 'instance'));
    const bad = hubLeaves.chain((leaf) => wrong(leaf).map((value) => ({ leaf, value })));
    fc.assert(
      fc.property(bad, ({ leaf, value }) => {
        const readFile = () => JSON.stringify({ spawnkeeper: nest(leaf.path, value) }) ?? '';
        // JSON cannot carry every value (NaN, undefined) the same way: the file's is what the hub reads.
        const err = refusal(() => resolveConfig({ args: parseArgs(['--config', 'hub.json']), env: {}, readFile }));
        expect(err.path === `spawnkeeper.${leaf.path}` || err.path.startsWith(`spawnkeeper.${leaf.path}.`)).toBe(true);
        expect(err.message).toContain('(in hub.json)');
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('refuses anything but an object, a list included, at any section of the engine configuration, naming that section', () => {
    const sections = [
      ...new Set(
        LEAVES.flatMap((l) =>
          l.path
            .split('.')
            .slice(0, -1)
            .map((_, i, parts) => parts.slice(0, i + 1).join('.')),
        ),
      ),
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...sections),
        fc.oneof(fc.array(fc.integer(), { maxLength: 2 }), fc.string(), fc.integer(), fc.boolean()),
        (section, value) => {
          const err = refusal(() => parseSpawnkeeperConfig(nest(section, value)));
          expect(err.path).toBe(section);
          expect(err.message).toBe(`${section}: expected an object, got ${show(value)}`);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('refuses a misspelled key beside any field, naming the misspelled path and the keys it could have meant', () => {
    const misspelled = fc
      .tuple(fc.constantFrom(...LEAVES), fc.string({ unit: fc.constantFrom('x', 'Q', '_'), minLength: 1, maxLength: 3 }))
      .map(([leaf, extra]) => ({ leaf, path: `${leaf.path}${extra}` }));
    fc.assert(
      fc.property(misspelled, ({ path }) => {
        const err = refusal(() => parseSpawnkeeperConfig(nest(path, 1)));
        expect(err.path).toBe(path);
        expect(err.message).toMatch(/: unknown key \(known: /);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('refuses a word that is not a value of its kind in any typed hub setting, from the environment or a flag, naming that variable or flag', () => {
    const typed = SETTINGS.filter((x) => x.where === 'all' && x.type !== 'string');
    const word = fc
      .string({ minLength: 1, maxLength: 12 })
      .filter((w) => !/^(true|false|yes|no|[01])$/i.test(w) && !/^-?\d/.test(w) && !w.startsWith('-'));
    fc.assert(
      fc.property(fc.constantFrom(...typed), word, fc.boolean(), (setting, raw, fromEnv) => {
        if (typeof setting.type === 'object' && 'oneOf' in setting.type && setting.type.oneOf.includes(raw)) return;
        const where = fromEnv ? envName(setting.key) : flagName(setting.key);
        const err = refusal(() =>
          resolveConfig(fromEnv ? { args: parseArgs([]), env: { [where]: raw } } : { args: parseArgs([`${where}=${raw}`]), env: {} }),
        );
        expect(err.path).toBe(where);
        expect(err.message).toBe(`${where}: expected ${expectedOf(setting)}, got ${show(raw)}`);
        expect(err.message).toContain(`got ${show(raw)}`);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('accepts any in-range value at any duration field and keeps it, the other fields at their defaults', () => {
    const durations = LEAVES.filter((l) => l.values.startsWith('milliseconds from 1') && !l.path.startsWith('lease.'));
    fc.assert(
      fc.property(fc.constantFrom(...durations), fc.integer({ min: 1, max: MAX_DELAY_MS }), (leaf, ms) => {
        const config = parseSpawnkeeperConfig(nest(leaf.path, ms));
        const got = leaf.path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], config);
        expect(got).toBe(ms);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
