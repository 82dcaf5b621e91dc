import { assign, setup } from 'xstate';
import { backoffDelay } from './backoff.js';
import type { PodFact } from './pod-fact.js';
import { failureOf, hasExited, isRunning, isUnready, relation, remember } from './pod-fact.js';

/**
 * MACHINE_VERSION is stored with every snapshot; bump it whenever a change to this definition
 * changes what replaying an existing history produces, and register an upgrade in upgrades.ts.
 */
export const MACHINE_VERSION = 3;

export interface ServerContext {
  /** pod is the newest accepted fact about the server's pod; null until one is known. */
  pod: PodFact | null;
  /**
   * certain: `pod` came from an answer to a call the machine awaited or from an observation ordered
   * after it, and nothing unordered was heard since. Nothing is decided while it is false: the pod
   * is read first.
   */
  certain: boolean;
  /** gone is the uid of the last pod known deleted: facts about it are old news, whatever their version. */
  gone: string | null;
  /**
   * heard: an observation that was news arrived since the awaited call was issued, so the call's answer
   * (what the API server saw when it took the call) may be older than what is known.
   */
  heard: boolean;
  /** awaiting is the ref of the effect whose answer the current state waits for. */
  awaiting: string | null;
  nextRef: number;
  /** startQueued: a start arrived while stopping; it runs once the stop completes. */
  startQueued: boolean;
  /** failure, while cleaning up after a failed spawn or pod, is why the server will end `failed`. */
  failure: string | null;
  /** reason is why the server last left `running` or `spawn_pending`, for people and the API. */
  reason: string | null;
  /** attempt counts create retries while spawning and delete attempts while stopping. */
  attempt: number;
}

export interface EffectError {
  readonly code?: number | undefined;
  /** reason: a Kubernetes Status reason (AlreadyExists, NotFound …) or `Foreign` for a pod not ours. */
  readonly reason?: string | undefined;
  readonly message: string;
}

export type PodOp = 'create' | 'read' | 'delete';

export type ServerEvent =
  /** spec: a salted digest naming what the start asked for beyond the template (kept outside the log); the machine ignores it. */
  | { type: 'server.start'; spec?: string }
  | { type: 'server.stop' }
  /** listedAt: the resourceVersion of the list the fact came from, which orders it (absent for a watch event). */
  | { type: 'pod.observed'; pod: PodFact; listedAt?: string }
  | { type: 'pod.result'; ref: string; op: PodOp; pod: PodFact }
  | { type: 'pod.result'; ref: string; op: PodOp; error: EffectError };

/** EffectParams are the data of every effect action; the runtime runs them after the commit. */
export interface EffectParams {
  ref: string;
  force?: boolean;
}

export const EFFECT_ACTIONS = ['createPod', 'readPod', 'deletePod'] as const;
export type EffectAction = (typeof EFFECT_ACTIONS)[number];

export interface ServerDelays {
  /** startTimeout bounds a whole spawn before it is verified and settled (z2jh's 300 s). */
  startTimeout: number;
  /** stopTimeout bounds a whole stop before the pod is handed to the orphan sweeper. */
  stopTimeout: number;
  /** stopRetryInterval: a delete not done by then is verified and retried with grace 0. */
  stopRetryInterval: number;
  /** pollInterval: how often a pending state reads its pod, so a dead watch never blocks it. */
  pollInterval: number;
  /** requestTimeout: an effect's answer not back by then is treated as unknown and verified. */
  requestTimeout: number;
  /** failFastGrace: a starting pod that reports ErrImagePull, CrashLoopBackOff … this long is given up on. */
  failFastGrace: number;
  /** retryBackoff: the first wait before re-creating after an API error, doubled per attempt. */
  retryBackoff: number;
  /** retryBackoffMax caps retryBackoff. */
  retryBackoffMax: number;
  /** unreadyTimeout: a running server whose pod is not ready this long is stopped and ends failed (the node controller's eviction horizon). */
  unreadyTimeout: number;
}

