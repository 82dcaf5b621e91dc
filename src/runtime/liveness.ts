import type { AnyStateNode } from 'xstate';
import type { PodFact } from '../../machines/pod-fact.js';
import type { ServerEvent, ServerMachine } from '../../machines/server.machine.js';
import type { ServerSnapshot } from './step.js';
import { fold, initialSnapshot, stateName } from './step.js';

/**
 * The liveness proof, by exhaustion: explore every abstract situation the server machine can reach,
 * then from each one let only timers fire (the cluster answering nothing, or answering "nothing
 * changed") and measure how long until a `stable` state. A state with no timer, or a timer-only
 * cycle, is reported as a problem; the longest time is the settle bound.
 */

export interface LivenessReport {
  /** bound is the worst-case time, in ms, from any reachable situation to a stable state. */
  readonly bound: number;
  /** worst is the state path that takes `bound`. */
  readonly worst: readonly string[];
  readonly situations: number;
  readonly problems: readonly string[];
}

interface Timer {
  readonly event: { type: string };
  readonly delay: number;
  dueAt: number;
  readonly order: number;
}

interface Situation {
  readonly snapshot: ServerSnapshot;
  readonly timers: Map<string, Timer>;
  readonly now: number;
}

/** unguardedTimeoutProblems lists each non-stable leaf state with no `after` on it or an ancestor. */
export function missingTimeouts(machine: ServerMachine): string[] {
  const problems: string[] = [];
  const visit = (node: AnyStateNode, timed: boolean, stable: boolean): void => {
    const hasAfter = node.after.length > 0;
    const isStable = stable || node.tags.includes('stable');
    const children = Object.values(node.states);
    if (children.length === 0) {
      const transient = node.always?.some((t) => t.guard === undefined) ?? false;
      if (!isStable && !transient && !(timed || hasAfter)) problems.push(`${node.path.join('.')} has no timeout`);
      return;
    }
    for (const child of children) visit(child, timed || hasAfter, isStable);
  };
  for (const child of Object.values(machine.root.states)) visit(child, false, false);
  return problems;
}

let rv = 1_000;
const facts: Record<string, () => PodFact> = {
  pending: () => ({ exists: true, uid: 'u', resourceVersion: String(++rv), phase: 'Pending', ready: false, deleting: false }),
  running: () => ({ exists: true, uid: 'u', resourceVersion: String(++rv), phase: 'Running', ready: true, deleting: false }),
  notReady: () => ({ exists: true, uid: 'u', resourceVersion: String(++rv), phase: 'Running', ready: false, deleting: false }),
  nodeLost: () => ({ exists: true, uid: 'u', resourceVersion: String(++rv), phase: 'Unknown', ready: false, deleting: false }),
  failing: () => ({
    exists: true,
    uid: 'u',
    resourceVersion: String(++rv),
    phase: 'Pending',
    ready: false,
    deleting: false,
    reason: 'ErrImagePull',
  }),
  exited: () => ({ exists: true, uid: 'u', resourceVersion: String(++rv), phase: 'Succeeded', ready: false, deleting: false, exitCode: 0 }),
  terminating: () => ({ exists: true, uid: 'u', resourceVersion: String(++rv), phase: 'Running', ready: false, deleting: true }),
  absent: () => ({ exists: false, resourceVersion: String(++rv) }),
};

function podKind(pod: PodFact | null): string {
  if (pod === null) return 'none';
  if (!pod.exists) return 'absent';
  return `${pod.phase}/${pod.ready}/${pod.deleting}/${pod.reason ?? ''}`;
}

function key(s: Situation): string {
  const c = s.snapshot.context;
  return [
    stateName(s.snapshot),
    podKind(c.pod),
    c.certain,
    c.startQueued,
    c.failure !== null,
    c.awaiting !== null,
    Math.min(c.attempt, 1),
  ].join('|');
}

function apply(machine: ServerMachine, s: Situation, event: ServerEvent | { type: string }, firing?: string): Situation {
  const timers = new Map(s.timers);
  let now = s.now;
  if (firing !== undefined) {
    now = Math.max(now, timers.get(firing)?.dueAt ?? now);
    timers.delete(firing);
  }
  const result = fold(machine, s.snapshot, event);
  let order = Math.max(0, ...[...timers.values()].map((t) => t.order)) + 1;
  for (const change of result.timers) {
    if ('arm' in change)
      timers.set(change.arm.id, { event: change.arm.event, delay: change.arm.delay, dueAt: now + change.arm.delay, order: order++ });
    else timers.delete(change.cancel);
  }
  return { snapshot: result.snapshot, timers, now };
}

function eventsFrom(s: Situation): Array<{ event: ServerEvent | { type: string }; firing?: string }> {
  const out: Array<{ event: ServerEvent | { type: string }; firing?: string }> = [
    { event: { type: 'server.start' } },
    { event: { type: 'server.stop' } },
  ];
  const ref = s.snapshot.context.awaiting;
  for (const make of Object.values(facts)) {
    out.push({ event: { type: 'pod.observed', pod: make() } });
    if (ref !== null) out.push({ event: { type: 'pod.result', ref, op: 'read', pod: make() } });
  }
  if (ref !== null) {
    out.push({ event: { type: 'pod.result', ref, op: 'create', error: { code: 500, message: 'Internal Server Error' } } });
    out.push({ event: { type: 'pod.result', ref, op: 'create', error: { code: 409, reason: 'Foreign', message: 'not ours' } } });
  }
  for (const [id, t] of s.timers) out.push({ event: t.event, firing: id });
  return out;
}

