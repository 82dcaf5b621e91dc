import { createMachine } from 'xstate';
import type { AnyStateMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import { reflectorMachine } from '../../machines/reflector.machine.js';
import { serverMachine } from '../../machines/server.machine.js';
import { main } from '../../src/hub/cli/cli.js';
import { exportMachine, structure } from '../../src/hub/cli/export-machine.js';

/** evaluate runs exported `createMachine({...})` code the way the Stately editor's import does. */
function evaluate(code: string): AnyStateMachine {
  return new Function('createMachine', `return ${code}`)(createMachine) as AnyStateMachine;
}

describe('export-machine', () => {
  for (const [name, machine] of [
    ['serverMachine', serverMachine],
    ['reflectorMachine', reflectorMachine],
  ] as const) {
    it(`exports ${name} as Stately code that evaluates to the same states and transitions`, () => {
      const exported = evaluate(exportMachine(machine, 'stately'));
      expect(structure(exported)).toEqual(structure(machine));
      expect(structure(machine).length).toBeGreaterThan(20);
    });
  }

  it('exports the normalised definition as JSON with delayed transitions as xstate.after events', () => {
    const json = JSON.parse(exportMachine(serverMachine, 'json')) as { id: string; states: Record<string, unknown> };
    expect(json.id).toBe('server');
    expect(Object.keys(json.states)).toEqual(['stopped', 'spawn_pending', 'running', 'stop_pending', 'failed']);
    expect(exportMachine(serverMachine, 'json')).toContain('xstate.after.startTimeout.server.spawn_pending');
  });

  it('draws a Mermaid diagram with every state, balanced blocks and the timeouts by name', () => {
    const diagram = exportMachine(serverMachine, 'mermaid');
    expect(diagram.startsWith('stateDiagram-v2\n')).toBe(true);
    for (const s of ['stopped (stable)', 'ready (stable)', 'unready', 'failed (stable)', 'timed_out', 'giving_up'])
      expect(diagram).toContain(s);
    expect(diagram).toContain('after startTimeout');
    expect((diagram.match(/\{/g) ?? []).length).toBe((diagram.match(/^\s*\}$/gm) ?? []).length);
  });

  it('spawnkeeper export-machine --format stately prints code that evaluates to serverMachine, and refuses a bad format', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l), env: {} };
    expect(await main(['export-machine', '--format', 'stately', 'server'], io)).toBe(0);
    expect(structure(evaluate(out.join('\n')))).toEqual(structure(serverMachine));
    out.length = 0;
    expect(await main(['export-machine', '--format=mermaid', 'reflector'], io)).toBe(0);
    expect(out.join('\n')).toContain('stateDiagram-v2');
    expect(await main(['export-machine', '--format', 'svg'], io)).toBe(2);
    expect(err.join('\n')).toMatch(/stately, json or mermaid/);
  });

  it('the README embeds the diagram as export-machine draws it today', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(exportMachine(serverMachine, 'mermaid').trimEnd());
  });
});