/** DEFAULT_DELAYS are the documented defaults, in milliseconds. */
export const DEFAULT_DELAYS: Readonly<ServerDelays> = {
  startTimeout: 300_000,
  stopTimeout: 120_000,
  stopRetryInterval: 30_000,
  pollInterval: 5_000,
  requestTimeout: 10_000,
  failFastGrace: 30_000,
  retryBackoff: 1_000,
  retryBackoffMax: 30_000,
  unreadyTimeout: 300_000,
};

/** machineDelays are the machine's named delays for a set of settings; retryBackoff grows with the attempt. */
function machineDelays(d: Readonly<ServerDelays>) {
  const backoff = { initialMs: d.retryBackoff, maxMs: d.retryBackoffMax };
  return {
    startTimeout: d.startTimeout,
    stopTimeout: d.stopTimeout,
    stopRetryInterval: d.stopRetryInterval,
    pollInterval: d.pollInterval,
    requestTimeout: d.requestTimeout,
    failFastGrace: d.failFastGrace,
    unreadyTimeout: d.unreadyTimeout,
    retryBackoff: ({ context }: { context: ServerContext }) => backoffDelay(backoff, context.attempt),
  };
}

type ResultEvent = Extract<ServerEvent, { type: 'pod.result' }>;

function answered(context: ServerContext, event: ServerEvent): event is ResultEvent {
  return event.type === 'pod.result' && event.ref === context.awaiting;
}

/**
 * noted is what the context holds once `event` is taken in. An ordered newer observation replaces the
 * known fact; one that cannot be ordered leaves it but makes it uncertain, so the state reads the pod
 * before deciding anything. An awaited answer is what the API server saw when it took the call: with
 * nothing heard since the call was issued it is the newest fact there is and replaces the known one;
 * otherwise (answers can be slower than the watch) it replaces it only where it is ordered after it,
 * is dropped where it is older, and leaves doubt where it cannot be ordered. An answer naming a pod
 * known deleted, or an error, tells nothing. A late answer to a call no longer awaited is ignored.
 */
function noted(context: ServerContext, event: ServerEvent): Pick<ServerContext, 'pod' | 'certain' | 'gone' | 'heard'> {
  const keep = { pod: context.pod, certain: context.certain, gone: context.gone, heard: context.heard };
  if (answered(context, event)) {
    if (!('pod' in event) || (event.pod.exists && event.pod.uid === context.gone)) return keep;
    const rel = context.heard ? relation(context.pod, event.pod) : 'newer';
    if (rel === 'stale') return keep;
    if (rel === 'unordered') return { ...keep, certain: false };
    return { ...learned(context, event.pod), heard: context.heard };
  }
  if (event.type !== 'pod.observed' || (event.pod.exists && event.pod.uid === context.gone)) return keep;
  const rel = relation(context.pod, event.pod, event.listedAt);
  if (rel === 'stale') return keep;
  if (rel === 'unordered') return { ...keep, certain: false, heard: true };
  return { ...learned(context, event.pod), heard: true };
}

/** learned: the context once `next` is the known fact, certain. */
function learned(context: ServerContext, next: PodFact): Pick<ServerContext, 'pod' | 'certain' | 'gone'> {
  const pod = remember(context.pod, next);
  return { pod, certain: true, gone: !pod.exists && pod.uid !== undefined ? pod.uid : context.gone };
}

/** answeredFact: the fact an awaited answer leaves known, when it leaves it certain; undefined otherwise. */
function answeredFact(context: ServerContext, event: ServerEvent): PodFact | null | undefined {
  if (!answered(context, event)) return undefined;
  const after = noted(context, event);
  return after.certain ? after.pod : undefined;
}

/** heardOfPod: an observation of a pod that is news (newer, or not ordered with what is known). */
function heardOfPod(context: ServerContext, event: ServerEvent): boolean {
  if (event.type !== 'pod.observed' || !event.pod.exists || event.pod.uid === context.gone) return false;
  const rel = relation(context.pod, event.pod);
  return rel === 'newer' || rel === 'unordered';
}

