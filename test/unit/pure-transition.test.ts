import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import type { PodFact } from '../../machines/pod-fact.js';
import type { ServerEvent } from '../../machines/server.machine.js';
import { configureServerMachine } from '../../machines/server.machine.js';
import type { ServerSnapshot } from '../../src/runtime/step.js';
import { persist, pureTransition, restore } from '../../src/runtime/step.js';

/**
 * step.ts steps the machine on a reused actor scope and serialises snapshots without xstate's copy;
 * both are performance work (bench/README.md) that must not change one byte of what XState's public pure
 * `transition()` and `getPersistedSnapshot()` produce, or replay and the golden histories would drift.
 */

const machine = configureServerMachine();
const RUNS = Number(process.env['PROPERTY_RUNS'] ?? 300);

type Move =
  | { kind: 'start' }
  | { kind: 'stop' }
  | { kind: 'timer' }
  | { kind: 'observe'; fact: Omit<PodFact, 'resourceVersion'>; rvStep: number }
  | {
      kind: 'answer';
      current: boolean;
      op: 'create' | 'read' | 'delete';
      fact: Omit<PodFact, 'resourceVersion'> | undefined;
      foreign: boolean;
      rvStep: number;
    };

const present = fc.record({
  exists: fc.constant(true as const),
  uid: fc.constantFrom('u1', 'u2'),
  phase: fc.constantFrom('Pending', 'Running', 'Succeeded', 'Failed'),
  ready: fc.boolean(),
  deleting: fc.boolean(),
  reason: fc.constantFrom(undefined, 'ErrImagePull', 'OOMKilled', 'Evicted'),
});
const fact = fc.oneof(present, fc.constant({ exists: false as const }));
const rvStep = fc.integer({ min: -1, max: 3 });
const move: fc.Arbitrary<Move> = fc.oneof(
  fc.constantFrom<Move>({ kind: 'start' }, { kind: 'stop' }, { kind: 'timer' }),
  fc.record({ kind: fc.constant('observe' as const), fact, rvStep }),
  fc.record({
    kind: fc.constant('answer' as const),
    current: fc.boolean(),
    op: fc.constantFrom('create' as const, 'read' as const, 'delete' as const),
    fact: fc.option(fact, { nil: undefined }),
    foreign: fc.boolean(),
    rvStep,
  }),
);

/** eventFor turns a move into an event the machine could receive now, timers taken from those it armed. */
function eventFor(
  m: Move,
  snapshot: ServerSnapshot,
  armed: Map<string, { type: string }>,
  rv: { n: number },
): ServerEvent | { type: string } | undefined {
  if (m.kind === 'start') return { type: 'server.start' };
  if (m.kind === 'stop') return { type: 'server.stop' };
  if (m.kind === 'timer') return [...armed.values()][0];
  rv.n += m.rvStep;
  if (m.kind === 'observe') return { type: 'pod.observed', pod: { ...m.fact, resourceVersion: String(rv.n) } as PodFact };
  const ref = m.current ? (snapshot.context.awaiting ?? '0') : '999';
  if (m.fact === undefined)
    return { type: 'pod.result', ref, op: m.op, error: { message: 'boom', reason: m.foreign ? 'Foreign' : undefined } };
  return { type: 'pod.result', ref, op: m.op, pod: { ...m.fact, resourceVersion: String(rv.n) } as PodFact };
}

const shape = (actions: ReadonlyArray<{ type: string; params?: unknown }>) => actions.map((a) => ({ type: a.type, params: a.params }));

describe('stepping on a reused actor scope', () => {
  it('gives the same snapshot bytes and the same actions as xstate transition() for any event sequence', () => {
    fc.assert(
      fc.property(fc.array(move, { maxLength: 40 }), fc.boolean(), (moves, viaRestore) => {
        let ours = initialTransition(machine)[0];
        let theirs = initialTransition(machine)[0];
        const armed = new Map<string, { type: string }>();
        const rv = { n: 100 };
        for (const m of moves) {
          const event = eventFor(m, theirs, armed, rv);
          if (event === undefined) continue;
          const [nextTheirs, actionsTheirs] = transition(machine, theirs, event as ServerEvent);
          const [nextOurs, actionsOurs] = pureTransition(machine, ours, event as ServerEvent);
          const expected = JSON.stringify(machine.getPersistedSnapshot(nextTheirs));
          expect(persist(machine, nextOurs)).toBe(expected);
          expect(persist(machine, nextTheirs)).toBe(expected);
          expect(shape(actionsOurs)).toEqual(shape(actionsTheirs));
          for (const a of actionsTheirs as ReadonlyArray<{ type: string; params?: Record<string, unknown> }>) {
            if (a.type === 'xstate.raise' && typeof a.params?.['delay'] === 'number')
              armed.set(String(a.params['id']), a.params['event'] as { type: string });
            if (a.type === 'xstate.cancel') armed.delete(String(a.params?.['sendId']));
          }
          if (event.type.startsWith('xstate.after.')) armed.delete([...armed.keys()][0] ?? '');
          theirs = nextTheirs;
          // A restored snapshot must step exactly like the one it was stored from.
          ours = viaRestore ? restore(machine, expected) : nextOurs;
        }
      }),
      { numRuns: RUNS },
    );
  });
});
