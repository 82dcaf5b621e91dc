import { createActor, initialTransition } from 'xstate';
import type { ActorScope, SnapshotFrom } from 'xstate';
import type { ServerMachine, ServerEvent, EffectParams, EffectAction } from '../../machines/server.machine.js';
import { EFFECT_ACTIONS } from '../../machines/server.machine.js';
import type { EffectRequest, OrphanRecord, TimerChange } from '../core/step-records.js';

export type { EffectRequest, OrphanRecord, TimerArm, TimerChange } from '../core/step-records.js';

export type ServerSnapshot = SnapshotFrom<ServerMachine>;

/** StepResult is everything one event did to one server, as data: nothing has happened yet. */
export interface StepResult {
  readonly snapshot: ServerSnapshot;
  /** persisted is the stored form of the snapshot, the string replay must reproduce. */
  readonly persisted: string;
  readonly state: string;
  readonly changed: boolean;
  readonly timers: readonly TimerChange[];
  readonly effects: readonly EffectRequest[];
  readonly orphans: readonly OrphanRecord[];
}

const effectKinds: ReadonlySet<string> = new Set(EFFECT_ACTIONS);

/**
 * persist is the one serialisation of a snapshot, shared by the runtime, replay and the tests. It
 * is byte for byte `JSON.stringify(machine.getPersistedSnapshot(snapshot))`: for the snapshots this
 * machine has (active, no children, no history, context of plain data) it writes the same keys in
 * the same order without xstate's copy of the whole snapshot; anything else takes xstate's path.
 */
export function persist(machine: ServerMachine, snapshot: ServerSnapshot): string {
  const { status, value, context, children, historyValue, output, error } = snapshot as ServerSnapshot & {
    output?: unknown;
    error?: unknown;
  };
  if (status === 'active' && output === undefined && error === undefined && isEmpty(children) && isEmpty(historyValue)) {
    return JSON.stringify({ status, value, historyValue: {}, context, children: {} });
  }
  return JSON.stringify(machine.getPersistedSnapshot(snapshot));
}

function isEmpty(record: object | undefined): boolean {
  for (const _ in record) return false;
  return true;
}

/** restore rebuilds a snapshot from its stored form, on the configured machine. */
export function restore(machine: ServerMachine, persisted: string): ServerSnapshot {
  const data = JSON.parse(persisted) as { value: ServerSnapshot['value']; context: ServerSnapshot['context'] };
  return machine.resolveState({ value: data.value, context: data.context });
}

/** stateName is a snapshot's state as one dotted string (`stop_pending.attempt.deleting`). */
export function stateName(snapshot: { value: unknown }): string {
  const parts: string[] = [];
  let value: unknown = snapshot.value;
  while (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value);
    const first = entries[0];
    if (first === undefined) break;
    parts.push(first[0]);
    value = first[1];
  }
  if (typeof value === 'string') parts.push(value);
  return parts.join('.');
}

/** initialSnapshot is a new server's snapshot; a new server starts with no event. */
export function initialSnapshot(machine: ServerMachine): ServerSnapshot {
  return initialTransition(machine)[0];
}

type Scope = ActorScope<ServerSnapshot, ServerEvent>;
type ExecutableAction = { type: string; params?: unknown };

const scopes = new WeakMap<ServerMachine, Scope>();

/**
 * scopeOf is the one inert actor scope a machine is stepped with. XState's `transition()` builds a
 * fresh actor (and its system) on every call, which was most of its cost; the scope is inert (it
 * defers, spawns and emits nothing), and the machine has no invoked or spawned children to register
 * in its system, so reusing it changes no snapshot and no action.
 */
function scopeOf(machine: ServerMachine): Scope {
  let scope = scopes.get(machine);
  if (scope === undefined) {
    const self = createActor(machine);
    scope = {
      self,
      system: self.system,
      id: '',
      sessionId: '',
      defer: () => undefined,
      emit: () => undefined,
      logger: () => undefined,
      stopChild: () => undefined,
      actionExecutor: () => undefined,
    } as unknown as Scope;
    scopes.set(machine, scope);
  }
  return scope;
}

/**
 * pureTransition is XState's `transition(machine, snapshot, event)` on a reused inert scope: the
 * next snapshot and the actions it returned as data, none executed. It is not re-entrant, and
 * needs not be: a step never calls back into another step.
 */
export function pureTransition(machine: ServerMachine, snapshot: ServerSnapshot, event: ServerEvent): [ServerSnapshot, ExecutableAction[]] {
  const scope = scopeOf(machine);
  const actions: ExecutableAction[] = [];
  scope.actionExecutor = (action) => void actions.push(action);
  return [machine.transition(snapshot, event, scope), actions];
}

/**
 * step applies one event with XState's pure transition and sorts the returned actions into
 * durable timers, effects and orphan records. It performs no I/O and reads no clock.
 */
export function step(machine: ServerMachine, snapshot: ServerSnapshot, event: ServerEvent | { type: string }, before?: string): StepResult {
  const { snapshot: next, state, timers, effects, orphans, acted } = fold(machine, snapshot, event);
  const persisted = persist(machine, next);
  const changed = before === undefined || persisted !== before || acted;
  return { snapshot: next, persisted, state, changed, timers, effects, orphans };
}

/** Folded is a step without its stored form: what analyses that never store a snapshot need. */
export type Folded = Omit<StepResult, 'persisted' | 'changed'> & { readonly acted: boolean };

/** fold is step() without serialising the snapshot: the machine's answer to one event, as data. */
export function fold(machine: ServerMachine, snapshot: ServerSnapshot, event: ServerEvent | { type: string }): Folded {
  const [next, actions] = pureTransition(machine, snapshot, event as ServerEvent);
  const timers: TimerChange[] = [];
  const effects: EffectRequest[] = [];
  const orphans: OrphanRecord[] = [];
  for (const action of actions) {
    const params = action.params as Record<string, unknown> | undefined;
    if (action.type === 'xstate.raise' && params !== undefined && typeof params['delay'] === 'number') {
      timers.push({
        arm: { id: String(params['id']), event: params['event'] as { type: string }, delay: params['delay'] },
      });
    } else if (action.type === 'xstate.cancel' && params !== undefined) {
      timers.push({ cancel: String(params['sendId']) });
    } else if (effectKinds.has(action.type)) {
      effects.push({ kind: action.type as EffectAction, params: params as unknown as EffectParams });
    } else if (action.type === 'recordOrphan') {
      orphans.push(params as unknown as OrphanRecord);
    }
  }
  return { snapshot: next, state: stateName(next), timers, effects, orphans, acted: actions.length > 0 };
}

/**
 * longestFixedDelay is the longest delay a machine names as a number: the bound for a stored timer
 * whose own delay was not recorded. A delay computed from context (a backoff) is not counted; firing
 * such a timer early is safe, as every timeout of the machine verifies before it decides.
 */
export function longestFixedDelay(machine: ServerMachine): number {
  let longest = 0;
  for (const delay of Object.values(machine.implementations.delays ?? {}))
    if (typeof delay === 'number') longest = Math.max(longest, delay);
  return longest;
}
