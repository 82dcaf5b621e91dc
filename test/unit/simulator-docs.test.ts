import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONTROL_ACTIONS } from '../../src/sim/faults/control-actions.js';
import { Params } from '../../src/sim/faults/control-params.js';

const doc = readFileSync(new URL('../../docs/simulator.md', import.meta.url), 'utf8');

/** curls are the doc's `curl -X POST $F/<call> [-d '<json>']` lines, as call and arguments. */
function curls(): { call: string; args: Record<string, unknown> }[] {
  return [...doc.matchAll(/^curl -X POST \$F\/(\S+)(?: -d '([^']*)')?/gm)].map((m) => ({
    call: m[1] ?? '',
    args: JSON.parse(m[2] ?? '{}') as Record<string, unknown>,
  }));
}

describe('docs/simulator.md', () => {
  it('shows a curl for every call of the fault control API', () => {
    const shown = new Set(curls().map((c) => c.call));
    expect(CONTROL_ACTIONS.map((a) => a.name).filter((name) => !shown.has(name))).toEqual([]);
  });

  it('shows only calls that exist, with arguments the control API accepts', () => {
    for (const { call, args } of curls()) {
      const action = CONTROL_ACTIONS.find((a) => a.name === call);
      expect(action, call).toBeDefined();
      const params = new Params(args);
      expect(
        () => {
          action?.parse(params);
          params.done();
        },
        `${call} ${JSON.stringify(args)}`,
      ).not.toThrow();
    }
  });
});
