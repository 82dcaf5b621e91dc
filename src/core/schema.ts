import * as v from 'valibot';

/**
 * The building blocks of every configuration schema (the engine's, the hub's): each field checks its
 * type and range with one message of one shape, `expected <what>, got <value>`, and carries its doc
 * and the words that describe its values, so the help text and docs/hub.md are generated from it.
 */

/** ConfigProblem is one bad setting: where it is (a dotted path, a flag or a variable) and what is wrong. */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

/** ConfigError is bad configuration from any source; its message names the path of each problem. */
export class ConfigError extends Error {
  /** path of the first problem, e.g. `spawnkeeper.reflector.resyncMs` (empty when the whole input is wrong). */
  readonly path: string;
  constructor(
    message: string,
    readonly problems: readonly ConfigProblem[] = [],
  ) {
    super(message);
    this.name = 'ConfigError';
    this.path = problems[0]?.path ?? '';
  }
}

/** MAX_DELAY_MS is the longest delay a Node timer keeps (2^31 − 1 ms, about 24.8 days); a longer one would fire at once. */
export const MAX_DELAY_MS = 2_147_483_647;

/** show prints a value as it was given, short. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const expected = (what: string) => (issue: v.BaseIssue<unknown>) => `expected ${what}, got ${show(issue.input)}`;

/** Meta is what the docs and help say of a field: its doc and the words for its values. */
export interface FieldMeta {
  readonly doc: string;
  readonly values: string;
}

/** The schema type every field builder returns. */
export type FieldSchema<T> = v.GenericSchema<T, T> & { readonly meta: FieldMeta };

function withMeta<T>(schema: v.GenericSchema<T, T> | v.GenericSchema<unknown, T>, values: string, doc: string): FieldSchema<T> {
  return Object.assign(schema as v.GenericSchema<T, T>, { meta: { doc, values } });
}

/** integer from min to max (inclusive), e.g. a count or a port. */
export function integer(min: number, max: number, doc: string, what = `an integer from ${min} to ${max}`): FieldSchema<number> {
  const m = expected(what);
  return withMeta(v.pipe(v.number(m), v.integer(m), v.minValue(min, m), v.maxValue(max, m)), what.replace(/^an? /, ''), doc);
}

/** milliseconds: a positive duration a timer can keep (`min` 0 where zero means "at once"). */
export function milliseconds(doc: string, min = 1): FieldSchema<number> {
  const what = `milliseconds from ${min} to ${MAX_DELAY_MS}`;
  const m = expected(what);
  return withMeta(v.pipe(v.number(m), v.finite(m), v.minValue(min, m), v.maxValue(MAX_DELAY_MS, m)), what, doc);
}

/** seconds: a duration in seconds (fractions allowed), at most what a timer keeps. */
export function seconds(doc: string, min = 0, max = Math.floor(MAX_DELAY_MS / 1000)): FieldSchema<number> {
  const what = `seconds from ${min} to ${max}`;
  const m = expected(what);
  return withMeta(v.pipe(v.number(m), v.finite(m), v.minValue(min, m), v.maxValue(max, m)), what, doc);
}

/** port: 1 to 65535, or 0 where "any free port" makes sense (`allowAny`). */
export function port(doc: string, allowAny = false): FieldSchema<number> {
  return integer(allowAny ? 0 : 1, 65535, doc, `a port from ${allowAny ? 0 : 1} to 65535`);
}

export function text(doc: string): FieldSchema<string> {
  return withMeta(v.string(expected('a string')), 'text', doc);
}

export function flag(doc: string): FieldSchema<boolean> {
  return withMeta(v.boolean(expected('true or false')), 'true or false', doc);
}

export function oneOf<const T extends readonly [string, ...string[]]>(options: T, doc: string): FieldSchema<T[number]> {
  const what = `one of ${options.join(', ')}`;
  return withMeta(v.picklist(options, expected(what)), what, doc);
}

/** textList: a list of strings (a command, its arguments). */
export function textList(doc: string): FieldSchema<string[]> {
  return withMeta(v.array(v.string(expected('a string')), expected('a list of strings')), 'list of strings', doc);
}

/** textMap: an object of string values (labels, environment variables). */
export function textMap(doc: string): FieldSchema<Record<string, string>> {
  const what = expected('an object of strings');
  const map = v.record(v.string(), v.string(expected('a string')), what);
  return withMeta(v.pipe(plainObject(what), map) as unknown as typeof map, 'object of strings', doc);
}

/** plainObject lets only an object through, not a list: valibot's object and record schemas take a list as an object. */
function plainObject(message: (issue: v.BaseIssue<unknown>) => string) {
  return v.custom<Record<string, unknown>>((x) => typeof x === 'object' && x !== null && !Array.isArray(x), message);
}

/** anyList: a list whose items another check reads (the hub's services and roles). */
export function anyList(doc: string): FieldSchema<unknown[]> {
  return withMeta(v.array(v.unknown(), expected('a list')), 'list', doc);
}

/** anyObject: an object whose fields another check reads. */
export function anyObject(doc: string): FieldSchema<Record<string, unknown>> {
  const what = expected('an object');
  return withMeta(v.pipe(plainObject(what), v.record(v.string(), v.unknown(), what)), 'object', doc);
}

/** refine adds a check that names what must hold, e.g. a pod name prefix's shape, to a field. */
export function refine<T>(field: FieldSchema<T>, problem: (value: T) => string | undefined): FieldSchema<T> {
  return withMeta(
    v.pipe(
      field,
      v.rawCheck(({ dataset, addIssue }) => {
        if (!dataset.typed) return;
        const p = problem(dataset.value);
        if (p !== undefined) addIssue({ message: p });
      }),
    ),
    field.meta.values,
    field.meta.doc,
  );
}

