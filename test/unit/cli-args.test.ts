import { describe, expect, it } from 'vitest';
import * as v from 'valibot';
import type { CommandSpec } from '../../src/core/cli.js';
import { UsageError, helpText, integerOption, parseCommand } from '../../src/core/cli.js';
import { ConfigError, group, milliseconds, validate, withoutDefaults } from '../../src/core/schema.js';

const SPEC: CommandSpec = {
  usage: 'tool run [options] FILE',
  summary: 'Runs a thing.\nTwice if asked.',
  options: {
    count: { type: 'string', value: 'N', doc: 'how many' },
    loud: { type: 'boolean', doc: 'shout' },
    color: { type: 'boolean', inline: true, value: 'WHEN', doc: 'colour the output\n(always by default)' },
  },
  positionals: true,
};

describe('the shared command-line parser', () => {
  it('reads both spellings of a value, bare booleans, an inline value of a flag that allows one, and arguments', () => {
    expect(parseCommand(SPEC, ['--count', '3', 'a', '--loud', '--color=never', '--', '--b'])).toEqual({
      values: { count: '3', loud: true, color: 'never' },
      positionals: ['a', '--b'],
      help: false,
    });
    expect(parseCommand(SPEC, ['--count=4', '--color'])).toMatchObject({ values: { count: '4', color: true } });
    expect(parseCommand(SPEC, ['-h']).help).toBe(true);
  });

  it('refuses an unknown flag, a missing value, a value on a plain boolean and a stray argument, each named', () => {
    const refused: Array<[CommandSpec, string[], string]> = [
      [SPEC, ['--colour'], 'unknown option --colour'],
      [SPEC, ['--count'], '--count needs a value'],
      [SPEC, ['--count', '--loud'], "--count needs a value (one that starts with '-' is written --count=-…)"],
      [SPEC, ['--loud=yes'], '--loud takes no value'],
      [{ ...SPEC, positionals: false }, ['extra'], 'unexpected argument extra'],
    ];
    for (const [spec, argv, message] of refused) {
      expect(() => parseCommand(spec, argv)).toThrow(UsageError);
      expect(() => parseCommand(spec, argv)).toThrow(message);
    }
    expect(() => integerOption('count', '1.5', 0, 9)).toThrow('--count must be an integer from 0 to 9, got "1.5"');
    expect(integerOption('count', '7', 0, 9)).toBe(7);
  });

  it('prints help in one style: usage, the summary indented, then every flag with its doc, --help last', () => {
    expect(helpText(SPEC)).toBe(
      [
        'usage: tool run [options] FILE',
        '  Runs a thing.',
        '  Twice if asked.',
        '',
        'options:',
        '  --count N       how many',
        '  --loud          shout',
        '  --color[=WHEN]  colour the output',
        '                  (always by default)',
        '  -h, --help      show this help and exit',
      ].join('\n'),
    );
  });
});

describe('the schema helpers', () => {
  const schema = group(
    { a: v.optional(milliseconds('a delay'), 5), b: v.optional(group({ c: v.optional(milliseconds('c'), 7) }, 'b'), {}) },
    't',
  );

  it('fill defaults at every depth, and the same schema without defaults returns only what was given, as strictly checked', () => {
    expect(validate(schema, {})).toEqual({ a: 5, b: { c: 7 } });
    const bare = withoutDefaults(schema);
    expect(validate(bare, { b: {} })).toEqual({ b: {} });
    expect(() => validate(bare, { b: { d: 1 } })).toThrow('b.d: unknown key (known: c)');
    expect(() => validate(bare, { a: 'x' })).toThrow('a: expected milliseconds from 1 to 2147483647, got "x"');
  });

  it('report every bad path in one ConfigError, the first as its path', () => {
    try {
      validate(schema, { a: 0, b: { c: -1 } }, { prefix: 'p', source: 'f.json' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).path).toBe('p.a');
      expect((err as ConfigError).problems.map((p) => p.path)).toEqual(['p.a', 'p.b.c']);
      expect((err as ConfigError).message).toBe(
        'p.a: expected milliseconds from 1 to 2147483647, got 0 (in f.json)\np.b.c: expected milliseconds from 1 to 2147483647, got -1 (in f.json)',
      );
    }
  });
});