/** reachable explores the abstract situations of the machine breadth first. */
export function reachable(machine: ServerMachine, limit = 20_000): Situation[] {
  const start: Situation = { snapshot: initialSnapshot(machine), timers: new Map(), now: 0 };
  const seen = new Map<string, Situation>([[key(start), start]]);
  const queue = [start];
  while (queue.length > 0 && seen.size < limit) {
    const s = queue.shift() as Situation;
    for (const { event, firing } of eventsFrom(s)) {
      const next = apply(machine, s, event, firing);
      const k = key(next);
      if (!seen.has(k)) {
        seen.set(k, next);
        queue.push(next);
      }
    }
  }
  return [...seen.values()];
}

/**
 * observationsFor is what the world may say while a server settles, relative to what the server
 * knows: every kind of fact about its own pod at a newer version, about another pod of the same
 * name, the deletion of its pod, and an absence that cannot be ordered (an older list, another epoch).
 */
function observationsFor(known: PodFact | null): PodFact[] {
  const uid = known?.exists === true ? known.uid : (known?.uid ?? 'u');
  const out: PodFact[] = [];
  for (const make of Object.values(facts)) {
    const f = make();
    out.push(f.exists ? { ...f, uid } : f);
    if (f.exists) out.push({ ...f, uid: `${uid}'` });
  }
  out.push({ exists: false, uid, resourceVersion: String(++rv) });
  out.push({ exists: false, resourceVersion: '1' });
  return out;
}

interface Edge {
  readonly event: ServerEvent | { type: string };
  readonly firing?: string;
}

/** adversary lists every move of the world in a settle: any observation, any answer, or the next timer. */
function adversary(s: Situation): Edge[] {
  const pod = s.snapshot.context.pod;
  const edges: Edge[] = observationsFor(pod).map((f) => ({ event: { type: 'pod.observed', pod: f } }));
  const ref = s.snapshot.context.awaiting;
  if (ref !== null) {
    // An answer is taken as what the API says now whichever uid it names: one uid stands for all.
    for (const f of observationsFor(pod).filter((f) => !f.exists || f.uid === (pod?.exists === true ? pod.uid : f.uid))) {
      edges.push({ event: { type: 'pod.result', ref, op: 'read', pod: f } });
      // The same pod at a lower version: an answer slower than the watch, or a cluster that went back.
      if (f.exists) edges.push({ event: { type: 'pod.result', ref, op: 'read', pod: { ...f, resourceVersion: '1' } } });
    }
    edges.push({ event: { type: 'pod.result', ref, op: 'read', error: { code: 503, message: 'unavailable' } } });
  }
  const next = [...s.timers].sort(([, a], [, b]) => a.dueAt - b.dueAt || a.order - b.order)[0];
  if (next !== undefined) edges.push({ event: next[1].event, firing: next[0] });
  return edges;
}

function signature(s: Situation): string {
  return `${key(s)}#${[...s.timers]
    .map(([id, t]) => `${id}:${t.dueAt - s.now}`)
    .sort()
    .join(',')}`;
}

/**
 * SettleSearch is the adversarial form of the settle phase: from a situation, the world may send
 * any observation or answer at any moment (for free) and time moves only when the next timer fires.
 * The longest time to a stable state over every such play is the bound; a play that can return to
 * the same situation with the same timers after time passed means an observation or answer can
 * push a deadline back for ever, and is reported.
 */
class SettleSearch {
  /** memo holds each situation's longest time to stable and the situation that path goes on to. */
  private readonly memo = new Map<string, { ms: number; state: string; next: string | undefined }>();
  /** onStack holds, for each situation on the current path, the time passed and the answers taken when it was entered. */
  private readonly onStack = new Map<string, { elapsed: number; answers: number; observations: number }>();
  problem: string | undefined;
  nodes = 0;

  constructor(
    private readonly machine: ServerMachine,
    private readonly limit = 400_000,
  ) {}

  /** path follows the memo from a situation's signature to a stable state: the states on the way. */
  path(sig: string): string[] {
    const out: string[] = [];
    for (let at: string | undefined = sig, n = 0; at !== undefined && n < 100_000; n++) {
      const m = this.memo.get(at);
      if (m === undefined) break;
      out.push(m.state);
      at = m.next;
    }
    return out;
  }