/** Entries are the fields of a group: each optional, with its default where it has one. */
export type Entries = v.ObjectEntries;

/** group is a nested object of fields; a key it does not name is refused with its path. */
export function group<const E extends Entries>(entries: E, doc: string) {
  const known = Object.keys(entries).join(', ');
  const strict = v.strictObject(entries, (issue) =>
    issue.expected === 'never' ? `unknown key (known: ${known})` : `expected an object, got ${show(issue.input)}`,
  );
  // Typed as the strict object it is once the gate has let the value through.
  const gated = v.pipe(plainObject(expected('an object')), strict) as unknown as typeof strict;
  return Object.assign(gated, { entries, meta: { doc, values: 'object' } as FieldMeta });
}

/** groupCheck adds a check over a whole group (e.g. the Lease timings together) that names what must hold. */
export function groupCheck<S extends v.GenericSchema & { meta: FieldMeta }>(
  schema: S,
  problem: (value: v.InferOutput<S>) => string | undefined,
) {
  return Object.assign(
    v.pipe(
      schema,
      v.rawCheck<v.InferOutput<S>>(({ dataset, addIssue }) => {
        if (!dataset.typed) return;
        const p = problem(dataset.value);
        if (p !== undefined) addIssue({ message: p });
      }),
    ),
    { meta: schema.meta, inner: schema },
  );
}

/** problemsOf turns valibot's issues into one problem per path, in the order found. */
export function problemsOf(issues: readonly v.BaseIssue<unknown>[], prefix = ''): ConfigProblem[] {
  const seen = new Map<string, string>();
  for (const issue of issues) {
    const path = [prefix, v.getDotPath(issue) ?? ''].filter((p) => p !== '').join('.');
    if (!seen.has(path)) seen.set(path, issue.message);
  }
  return [...seen].map(([path, message]) => ({ path, message }));
}

/** describeProblems is the message of a ConfigError: one `path: problem` a line, with where they came from. */
export function describeProblems(problems: readonly ConfigProblem[], source?: string): string {
  const lines = problems.map((p) => (p.path === '' ? p.message : `${p.path}: ${p.message}`));
  const where = source === undefined ? '' : ` (in ${source})`;
  return lines.map((l) => `${l}${where}`).join('\n');
}

/** validate parses `input` with a schema, or throws a ConfigError naming each bad path (under `prefix`). */
export function validate<S extends v.GenericSchema>(
  schema: S,
  input: unknown,
  options: { prefix?: string; source?: string } = {},
): v.InferOutput<S> {
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  const problems = problemsOf(result.issues, options.prefix);
  throw new ConfigError(describeProblems(problems, options.source), problems);
}

/** FieldDoc is one row of a generated configuration table. */
export interface FieldDoc {
  readonly path: string;
  readonly values: string;
  readonly default: unknown;
  readonly doc: string;
}

interface Walkable {
  readonly type: string;
  readonly meta?: FieldMeta;
  readonly wrapped?: Walkable;
  readonly default?: unknown;
  readonly entries?: Record<string, Walkable>;
  readonly pipe?: readonly Walkable[];
  readonly inner?: Walkable;
}

function objectEntries(s: Walkable): Record<string, Walkable> | undefined {
  if (s.entries !== undefined) return s.entries;
  if (s.inner !== undefined) return objectEntries(s.inner);
  return undefined;
}

/** fieldDocs lists every leaf of a schema of groups, with its values, default and doc, for help and docs. */
export function fieldDocs(schema: v.GenericSchema, prefix = ''): FieldDoc[] {
  const entries = objectEntries(schema as unknown as Walkable) ?? {};
  const out: FieldDoc[] = [];
  for (const [key, entry] of Object.entries(entries)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    const inner = entry.type === 'optional' && entry.wrapped !== undefined ? entry.wrapped : entry;
    const nested = objectEntries(inner);
    if (nested !== undefined && inner.meta?.values === 'object') out.push(...fieldDocs(inner as unknown as v.GenericSchema, path));
    else out.push({ path, values: inner.meta?.values ?? '', default: entry.default, doc: inner.meta?.doc ?? '' });
  }
  return out;
}

/**
 * withoutDefaults is the same schema with its defaults left out: it checks an input as strictly but
 * returns only what was given, so a later layer (the engine under the hub) still tells given from default.
 */
export function withoutDefaults<S extends v.GenericSchema>(schema: S): v.GenericSchema<unknown, v.InferInput<S>> {
  return strip(schema as unknown as Walkable) as unknown as v.GenericSchema<unknown, v.InferInput<S>>;
}

function strip(s: Walkable): Walkable {
  if (s.type === 'optional' && s.wrapped !== undefined) return v.optional(strip(s.wrapped) as never) as unknown as Walkable;
  if (s.pipe !== undefined && s.pipe.length > 0) {
    const items = s.pipe.map((item) => (item === s || (item as { kind?: string }).kind !== 'schema' ? item : strip(item)));
    return Object.assign(v.pipe(...(items as [never, ...never[]])), { meta: s.meta }) as unknown as Walkable;
  }
  if (s.entries !== undefined) {
    const entries = Object.fromEntries(Object.entries(s.entries).map(([k, e]) => [k, strip(e)]));
    return Object.assign({ ...s }, { entries }) as Walkable;
  }
  return s;
}
