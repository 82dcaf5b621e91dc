import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { ServerMachine } from '../../machines/server.machine.js';
import { MACHINE_VERSION } from '../../machines/server.machine.js';
import type { Clock } from '../core/clock.js';
import { sleep } from '../core/clock.js';
import { CHECKPOINT } from '../core/checkpoints.js';
import type { EventRow } from '../store/event-store.js';
import type { HistoryServer, HistoryStore } from '../store/history-store.js';
import type { CheckpointEvent } from './replay.js';
import { replay } from './replay.js';
import type { Runtime } from './runtime.js';

const DAY_MS = 24 * 3_600_000;

/** RetentionPolicy says how much history each server keeps; an event goes only when both bounds allow it. */
export interface RetentionPolicy {
  /** maxAgeMs: events younger than this are kept (default 30 days); a deleted user's server goes once all its history is older. */
  maxAgeMs: number;
  /** lifecycles: each server keeps at least its last this many lifecycles, whatever their age (default 10). */
  lifecycles: number;
  /** intervalMs between retention passes (default 1 hour; 0: no retention). */
  intervalMs: number;
}

export const DEFAULT_RETENTION: Readonly<RetentionPolicy> = { maxAgeMs: 30 * DAY_MS, lifecycles: 10, intervalMs: 3_600_000 };

export interface RetentionOptions {
  store: HistoryStore;
  runtime: Runtime;
  machine: ServerMachine;
  clock: Clock;
  policy: RetentionPolicy;
  logger?: Logger | undefined;
  /** sliceMs: the most time retention holds the event loop before letting commands through (default 2 ms). */
  sliceMs?: number;
  /** foldEvents: the most events one fold reads and folds into a checkpoint (default 25). */
  foldEvents?: number;
  /**
   * restRatio: after each slice retention rests this many times as long as the slice took (default 3),
   * so it takes at most a quarter of the time, and less of it when the disk is slow: its writes then
   * leave room for the commits of commands, which wait for an fsync.
   */
  restRatio?: number;
}

/** PassSummary is what one retention pass did. */
export interface PassSummary {
  readonly servers: number;
  readonly foldedEvents: number;
  readonly checkpoints: number;
  readonly droppedServers: number;
  readonly reclaimedBytes: number;
  readonly ms: number;
  /** longestSliceMs: the longest the pass held the event loop at once (wall time, I/O waits included). */
  readonly longestSliceMs: number;
  /** longestSliceCpuMs: the CPU time of the process during that slice; the rest was spent waiting (I/O, or a busy machine). */
  readonly longestSliceCpuMs: number;
}

/** HistoryCounts are the log's rows as the last pass counted them. */
export interface HistoryCounts {
  readonly events: number;
  readonly checkpoints: number;
}

const PAGE = 200;
const SWEEP_IDS = 1_000;
const COUNT_ROWS = 5_000;
const RECLAIM_PAGES = 16;

/**
 * Retention keeps the event log bounded: a server's events older than the policy's age and before its
 * last lifecycles are folded, a few at a time, into a checkpoint (the snapshot they led to) and
 * deleted; a server the hub says is retired (its user or record deleted) is dropped once idle and all
 * its history is older than the age; freed pages go back to the file system. It works in slices of a
 * couple of milliseconds on the runtime's event loop, each fold its own short transaction, so
 * commands wait at most a slice.
 */
export class Retention {
  /** retired tells whether a server's owner is gone (the hub sets it); such a server is dropped after the age. */
  retired: (key: string) => boolean = () => false;
  readonly totals = { passes: 0, foldedEvents: 0, checkpoints: 0, droppedServers: 0, reclaimedBytes: 0 };
  last: PassSummary | undefined;
  counts: HistoryCounts | undefined;
  private readonly sliceMs: number;
  private readonly foldEvents: number;
  private readonly restRatio: number;
  private sliceStart = 0;
  private cpu = process.cpuUsage();
  private longestCpu = 0;
  /** folded: the range of row ids this pass's checkpoints stand for, which its sweep goes over; the first pass sweeps from the start. */
  private folded = { from: 0, through: Number.MAX_SAFE_INTEGER };
  private longest = 0;
  private running: Promise<PassSummary> | undefined;

