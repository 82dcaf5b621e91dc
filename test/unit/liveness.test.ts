import { createMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import type { ServerMachine } from '../../machines/server.machine.js';
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

describe('liveness of serverMachine', () => {
  it('gives every state that is not stable a timeout', () => {
    expect(missingTimeouts(serverMachine)).toEqual([]);
  });

  it('reaches a stable state from every reachable situation by timers alone, within a finite bound', () => {
    const report = analyzeLiveness(configureServerMachine());
    console.log(
      `liveness: ${report.situations} situations; worst case ${report.bound / 1000} s with the default delays ` +
        `(startTimeout ${DEFAULT_DELAYS.startTimeout / 1000} s, stopTimeout ${DEFAULT_DELAYS.stopTimeout / 1000} s, ` +
        `requestTimeout ${DEFAULT_DELAYS.requestTimeout / 1000} s): ${report.worst[0]} … ${report.worst.at(-1)}`,
    );
    expect(report.problems).toEqual([]);
    expect(report.situations).toBeGreaterThan(50);
    expect(report.worst.at(-1)).toMatch(/^(stopped|running|failed)$/);
    // A stop, a queued spawn and its clean-up, each run to its own deadline, is the longest chain.
    const d = DEFAULT_DELAYS;
    const stop = d.stopTimeout + d.requestTimeout;
    expect(report.bound).toBe(stop + d.startTimeout + d.requestTimeout + stop);
  });

  it('scales the bound with the configured delays', () => {
    const fast = analyzeLiveness(configureServerMachine({ startTimeout: 20_000, stopTimeout: 10_000, stopRetryInterval: 4_000, requestTimeout: 1_000, pollInterval: 500 }));
    expect(fast.problems).toEqual([]);
    expect(fast.bound).toBe(11_000 + 21_000 + 11_000);
  });

  it('accepts a state whose own poll was removed while its parent still has a deadline', () => {
    const report = analyzeLiveness(without(['spawn_pending', 'waiting']));
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