const absent = (pod: PodFact | null): boolean => pod !== null && !pod.exists;
const lingering = (pod: PodFact | null): boolean => pod !== null && pod.exists && !pod.deleting;
const terminating = (pod: PodFact | null): boolean => pod !== null && pod.exists && pod.deleting;

/** The machine itself; `configureServerMachine` gives it configured delays. */
export const serverMachine = setup({
  types: {
    context: {} as ServerContext,
    events: {} as ServerEvent,
  },
  actions: {
    // Effects are data: the runtime reads these from transition()'s actions and runs them after
    // the commit. Their implementations here do nothing on purpose.
    createPod: (_, _params: EffectParams) => undefined,
    readPod: (_, _params: EffectParams) => undefined,
    deletePod: (_, _params: EffectParams) => undefined,
    /** recordOrphan hands a pod the machine gave up on to the sweeper, inside the same commit. */
    recordOrphan: (_, _params: { uid: string | null; reason: string }) => undefined,
    notePod: assign(({ context, event }) => noted(context, event)),
    reserveRef: assign(({ context }) => ({
      nextRef: context.nextRef + 1,
      awaiting: String(context.nextRef + 1),
      heard: false,
    })),
    forget: assign({ awaiting: null }),
    nextAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
    lingerReason: assign({ reason: 'a pod was found while the server was not running' }),
    vanishedWhileRunning: assign({ reason: 'pod vanished while running' }),
    failedWhileRunning: assign({ failure: ({ context }) => failureOf(context.pod) ?? null }),
    exitedWhileRunning: assign({ reason: 'the server exited' }),
    deletedWhileRunning: assign({ reason: 'pod deleted while running' }),
  },
  guards: {
    answered: ({ context, event }) => answered(context, event),
    answeredOk: ({ context, event }) => answered(context, event) && 'pod' in event,
    answeredForeign: ({ context, event }) => answered(context, event) && 'error' in event && event.error.reason === 'Foreign',
    answeredError: ({ context, event }) => answered(context, event) && 'error' in event,
    answeredPresent: ({ context, event }) => answeredFact(context, event)?.exists === true,
    answeredRunning: ({ context, event }) => isRunning(answeredFact(context, event) ?? null),
    answeredAbsent: ({ context, event }) => absent(answeredFact(context, event) ?? null),
    answeredFailed: ({ context, event }) => failureOf(answeredFact(context, event) ?? null) !== undefined,
    podRunning: ({ context }) => context.certain && isRunning(context.pod),
    podFailed: ({ context }) => context.certain && failureOf(context.pod) !== undefined,
    podExited: ({ context }) => context.certain && hasExited(context.pod),
    podRecovered: ({ context }) => failureOf(context.pod) === undefined,
    podAbsent: ({ context }) => context.certain && absent(context.pod),
    podTerminating: ({ context }) => context.certain && terminating(context.pod),
    podUnready: ({ context }) => isUnready(context.pod),
    /** heardDoubt: this observation leaves the server unsure of its pod: read it now, before deciding anything. */
    heardDoubt: ({ context, event }) => event.type === 'pod.observed' && !noted(context, event).certain,
    newLingering: ({ context, event }) => heardOfPod(context, event) && lingering(event.type === 'pod.observed' ? event.pod : null),
    newTerminating: ({ context, event }) => heardOfPod(context, event) && terminating(event.type === 'pod.observed' ? event.pod : null),
    startQueued: ({ context }) => context.startQueued,
    failing: ({ context }) => context.failure !== null,
  },
  delays: machineDelays(DEFAULT_DELAYS),
}).createMachine({
  id: 'server',
  initial: 'stopped',
  context: {
    pod: null,
    certain: true,
    gone: null,
    heard: false,
    awaiting: null,
    nextRef: 0,
    startQueued: false,
    failure: null,
    reason: null,
    attempt: 0,
  },
  on: {
    // A fact is a fact whichever state hears it; states that decide on it handle it themselves.
    'pod.observed': { actions: 'notePod' },
    'pod.result': { actions: 'notePod' },
  },
  states: {
    stopped: {
      tags: ['stable'],
      on: {
        'server.start': { target: 'spawn_pending' },
        'pod.observed': lingeringPod(),
      },
    },

    spawn_pending: {
      entry: assign({ failure: null, reason: null, startQueued: false, attempt: 0 }),
      after: { startTimeout: '.timed_out' },
      on: {
        // Stop during spawn cancels it: whatever was created is deleted, and the server ends stopped.
        'server.stop': { target: 'stop_pending', actions: assign({ reason: 'stop requested during spawn' }) },
      },
      initial: 'creating',
      states: {
        creating: {
          entry: ['reserveRef', { type: 'createPod', params: ({ context }) => ({ ref: ref(context) }) }],
          after: { requestTimeout: 'verifying' },
          on: {
            'pod.result': [
              { guard: 'answeredOk', target: 'waiting', actions: 'notePod' },
              {
                guard: 'answeredForeign',
                target: '#server.failed',
                actions: assign({ reason: ({ event }) => errorOf(event), awaiting: null }),
              },
              {
                guard: 'answeredError',
                target: 'backoff',
                actions: ['notePod', assign({ reason: ({ event }) => errorOf(event) })],
              },
              { actions: 'notePod' },
            ],
          },
        },
        backoff: {
          entry: 'forget',
          after: { retryBackoff: { target: 'creating', actions: assign({ attempt: ({ context }) => context.attempt + 1 }) } },
        },
        verifying: {
          // The create's answer is overdue: read to learn whether it happened before trying again.
          entry: readingPod(),
          after: { requestTimeout: 'creating' },
          on: {
            'pod.result': [
              { guard: 'answeredPresent', target: 'waiting', actions: 'notePod' },
              { guard: 'answered', target: 'creating', actions: 'notePod' },
              { actions: 'notePod' },
            ],
          },
        },
        waiting: {
          entry: 'forget',
          on: { 'pod.observed': readOnDoubt('polling') },
          always: [
            { guard: 'podRunning', target: '#server.running' },
            { guard: 'podFailed', target: 'failing' },
            {
              guard: 'podExited',
              target: '#server.stop_pending',
              actions: assign({ failure: 'the server exited before it became ready' }),
            },
            { guard: 'podAbsent', target: '#server.stop_pending', actions: assign({ failure: 'pod vanished during spawn' }) },
            { guard: 'podTerminating', target: '#server.stop_pending', actions: assign({ failure: 'pod deleted during spawn' }) },
          ],
          after: { pollInterval: 'polling' },
        },
        polling: polling(),
        failing: {
          // ErrImagePull and friends can be passing: give the pod a short grace before giving up on it.
          always: { guard: 'podRecovered', target: 'waiting' },
          after: { failFastGrace: 'confirming' },
        },
        confirming: {
          entry: readingPod(),
          after: {
            requestTimeout: {
              target: '#server.stop_pending',
              actions: assign({ failure: ({ context }) => failureOf(context.pod) ?? 'pod failed to start' }),
            },
          },
          on: {
            'pod.result': [
              {
                guard: 'answeredFailed',
                target: '#server.stop_pending',
                actions: ['notePod', assign({ failure: ({ context }) => failureOf(context.pod) ?? null })],
              },
              { guard: 'answered', target: 'waiting', actions: 'notePod' },
              { actions: 'notePod' },
            ],
          },
        },
        timed_out: {
          // The start timeout never assumes: it reads the pod; ready means running, anything else is cleaned up.
          entry: readingPod(),
          after: {
            requestTimeout: {
              target: '#server.stop_pending',
              actions: assign({ failure: 'spawn timed out and the pod could not be read' }),
            },
          },
          on: {
            'pod.result': [
              { guard: 'answeredRunning', target: '#server.running', actions: 'notePod' },
              {
                guard: 'answered',
                target: '#server.stop_pending',
                actions: ['notePod', assign({ failure: ({ context }) => failureOf(context.pod) ?? 'spawn timed out' })],
              },
              { actions: 'notePod' },
            ],
          },
        },
      },
    },

    running: {
      entry: assign({ reason: null, awaiting: null }),
      on: {
        'server.stop': { target: 'stop_pending', actions: assign({ reason: 'stop requested' }) },
      },
      initial: 'ready',
      states: {
        ready: {
          tags: ['stable', 'ready'],
          on: { 'pod.observed': readOnDoubt('unready') },
          always: endOfRunning('unready'),
        },
        unready: {
          // Ready is what running means: a pod that stops being ready (NotReady, phase Unknown, a node
          // lost) or a doubtful fact is read until it is ready again, or stopped once this runs out.
          after: {
            unreadyTimeout: {
              target: '#server.stop_pending',
              actions: assign({ failure: ({ context }) => `the pod was not ready for too long${podDetail(context.pod)}` }),
            },
          },
          initial: 'polling',
          states: {
            polling: polling(),
            waiting: {
              entry: 'forget',
              on: { 'pod.observed': readOnDoubt('polling') },
              always: [{ guard: 'podRunning', target: '#server.running.ready' }, ...endOfRunning('polling').slice(0, -1)],
              after: { pollInterval: 'polling' },
            },
          },
        },
      },
    },

    stop_pending: {
      entry: assign({ attempt: 0 }),
      after: { stopTimeout: '.giving_up' },
      on: {
        // A start during stop is accepted and runs after it; a second stop takes back a queued start.
        'server.start': { actions: assign({ startQueued: true }) },
        'server.stop': { actions: assign({ startQueued: false }) },
      },
      initial: 'attempt',
      states: {
        attempt: {
          after: { stopRetryInterval: 'verifying' },
          initial: 'deleting',
          states: {
            deleting: {
              entry: ['reserveRef', { type: 'deletePod', params: ({ context }) => ({ ref: ref(context), force: context.attempt > 0 }) }],
              ...thenWaiting(),
            },
            waiting: {
              entry: 'forget',
              on: { 'pod.observed': readOnDoubt('polling') },
              always: { guard: 'podAbsent', target: '#server.stop_pending.done' },
              after: { pollInterval: 'polling' },
            },
            polling: polling(),
          },
        },
        verifying: {
          // An attempt ran out: read; gone is done, anything else is deleted again with grace 0.
          entry: readingPod(),
          after: { requestTimeout: { target: 'attempt', reenter: true, actions: 'nextAttempt' } },
          on: {
            'pod.result': [
              { guard: 'answeredAbsent', target: 'done', actions: 'notePod' },
              { guard: 'answered', target: 'attempt', reenter: true, actions: ['notePod', 'nextAttempt'] },
              { actions: 'notePod' },
            ],
          },
        },
        giving_up: {
          // The stop ran out of time: a pod still there is handed to the orphan sweeper, never forgotten.
          entry: readingPod(),
          after: { requestTimeout: { target: 'done', actions: orphan('the stop timed out and the pod could not be read') } },
          on: {
            'pod.result': [
              { guard: 'answeredAbsent', target: 'done', actions: 'notePod' },
              { guard: 'answered', target: 'done', actions: ['notePod', orphan('the pod was still present when the stop timed out')] },
              { actions: 'notePod' },
            ],
          },
        },
        done: {
          // Transient: a queued start spawns again, a failed spawn ends failed, anything else stopped.
          entry: 'forget',
          always: [
            { guard: 'startQueued', target: '#server.spawn_pending' },
            { guard: 'failing', target: '#server.failed', actions: assign({ reason: ({ context }) => context.failure }) },
            { target: '#server.stopped' },
          ],
        },
      },
    },

    failed: {
      tags: ['stable'],
      on: {
        'server.start': { target: 'spawn_pending' },
        'server.stop': { target: 'stopped', actions: assign({ failure: null }) },
        'pod.observed': lingeringPod(),
      },
    },
  },
});