  constructor(private readonly options: RetentionOptions) {
    this.sliceMs = options.sliceMs ?? 2;
    this.foldEvents = options.foldEvents ?? 25;
    this.restRatio = options.restRatio ?? 3;
  }

  /** start runs a pass every interval until aborted (none when the interval is 0); a failed pass is logged and the next one tries again. */
  async start(signal: AbortSignal): Promise<void> {
    const { intervalMs } = this.options.policy;
    if (intervalMs <= 0) return;
    while (!signal.aborted) {
      await sleep(this.options.clock, intervalMs, signal);
      if (signal.aborted) return;
      try {
        await this.pass(signal);
      } catch (err) {
        this.options.logger?.error({ err }, 'retention pass failed');
      }
    }
  }

  /** pass walks every server once; concurrent calls share one pass. */
  pass(signal?: AbortSignal): Promise<PassSummary> {
    this.running ??= this.walk(signal).finally(() => (this.running = undefined));
    return this.running;
  }

  private async walk(signal: AbortSignal | undefined): Promise<PassSummary> {
    const { store, clock, policy, logger } = this.options;
    const started = performance.now();
    this.longest = 0;
    this.longestCpu = 0;
    this.sliceStart = started;
    this.cpu = process.cpuUsage();
    const cutoff = clock.now() - policy.maxAgeMs;
    const done = { servers: 0, foldedEvents: 0, checkpoints: 0, droppedServers: 0 };
    for (let after = 0; signal?.aborted !== true;) {
      const page = store.servers(after, PAGE);
      if (page.length === 0) break;
      for (const server of page) {
        after = server.sid;
        done.servers++;
        if (server.firstSeq === 0 || server.firstTs >= cutoff) continue;
        await this.keep(server, cutoff, done);
        await this.turn();
      }
      await this.turn();
    }
    done.foldedEvents += await this.sweep(signal);
    const reclaimedBytes = await this.reclaim(signal);
    await this.count(signal);
    const summary: PassSummary = {
      ...done,
      reclaimedBytes,
      ms: performance.now() - started,
      longestSliceMs: this.longest,
      longestSliceCpuMs: this.longestCpu,
    };
    this.totals.passes++;
    this.totals.foldedEvents += done.foldedEvents;
    this.totals.checkpoints += done.checkpoints;
    this.totals.droppedServers += done.droppedServers;
    this.totals.reclaimedBytes += reclaimedBytes;
    this.last = summary;
    logger?.info({ retention: summary }, 'retention pass done');
    return summary;
  }

  /** keep applies the policy to one server: fold what may go, and drop a retired server whose whole history may. */
  private async keep(server: HistoryServer, cutoff: number, done: { foldedEvents: number; checkpoints: number; droppedServers: number }) {
    const { store, runtime } = this.options;
    const retired = this.retired(server.key);
    const through = store.foldPoint(server.sid, retired ? 0 : this.options.policy.lifecycles, cutoff);
    // A fold starts at the last checkpoint: events before a machine upgrade were written for another version and are not stepped.
    let from = through > server.firstSeq ? (store.lastUpgrade(server.sid, server.firstSeq, through) ?? server.firstSeq) : server.firstSeq;
    while (through > from) {
      const rows = store.events(server.sid, from, through, this.foldEvents);
      const last = rows.at(-1);
      if (last === undefined) break;
      store.fold(server.sid, last.seq, this.checkpoint(rows));
      done.checkpoints++;
      for (const row of rows) {
        this.folded.from = Math.min(this.folded.from, row.id);
        this.folded.through = Math.max(this.folded.through, row.id);
      }
      from = last.seq;
      await this.turn();
    }
    const current = runtime.get(server.key);
    if (!retired || current === undefined || through < current.seq || !runtime.idle(server.key)) return;
    if (current.state !== 'stopped' && current.state !== 'failed') return;
    done.foldedEvents += store.drop(server.sid);
    runtime.forget(server.key);
    done.droppedServers++;
  }