  longest(s: Situation, elapsed: number, depth = 0, answers = 0, observations = 0): { ms: number; sig: string } {
    const sig = signature(s);
    if (s.snapshot.hasTag('stable')) {
      this.memo.set(sig, { ms: 0, state: stateName(s.snapshot), next: undefined });
      return { ms: 0, sig };
    }
    const known = this.memo.get(sig);
    if (known !== undefined) return { ms: known.ms, sig };
    const entered = this.onStack.get(sig);
    if (entered !== undefined) {
      // Back to the same situation with the same time left on every timer: free if no time passed,
      // or if the world's observations drove it (one read per fact heard); a loop of calls kept up by
      // their own answers alone would call the API as fast as it answers.
      if (elapsed > entered.elapsed)
        this.problem ??= `an observation or answer pushes a deadline back for ever: ${stateName(s.snapshot)} comes round again after time passed`;
      else if (answers > entered.answers && observations === entered.observations)
        this.problem ??= `${stateName(s.snapshot)} calls the API again and again without time passing`;
      return { ms: Number.NEGATIVE_INFINITY, sig };
    }
    if (++this.nodes > this.limit || depth > 5_000) {
      this.problem ??= `the settle search passed ${this.limit} situations without closing (last ${stateName(s.snapshot)})`;
      return { ms: Number.POSITIVE_INFINITY, sig };
    }
    this.onStack.set(sig, { elapsed, answers, observations });
    let best = Number.NEGATIVE_INFINITY;
    let bestNext: string | undefined;
    const edges = adversary(s);
    if (edges.every((e) => e.firing === undefined) && s.snapshot.context.awaiting === null) {
      this.problem ??= `${stateName(s.snapshot)} waits with no timer armed`;
    }
    for (const edge of edges) {
      const next = apply(this.machine, s, edge.event, edge.firing);
      const cost = next.now - s.now;
      const answer = edge.event.type === 'pod.result' ? 1 : 0;
      const heard = edge.event.type === 'pod.observed' ? 1 : 0;
      const r = this.longest(next, elapsed + cost, depth + 1, answers + answer, observations + heard);
      if (r.ms + cost > best) {
        best = r.ms + cost;
        bestNext = r.sig;
      }
      if (this.problem !== undefined) break;
    }
    this.onStack.delete(sig);
    this.memo.set(sig, { ms: best, state: stateName(s.snapshot), next: bestNext });
    return { ms: best, sig };
  }
}

/**
 * settleTime is the deterministic settle: only timers move a situation (every armed timer taken as
 * just armed, the worst case); with `answer`, each awaited effect is answered at once with the fact
 * already known. It finds a state that reads for ever without time passing.
 */
export function settleTime(machine: ServerMachine, from: Situation, answer: boolean): { ms: number; path: string[]; problem?: string } {
  let s: Situation = fresh(from);
  const path = [stateName(s.snapshot)];
  const seen = new Set<string>();
  for (let steps = 0; steps < 5_000; steps++) {
    if (s.snapshot.hasTag('stable')) return { ms: s.now, path };
    // The same situation with the same timers left to run means the timers alone go round for ever.
    const sig = signature(s);
    if (seen.has(sig)) break;
    seen.add(sig);
    const ref = s.snapshot.context.awaiting;
    if (answer && ref !== null) {
      const pod = s.snapshot.context.pod;
      const event: ServerEvent =
        pod === null
          ? { type: 'pod.result', ref, op: 'read', error: { code: 503, message: 'unavailable' } }
          : { type: 'pod.result', ref, op: 'read', pod };
      s = apply(machine, s, event);
    } else {
      const next = [...s.timers].sort(([, a], [, b]) => a.dueAt - b.dueAt || a.order - b.order)[0];
      if (next === undefined) return { ms: Infinity, path, problem: `${stateName(s.snapshot)} waits with no timer armed` };
      s = apply(machine, s, next[1].event, next[0]);
    }
    if (path.at(-1) !== stateName(s.snapshot)) path.push(stateName(s.snapshot));
  }
  return { ms: Infinity, path, problem: `timers alone cycle without reaching a stable state: ${path.slice(-8).join(' → ')}` };
}

/** fresh is a situation at time 0 with every armed timer taken as just armed: the worst case. */
function fresh(from: Situation): Situation {
  return { ...from, now: 0, timers: new Map([...from.timers].map(([id, t]) => [id, { ...t, dueAt: t.delay }])) };
}

/**
 * analyzeLiveness is the whole check: every state timed, no timer-only cycle, no deadline that
 * the world can push back, and the bound: the longest time from any reachable situation to a
 * stable state when the world answers and observes anything at any moment.
 */
export function analyzeLiveness(machine: ServerMachine): LivenessReport {
  const problems = missingTimeouts(machine);
  const situations = reachable(machine);
  let bound = 0;
  let worst: string[] = [];
  for (const s of situations) {
    if (problems.length >= 5) break;
    for (const answer of [false, true]) {
      const r = settleTime(machine, s, answer);
      if (r.problem !== undefined && !problems.includes(r.problem)) problems.push(r.problem);
    }
  }
  const search = new SettleSearch(machine);
  for (const s of situations) {
    if (problems.length > 0) break;
    const r = search.longest(fresh(s), 0);
    if (search.problem !== undefined) problems.push(search.problem);
    else if (r.ms > bound) {
      bound = r.ms;
      worst = search.path(r.sig).filter((p, i, all) => i === 0 || all[i - 1] !== p);
    }
  }
  return { bound, worst, situations: situations.length, problems };
}