/**
 * endOfRunning: what a running server does with the fact it knows: a certain end stops it (or, gone,
 * settles it stopped); and (last, which `unready.waiting` leaves out: it reads on its poll) a pod
 * that does not serve goes to `unsure` to be read.
 */
function endOfRunning(unsure: string) {
  return [
    { guard: 'podAbsent' as const, target: '#server.stopped', actions: 'vanishedWhileRunning' as const },
    { guard: 'podFailed' as const, target: '#server.stop_pending', actions: 'failedWhileRunning' as const },
    { guard: 'podExited' as const, target: '#server.stop_pending', actions: 'exitedWhileRunning' as const },
    { guard: 'podTerminating' as const, target: '#server.stop_pending', actions: 'deletedWhileRunning' as const },
    { guard: 'podUnready' as const, target: unsure },
  ];
}

/** readingPod is the entry of a state that reads its pod: the answer is awaited under a new ref. */
function readingPod() {
  return [
    'reserveRef' as const,
    { type: 'readPod' as const, params: ({ context }: { context: ServerContext }) => ({ ref: ref(context) }) },
  ];
}

/** thenWaiting: the awaited answer, or its absence after requestTimeout, leads back to `waiting`; any other fact is noted. */
function thenWaiting() {
  return {
    after: { requestTimeout: 'waiting' },
    on: { 'pod.result': [{ guard: 'answered' as const, target: 'waiting', actions: 'notePod' as const }, { actions: 'notePod' as const }] },
  };
}

