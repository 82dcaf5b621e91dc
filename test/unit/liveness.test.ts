import { createMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import type { ServerDelays, ServerMachine } from '../../machines/server.machine.js';
import { DEFAULT_DELAYS, configureServerMachine, serverMachine } from '../../machines/server.machine.js';
import { analyzeLiveness, missingTimeouts } from '../../src/runtime/liveness.js';

/** copy clones a machine definition, keeping its functions (structuredClone cannot). */
function copy<T>(value: T): T {
  if (Array.isArray(value)) return value.map(copy) as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copy(v)])) as T;
  }
  return value;
}

/** without removes the `after` of one state (by path) from a copy of the machine's definition. */
function without(path: string[]): ServerMachine {
  const config = copy(serverMachine.config) as Record<string, unknown>;
  let node = config as { states?: Record<string, Record<string, unknown>> };
  for (const name of path) node = node.states?.[name] as typeof node;
  delete (node as Record<string, unknown>)['after'];
  return createMachine(config as never, serverMachine.implementations as never) as unknown as ServerMachine;
}

/** COARSE delays keep every default's ordering with few poll rounds per deadline, so a search is quick. */
const COARSE = {
  startTimeout: 20_000,
  stopTimeout: 10_000,
  stopRetryInterval: 5_000,
  requestTimeout: 2_000,
  pollInterval: 5_000,
  failFastGrace: 5_000,
  unreadyTimeout: 15_000,
  retryBackoff: 1_000,
  retryBackoffMax: 4_000,
};

function coarseDelays() {
  return (configureServerMachine(COARSE) as unknown as { implementations: { delays: Record<string, unknown> } }).implementations
    .delays as never;
}

/**
 * settleBound is the chain the analysis finds longest: a stop run to its deadline and a last read,
 * the spawn a start queued during it run to its deadline and a last read, and that spawn's clean-up;
 * or a running server unready for its whole unreadyTimeout, then stopped.
 */
function settleBound(d: ServerDelays): number {
  const stop = d.stopTimeout + d.requestTimeout;
  return Math.max(stop + d.startTimeout + d.requestTimeout + stop, d.unreadyTimeout + stop);
}

describe('liveness of serverMachine', () => {
  it('gives every state that is not stable a timeout', () => {
    expect(missingTimeouts(serverMachine)).toEqual([]);
  });

  it('reaches a stable state from every reachable situation within a finite bound, whatever the world observes and answers meanwhile', () => {
    const report = analyzeLiveness(configureServerMachine());
    const d = DEFAULT_DELAYS;
    console.log(
      `liveness: ${report.situations} situations; worst case ${report.bound / 1000} s with the default delays ` +
        `(startTimeout ${d.startTimeout / 1000} s, stopTimeout ${d.stopTimeout / 1000} s, requestTimeout ${d.requestTimeout / 1000} s, ` +
        `unreadyTimeout ${d.unreadyTimeout / 1000} s): ${[...new Set(report.worst.map((p) => p.split('.')[0]))].join(' → ')}`,
    );
    expect(report.problems).toEqual([]);
    expect(report.situations).toBeGreaterThan(50);
    expect(report.worst.at(-1)).toMatch(/^(stopped|running\.ready|failed)$/);
    expect(report.bound).toBe(settleBound(d));
  }, 240_000);

  it('scales the bound with the configured delays, unreadyTimeout included', () => {
    const fast = analyzeLiveness(configureServerMachine(COARSE));
    expect(fast.problems).toEqual([]);
    expect(fast.bound).toBe(settleBound({ ...DEFAULT_DELAYS, ...COARSE }));
    const slowUnready = { ...COARSE, unreadyTimeout: 90_000 }; // now the unready chain is the longest
    const unready = analyzeLiveness(configureServerMachine(slowUnready));
    expect(unready.problems).toEqual([]);
    expect(unready.bound).toBe(settleBound({ ...DEFAULT_DELAYS, ...slowUnready }));
  }, 240_000);

  it('catches a deadline that an observation can push back: an unready server whose not-ready facts re-enter its state', () => {
    const config = copy(serverMachine.config) as { states: Record<string, { states?: Record<string, Record<string, unknown>> }> };
    const unready = config.states['running']?.states?.['unready'] as Record<string, unknown>;
    unready['on'] = { 'pod.observed': { target: '#server.running.unready', reenter: true, actions: 'notePod' } };
    const mutant = createMachine(config as never, serverMachine.implementations as never) as unknown as ServerMachine;
    const report = analyzeLiveness(mutant.provide({ delays: coarseDelays() }) as ServerMachine);
    expect(
      report.problems.some((p) => p.startsWith('an observation or answer pushes a deadline back')),
      report.problems.join('; '),
    ).toBe(true);
  }, 240_000);

  it('accepts a state whose own poll was removed while its parent still has a deadline', () => {
    const report = analyzeLiveness(without(['spawn_pending', 'waiting']).provide({ delays: coarseDelays() }) as ServerMachine);
    expect(report.problems).toEqual([]);
  });

  it('catches a pending state whose overall deadline was removed: its retries would cycle for ever', () => {
    for (const path of [['spawn_pending'], ['stop_pending']]) {
      const report = analyzeLiveness(without(path));
      expect(report.problems.some((p) => p.startsWith('timers alone cycle'))).toBe(true);
    }
  });

  it('catches a leaf state with no timeout at all', () => {
    const config = copy(serverMachine.config) as { states: Record<string, { states?: Record<string, Record<string, unknown>> }> };
    delete config.states['spawn_pending']?.states?.['polling']?.['after'];
    delete (config.states['spawn_pending'] as Record<string, unknown>)['after'];
    const broken = createMachine(config as never, serverMachine.implementations as never) as unknown as ServerMachine;
    expect(missingTimeouts(broken)).toEqual(['spawn_pending.polling has no timeout']);
  });
});