  /** checkpoint is the row that stands for `rows`: the snapshot they lead to, and what they were. */
  private checkpoint(rows: readonly EventRow[]): { ts: number; type: string; payload: string; stateBefore: string; stateAfter: string } {
    const first = rows[0] as EventRow;
    const last = rows.at(-1) as EventRow;
    const prior = first.type === CHECKPOINT ? (JSON.parse(first.payload) as CheckpointEvent).folded : undefined;
    // Sequences start at 1 and have no gaps: the checkpoint at seq S stands for S events.
    const events = last.seq;
    let lifecycles = prior?.lifecycles ?? 0;
    for (const row of rows) if (row.type !== CHECKPOINT && startsLifecycle(row)) lifecycles++;
    const event: CheckpointEvent = {
      type: CHECKPOINT,
      snapshot: replay(this.options.machine, rows),
      machineVersion: MACHINE_VERSION,
      folded: { events, lifecycles, from: prior?.from ?? first.ts, through: last.ts },
    };
    return { ts: last.ts, type: CHECKPOINT, payload: JSON.stringify(event), stateBefore: first.stateBefore, stateAfter: last.stateAfter };
  }

  /** sweep deletes the rows the pass's checkpoints stand for, in the order they were written, a range of ids at a time. */
  private async sweep(signal: AbortSignal | undefined): Promise<number> {
    const { store } = this.options;
    const last = Math.min(store.lastEventId(), this.folded.through);
    let removed = 0;
    for (let after = Math.max(0, this.folded.from - 1); after < last && signal?.aborted !== true; after += SWEEP_IDS) {
      removed += store.sweep(after, Math.min(last, after + SWEEP_IDS));
      await this.turn();
    }
    if (signal?.aborted !== true) this.folded = { from: Number.MAX_SAFE_INTEGER, through: 0 };
    return removed;
  }

  /** reclaim hands freed pages back to the file system, a few at a time. */
  private async reclaim(signal: AbortSignal | undefined): Promise<number> {
    const { store } = this.options;
    let bytes = 0;
    while (signal?.aborted !== true) {
      const pages = store.reclaim(RECLAIM_PAGES);
      if (pages <= 0) break;
      bytes += pages * store.size().pageSize;
      await this.turn();
    }
    return bytes;
  }

  /** count tallies events and checkpoints in chunks, so the metrics need no full scan at scrape time. */
  private async count(signal: AbortSignal | undefined): Promise<void> {
    const tally = { events: 0, checkpoints: 0 };
    for (let after = 0; signal?.aborted !== true;) {
      const chunk = this.options.store.counts(after, COUNT_ROWS);
      tally.events += chunk.events;
      tally.checkpoints += chunk.checkpoints;
      if (chunk.events < COUNT_ROWS) {
        this.counts = tally;
        return;
      }
      after = chunk.lastId;
      await this.turn();
    }
  }

  /** turn lets the event loop run (commands, I/O) once the current slice has used its time, and rests in proportion to it. */
  private async turn(): Promise<void> {
    const now = performance.now();
    const took = now - this.sliceStart;
    if (took < this.sliceMs) return;
    if (now - this.sliceStart > this.longest) {
      const cpu = process.cpuUsage(this.cpu);
      this.longest = now - this.sliceStart;
      this.longestCpu = (cpu.user + cpu.system) / 1000;
    }
    const rest = took * this.restRatio;
    // Real time, not the injected clock: this paces I/O, like the runtime's group commit, and decides nothing.
    await new Promise((resolve) => (rest >= 1 ? setTimeout(resolve, rest) : setImmediate(resolve)));
    this.sliceStart = performance.now();
    this.cpu = process.cpuUsage();
  }
}

/** startsLifecycle: the event took the server into spawn_pending from another state (migration 006's index says the same). */
function startsLifecycle(row: Pick<EventRow, 'stateBefore' | 'stateAfter'>): boolean {
  return row.stateAfter.startsWith('spawn_pending') && !row.stateBefore.startsWith('spawn_pending');
}
