import { parseArgs } from 'node:util';

/**
 * One way to read a command line and to print its help, for every command of the project (the hub's,
 * the simulator's, chaos, bench): `node:util.parseArgs` in strict mode, so an unknown flag, a missing
 * value or a stray argument is refused with a message that names it.
 */

/** OptionSpec is one flag: `--name VALUE` (string) or `--name` (boolean). */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** value: the placeholder the help shows after a string flag (`N`, `FILE`, `URL`). */
  readonly value?: string;
  /** inline: a boolean flag that also takes `--name=VALUE` (a word such as `false`, or an optional URL). */
  readonly inline?: boolean;
  readonly short?: string;
  readonly doc: string;
}

/** CommandSpec is a command's usage line, what it does, and its flags; the help is generated from it. */
export interface CommandSpec {
  /** usage: the line after `usage: `, e.g. `spawnkeeper history USER[/SERVER] [options]`. */
  readonly usage: string;
  /** summary: what the command does, one or more lines. */
  readonly summary: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** positionals: whether the command takes arguments besides flags (default: none). */
  readonly positionals?: boolean;
  /** notes: more lines printed after the flags. */
  readonly notes?: string;
}

/** UsageError is a command line the command cannot take; its message names the flag or argument. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** ParsedCommand is what a command line said: its flags' values (absent when not given), its arguments, and whether help was asked for. */
export interface ParsedCommand {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: string[];
  readonly help: boolean;
}

const HELP: OptionSpec = { type: 'boolean', short: 'h', doc: 'show this help and exit' };

/** describe turns node's parse error into our words: the flag or argument, and what is wrong with it. */
function describe(err: unknown): UsageError {
  const e = err as { code?: string; message?: string };
  const message = e.message ?? String(err);
  const name = /'(-[^' ]+)/.exec(message)?.[1] ?? '';
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`unknown option ${name}`);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError(`unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? ''}`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/.test(message)) return new UsageError(`${name} takes no value`);
      if (/ambiguous/.test(message)) return new UsageError(`${name} needs a value (one that starts with '-' is written ${name}=-…)`);
      return new UsageError(`${name} needs a value`);
    default:
      return new UsageError(message);
  }
}

/** parseCommand reads argv by the spec; `--help`/`-h` is always known. Throws UsageError. */
export function parseCommand(spec: CommandSpec, argv: readonly string[]): ParsedCommand {
  const inline = new Map<string, string>();
  const args: string[] = [];
  let rest = false;
  for (const arg of argv) {
    if (rest || arg === '--') {
      rest = true;
      args.push(arg);
      continue;
    }
    const m = /^--([^=]+)=(.*)$/s.exec(arg);
    if (m !== null && spec.options[m[1] ?? '']?.inline === true) {
      inline.set(m[1] ?? '', m[2] ?? '');
      args.push(`--${m[1] ?? ''}`);
    } else args.push(arg);
  }
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: HELP };
  for (const [name, o] of Object.entries(spec.options))
    options[name] = o.short === undefined ? { type: o.type } : { type: o.type, short: o.short };
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: spec.positionals === true });
  } catch (err) {
    throw describe(err);
  }
  const values: Record<string, string | boolean | undefined> = {};
  for (const name of Object.keys(spec.options)) {
    const value = inline.get(name) ?? parsed.values[name];
    if (value !== undefined) values[name] = value;
  }
  return { values, positionals: parsed.positionals, help: parsed.values['help'] === true };
}

/** helpText is a command's help, in the one style of every command: usage, summary, flags, notes. */
export function helpText(spec: CommandSpec): string {
  const rows = [...Object.entries(spec.options), ['help', HELP] as const].map(([name, o]) => {
    const flag = `${o.short === undefined ? '' : `-${o.short}, `}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : o.inline === true && o.value !== undefined ? `[=${o.value}]` : ''}`;
    return [flag, o.doc] as const;
  });
  const width = Math.min(34, Math.max(...rows.map(([flag]) => flag.length)) + 2);
  const lines = [`usage: ${spec.usage}`, ...indent(spec.summary), '', 'options:'];
  for (const [flag, doc] of rows) {
    const [first = '', ...more] = doc.split('\n');
    lines.push(flag.length + 2 > width ? `  ${flag}\n  ${' '.repeat(width)}${first}` : `  ${flag.padEnd(width)}${first}`);
    for (const line of more) lines.push(`  ${' '.repeat(width)}${line}`);
  }
  if (spec.notes !== undefined) lines.push('', ...spec.notes.split('\n'));
  return lines.join('\n');
}

function indent(text: string): string[] {
  return text.split('\n').map((l) => (l === '' ? '' : `  ${l}`));
}

/** integerOption reads a flag's value as an integer from min to max, or throws a UsageError naming the flag. */
export function integerOption(name: string, raw: string | boolean | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^-?[0-9]+$/.test(raw) || Number(raw) < min || Number(raw) > max)
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** stringOption reads a string flag's value (undefined when absent). */
export function stringOption(raw: string | boolean | undefined): string | undefined {
  return typeof raw === 'string' ? raw : undefined;
}
