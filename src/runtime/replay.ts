import { parseTimerId } from '../../machines/timer-id.js';
import type { ServerMachine } from '../../machines/server.machine.js';
import { CHECKPOINT, UPGRADED, isCheckpoint } from '../core/checkpoints.js';
import type { EventRow, EventStore } from '../store/event-store.js';
import { initialSnapshot, persist, restore, step } from './step.js';

export { CHECKPOINT, UPGRADED } from '../core/checkpoints.js';

export interface UpgradedEvent {
  readonly type: typeof UPGRADED;
  readonly from: number;
  readonly to: number;
  /** snapshot is the upgraded snapshot: the checkpoint replay starts from. */
  readonly snapshot: string;
}

/** CheckpointEvent is what retention writes in place of the events it folded: the snapshot they led to. */
export interface CheckpointEvent {
  readonly type: typeof CHECKPOINT;
  readonly snapshot: string;
  readonly machineVersion: number;
  /** folded: how many events and lifecycles the checkpoint stands for, and the times of the first and last. */
  readonly folded: { readonly events: number; readonly lifecycles: number; readonly from: number; readonly through: number };
}

type Replayable = Pick<EventRow, 'payload'> & { readonly type?: string };

/** lastCheckpoint is the index of the last event that carries a snapshot (an upgrade or a fold), or -1. */
function lastCheckpoint(events: ReadonlyArray<Replayable>): number {
  for (let i = events.length - 1; i >= 0; i--) {
    const row = events[i] as Replayable;
    if (isCheckpoint(row.type ?? (JSON.parse(row.payload) as { type: string }).type)) return i;
  }
  return -1;
}

/**
 * replay folds a server's log from its last checkpoint (a machine upgrade, or a fold of older
 * events), or from a new server's snapshot when it has none; it runs no effect. Events before a
 * checkpoint are not stepped: they may have been written for another machine version.
 */
export function replay(machine: ServerMachine, events: ReadonlyArray<Replayable>): string {
  const start = lastCheckpoint(events);
  let snapshot =
    start === -1
      ? initialSnapshot(machine)
      : restore(machine, (JSON.parse((events[start] as Replayable).payload) as { snapshot: string }).snapshot);
  for (let i = start + 1; i < events.length; i++) {
    snapshot = step(machine, snapshot, JSON.parse((events[i] as Replayable).payload) as { type: string }).snapshot;
  }
  return persist(machine, snapshot);
}

/** ReplayStart is where replay began: after the checkpoint at `seq` (0: from a new server). */
export interface ReplayStart {
  readonly seq: number;
  /** from: the machine version an upgrade checkpoint carried the snapshot from; null for any other start. */
  readonly from: number | null;
  /** folded: what a retention checkpoint stands for; absent for any other start. */
  readonly folded?: CheckpointEvent['folded'];
}

/** replayStart is the sequence number replay starts after: that of the last checkpoint, or 0. */
export function replayStart(events: ReadonlyArray<Replayable & Pick<EventRow, 'seq'>>): ReplayStart {
  const i = lastCheckpoint(events);
  if (i === -1) return { seq: 0, from: null };
  const row = events[i] as Replayable & Pick<EventRow, 'seq'>;
  const event = JSON.parse(row.payload) as UpgradedEvent | CheckpointEvent;
  return event.type === UPGRADED ? { seq: row.seq, from: event.from } : { seq: row.seq, from: null, folded: event.folded };
}

/** describeStart says in words where replay started, for `replay --check` and `history`. */
export function describeStart(start: ReplayStart, machineVersion: number): string {
  if (start.folded !== undefined)
    return `from the checkpoint at seq ${start.seq} (${start.folded.events} older events of ${start.folded.lifecycles} lifecycles folded, ${new Date(start.folded.from).toISOString()} to ${new Date(start.folded.through).toISOString()})`;
  if (start.from !== null) return `from the upgrade at seq ${start.seq} (machine version ${start.from} → ${machineVersion})`;
  return 'from the start';
}

export interface ReplayCheck {
  readonly key: string;
  readonly ok: boolean;
  readonly events: number;
  /** startedAt: the checkpoint replay started from (its seq, and what it upgraded or folded), if any. */
  readonly startedAt: ReplayStart;
  readonly stored: string;
  readonly replayed: string;
}

/** checkReplay compares a fold of the log with the stored snapshot, byte for byte. */
export function checkReplay(machine: ServerMachine, store: EventStore, key: string, stored: string): ReplayCheck {
  const events = store.events(key);
  const replayed = replay(machine, events);
  return { key, ok: replayed === stored, events: events.length, startedAt: replayStart(events), stored, replayed };
}

export interface HistoryEntry {
  readonly seq: number;
  readonly at: number;
  readonly type: string;
  readonly summary: string;
  readonly from: string;
  readonly to: string;
}

/** history is a server's events for people: time, type, a one-line summary, state before → after. */
export function history(store: EventStore, key: string): HistoryEntry[] {
  const rows = store.events(key);
  // Rows before a fold checkpoint wait for retention's sweep: the retained history begins at the checkpoint.
  let begins = rows.length - 1;
  while (begins > 0 && (rows[begins] as EventRow).type !== CHECKPOINT) begins--;
  return rows.slice(begins).map((row) => ({
    seq: row.seq,
    at: row.ts,
    type: row.type,
    summary: summarize(JSON.parse(row.payload) as Record<string, unknown>),
    from: row.stateBefore,
    to: row.stateAfter,
  }));
}

/** summarize names what an event said without spreading whole objects into a line. */
export function summarize(event: Record<string, unknown>): string {
  const type = String(event['type']);
  const timer = parseTimerId(type);
  if (timer !== undefined) return `${timer.delay} elapsed in ${timer.path}`;
  const pod = event['pod'] as Record<string, unknown> | undefined;
  const error = event['error'] as Record<string, unknown> | undefined;
  const fact = pod === undefined ? '' : describePod(pod);
  if (type === 'pod.result') {
    const op = String(event['op']);
    return error === undefined ? `${op} answered: ${fact}` : `${op} failed: ${String(error['message'])}`;
  }
  if (type === 'pod.observed') return `observed: ${fact}`;
  if (type === UPGRADED) return `snapshot upgraded from machine version ${String(event['from'])} to ${String(event['to'])}`;
  if (type === CHECKPOINT) {
    const folded = event['folded'] as CheckpointEvent['folded'];
    return `history begins here: ${folded.events} older events of ${folded.lifecycles} lifecycles (${new Date(folded.from).toISOString()} to ${new Date(folded.through).toISOString()}) folded into this checkpoint`;
  }
  return type;
}

function describePod(pod: Record<string, unknown>): string {
  if (pod['exists'] !== true) return `no pod${pod['resourceVersion'] === undefined ? '' : ` (rv ${String(pod['resourceVersion'])})`}`;
  const flags = [String(pod['phase'])];
  if (pod['ready'] === true) flags.push('ready');
  if (pod['deleting'] === true) flags.push('terminating');
  if (typeof pod['reason'] === 'string') flags.push(pod['reason']);
  return `pod ${flags.join(', ')} (rv ${String(pod['resourceVersion'])})`;
}