/** polling reads the pod and goes back to its sibling `waiting`: how every waiting state makes sure of its pod. */
function polling() {
  return { entry: readingPod(), ...thenWaiting() };
}

/** readOnDoubt: a waiting state that hears something it cannot order reads its pod at once. */
function readOnDoubt(target: string) {
  return [{ guard: 'heardDoubt' as const, target, actions: 'notePod' as const }, { actions: 'notePod' as const }];
}

/** podDetail names what a pod that does not serve shows, for the failure reason. */
function podDetail(pod: PodFact | null): string {
  if (pod === null || !pod.exists) return '';
  return ` (phase ${pod.phase}${pod.reason === undefined ? '' : `, ${pod.reason}`})`;
}

function ref(context: ServerContext): string {
  return context.awaiting ?? String(context.nextRef);
}

function errorOf(event: ServerEvent): string {
  return 'error' in event ? `pod ${(event as ResultEvent & { error: EffectError }).error.message}` : 'unknown error';
}

/**
 * orphan is the recordOrphan effect for the current pod, with why it was handed on; while the fact is
 * uncertain no uid is named, so the sweeper removes whatever pod of the server is there once it is idle.
 */
function orphan(reason: string) {
  return {
    type: 'recordOrphan' as const,
    params: ({ context }: { context: ServerContext }) => ({
      uid: context.certain && context.pod?.exists === true ? context.pod.uid : null,
      reason,
    }),
  };
}

