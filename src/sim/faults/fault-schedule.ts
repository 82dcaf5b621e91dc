import type { TimerSet } from '../cluster/clock.js';
import type { FaultInjector } from './faults.js';
import { streamFor } from '../cluster/prng.js';

export type ScheduledFaultKind =
  'dropWatchEvents' | 'failCalls' | 'slowCalls' | 'cutWatches' | 'stallWatches' | 'expireWatches' | 'refuseConnections' | 'goneNext';

export const ALL_SCHEDULED_FAULTS: readonly ScheduledFaultKind[] = [
  'dropWatchEvents',
  'failCalls',
  'slowCalls',
  'cutWatches',
  'stallWatches',
  'expireWatches',
  'refuseConnections',
  'goneNext',
];

export interface FaultScheduleOptions {
  seed: number;
  /** The plan covers [0, durationMs) from its start. */
  durationMs: number;
  /** Mean quiet time between episodes; gaps are drawn in [0.5, 1.5] × this. */
  meanGapMs?: number;
  /** Mean length of episodes that last (rates, stalls of new watches, refused connections). */
  meanEpisodeMs?: number;
  kinds?: readonly ScheduledFaultKind[];
  /** The share of events or calls a rate episode hits. */
  fraction?: number;
  /** The delay of a slowCalls episode. */
  slowDelayMs?: number;
}

/** FaultEpisode is one planned fault: what, when (from the schedule's start), how long, how hard. */
export interface FaultEpisode {
  readonly atMs: number;
  readonly kind: ScheduledFaultKind;
  readonly durationMs: number;
  readonly fraction?: number;
  readonly status?: number;
  readonly delayMs?: number;
}

const INSTANT: readonly ScheduledFaultKind[] = ['cutWatches', 'expireWatches', 'goneNext'];
const FAIL_STATUSES = [500, 503, 504, 429] as const;

/**
 * planFaults turns a seed into a fixed list of fault episodes, one after another, never
 * overlapping; being a pure function of its options, a chaos run can print it and replay it.
 */
export function planFaults(options: FaultScheduleOptions): FaultEpisode[] {
  const random = streamFor(options.seed, 'fault/schedule');
  const kinds = options.kinds ?? ALL_SCHEDULED_FAULTS;
  if (kinds.length === 0) return [];
  const gap = options.meanGapMs ?? 5000;
  const length = options.meanEpisodeMs ?? 2000;
  const fraction = options.fraction ?? 0.3;
  const plan: FaultEpisode[] = [];
  let t = 0;
  for (;;) {
    t += Math.round(gap * (0.5 + random()));
    const kind = kinds[Math.floor(random() * kinds.length)] ?? 'cutWatches';
    const durationMs = INSTANT.includes(kind) ? 0 : Math.round(length * (0.5 + random()));
    if (t + durationMs >= options.durationMs) break;
    const episode: { -readonly [K in keyof FaultEpisode]: FaultEpisode[K] } = { atMs: t, kind, durationMs };
    if (kind === 'dropWatchEvents' || kind === 'failCalls' || kind === 'slowCalls') episode.fraction = fraction;
    if (kind === 'failCalls') episode.status = FAIL_STATUSES[Math.floor(random() * FAIL_STATUSES.length)] ?? 500;
    if (kind === 'slowCalls') episode.delayMs = options.slowDelayMs ?? 1000;
    plan.push(episode);
    t += durationMs;
  }
  return plan;
}

/** applyEpisode starts one episode on the injector and returns how to end it. */
function applyEpisode(faults: FaultInjector, ep: FaultEpisode): () => void {
  switch (ep.kind) {
    case 'dropWatchEvents':
      faults.dropWatchEvents(ep.fraction ?? 0);
      return () => faults.dropWatchEvents(0);
    case 'failCalls':
      faults.failCalls({ fraction: ep.fraction ?? 0, status: ep.status ?? 500 });
      return () => faults.failCalls({ fraction: 0 });
    case 'slowCalls':
      faults.slowCalls({ fraction: ep.fraction ?? 0, delayMs: ep.delayMs ?? 0 });
      return () => faults.slowCalls({ fraction: 0, delayMs: 0 });
    case 'cutWatches':
      faults.cutWatches();
      return () => undefined;
    case 'expireWatches':
      faults.expireWatches();
      return () => undefined;
    case 'goneNext':
      faults.failNext(1, { status: 410, verbs: ['list', 'watch'] });
      return () => undefined;
    case 'stallWatches':
      faults.stallWatches({ forMs: ep.durationMs });
      return () => undefined;
    case 'refuseConnections':
      faults.refuseConnections().catch(() => undefined);
      return () => {
        faults.acceptConnections().catch(() => undefined);
      };
  }
}

/**
 * FaultSchedule runs a plan on the simulator's clock; while it runs it owns the fault rates, and
 * stopping it ends the episode in progress.
 */
export class FaultSchedule {
  private cancels: (() => void)[] = [];
  private undo: (() => void) | undefined;

  constructor(
    private readonly faults: FaultInjector,
    private readonly timers: TimerSet,
  ) {}

  start(plan: readonly FaultEpisode[]): void {
    this.stop();
    for (const ep of plan) {
      this.cancels.push(
        this.timers.after(ep.atMs, () => {
          this.undo = applyEpisode(this.faults, ep);
        }),
      );
      this.cancels.push(
        this.timers.after(ep.atMs + ep.durationMs, () => {
          const undo = this.undo;
          this.undo = undefined;
          undo?.();
        }),
      );
    }
  }

  stop(): void {
    for (const cancel of this.cancels.splice(0)) cancel();
    const undo = this.undo;
    this.undo = undefined;
    undo?.();
  }
}
