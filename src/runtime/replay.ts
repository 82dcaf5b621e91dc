import { parseTimerId } from '../../machines/timer-id.js';
import type { ServerMachine } from '../../machines/server.machine.js';
import type { EventRow, EventStore } from '../store/event-store.js';
import { initialSnapshot, persist, restore, step } from './step.js';

/** UPGRADED is the event that records a snapshot carried to a new machine version; replay starts from it. */
export const UPGRADED = 'machine.upgraded';

export interface UpgradedEvent {
  readonly type: typeof UPGRADED;
  readonly from: number;
  readonly to: number;
  /** snapshot is the upgraded snapshot: the checkpoint replay starts from. */
  readonly snapshot: string;
}

/**
 * replay folds a server's log from a new server's snapshot, or from the last machine upgrade's
 * checkpoint (events before it were written for another machine version); it runs no effect.
 */
export function replay(machine: ServerMachine, events: ReadonlyArray<Pick<EventRow, 'payload'>>): string {
  let snapshot = initialSnapshot(machine);
  for (const row of events) {
    const event = JSON.parse(row.payload) as { type: string };
    snapshot = event.type === UPGRADED ? restore(machine, (event as UpgradedEvent).snapshot) : step(machine, snapshot, event).snapshot;
  }
  return persist(machine, snapshot);
}

/** replayStart is the sequence number replay starts after: that of the last upgrade, or 0. */
export function replayStart(events: ReadonlyArray<Pick<EventRow, 'payload' | 'seq'>>): { seq: number; from: number | null } {
  for (let i = events.length - 1; i >= 0; i--) {
    const row = events[i] as Pick<EventRow, 'payload' | 'seq'>;
    const event = JSON.parse(row.payload) as { type: string };
    if (event.type === UPGRADED) return { seq: row.seq, from: (event as UpgradedEvent).from };
  }
  return { seq: 0, from: null };
}

export interface ReplayCheck {
  readonly key: string;
  readonly ok: boolean;
  readonly events: number;
  /** startedAt: the upgrade event replay started from (its seq and the version it upgraded), if any. */
  readonly startedAt: { seq: number; from: number | null };
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
  return store.events(key).map((row) => ({
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
