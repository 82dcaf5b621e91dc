import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MACHINE_VERSION, configureServerMachine } from '../../machines/server.machine.js';
import { replay } from '../../src/runtime/replay.js';
import { stateName } from '../../src/runtime/step.js';

interface Fixture {
  description: string;
  machineVersion: number;
  finalState: string;
  events: unknown[];
  expected: { value: unknown };
}

function load(dir: string): Array<[string, Fixture]> {
  const url = new URL(`../fixtures/${dir}/`, import.meta.url);
  return readdirSync(url)
    .filter((f) => f.endsWith('.json'))
    .map((f) => [f, JSON.parse(readFileSync(new URL(f, url), 'utf8')) as Fixture]);
}

const machine = configureServerMachine();
const fold = (f: Fixture) =>
  replay(
    machine,
    f.events.map((e) => ({ payload: JSON.stringify(e) })),
  );

describe('golden histories', () => {
  const golden = load('histories');

  it('has histories recorded by this machine version', () => {
    expect(golden.length).toBeGreaterThanOrEqual(8);
    for (const [, f] of golden) expect(f.machineVersion).toBe(MACHINE_VERSION);
  });

  for (const [name, f] of golden) {
    it(`folds ${name} to its stored snapshot (${f.finalState})`, () => {
      const replayed = fold(f);
      expect(replayed).toBe(JSON.stringify(f.expected));
      expect(stateName(f.expected)).toBe(f.finalState);
    });
  }

  for (const [name, f] of load('edited')) {
    it(`detects the deliberately edited history ${name}`, () => {
      expect(fold(f)).not.toBe(JSON.stringify(f.expected));
    });
  }
});