/** lingeringPod: a stable state that learns of a pod it should not have deletes it or hands it on. */
function lingeringPod() {
  return [
    { guard: 'newLingering' as const, target: '#server.stop_pending', actions: ['notePod' as const, 'lingerReason' as const] },
    {
      guard: 'newTerminating' as const,
      actions: ['notePod' as const, orphan('a terminating pod was found while the server was not running')],
    },
    { actions: 'notePod' as const },
  ];
}

export type ServerMachine = typeof serverMachine;

/** InvalidDelayError: a delay given to configureServerMachine that is not a positive number of milliseconds. */
export class InvalidDelayError extends RangeError {
  constructor(
    /** delay names it, e.g. `pollInterval`. */
    readonly delay: string,
    readonly value: unknown,
  ) {
    super(`delay ${delay} must be a positive number of milliseconds, got ${String(value)}`);
    this.name = 'InvalidDelayError';
  }
}

/** configureServerMachine gives the machine its configured delays; defaults fill what is not given; a delay that is not a positive number is an InvalidDelayError. */
export function configureServerMachine(delays: Partial<ServerDelays> = {}): ServerMachine {
  const d: ServerDelays = { ...DEFAULT_DELAYS, ...delays };
  for (const [name, value] of Object.entries(d)) {
    if (!Number.isFinite(value) || value <= 0) throw new InvalidDelayError(name, value);
  }
  return serverMachine.provide({ delays: machineDelays(d) });
}
