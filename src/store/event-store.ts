import type { Database, Statement } from 'better-sqlite3';
import type { EffectRequest, OrphanRecord, TimerChange } from '../runtime/step.js';

export interface ServerRow {
  readonly sid: number;
  readonly key: string;
  readonly snapshot: string;
  readonly state: string;
  readonly seq: number;
  readonly since: number;
}

export interface TimerRow {
  readonly sid: number;
  readonly id: string;
  readonly dueAt: number;
  readonly event: string;
}

export interface OutboxRow {
  readonly id: number;
  readonly sid: number;
  readonly kind: string;
  readonly params: string;
}

export interface EventRow {
  readonly seq: number;
  readonly ts: number;
  readonly type: string;
  readonly payload: string;
  readonly stateBefore: string;
  readonly stateAfter: string;
}

export interface OrphanRow {
  readonly sid: number;
  readonly key: string;
  readonly uid: string;
  readonly reason: string;
  readonly recordedAt: number;
}

/** StepRecord is one committed step: the event, the snapshot after it and what it set in motion. */
export interface StepRecord {
  /** sid of an existing server, or undefined with `key` for a server this step creates. */
  sid: number | undefined;
  readonly key: string;
  readonly seq: number;
  readonly ts: number;
  readonly type: string;
  readonly payload: string;
  readonly stateBefore: string;
  readonly stateAfter: string;
  readonly snapshot: string;
  readonly since: number;
  readonly timers: readonly TimerChange[];
  /** firedTimer is the timer row this step consumed, if it was a timer firing. */
  readonly firedTimer?: string | undefined;
  readonly effects: readonly EffectRequest[];
  /** doneEffect is the outbox row whose answer this step is. */
  readonly doneEffect?: number | undefined;
  readonly orphans: readonly OrphanRecord[];
  /** outboxIds receives the ids of `effects` once committed, in order. */
  outboxIds?: number[];
}

/** EventStore is the runtime's durable memory; SqliteEventStore is the one implementation. */
export interface EventStore {
  loadServers(): ServerRow[];
  loadTimers(): TimerRow[];
  loadOutbox(): OutboxRow[];
  commit(records: StepRecord[]): void;
  events(key: string): EventRow[];
  orphans(): OrphanRow[];
  removeOrphan(sid: number, uid: string): void;
}

/**
 * SqliteEventStore writes every batch of steps in one transaction: events, snapshots, timer rows,
 * outbox rows and orphan records together, so a crash keeps all of a step or none of it.
 */
export class SqliteEventStore implements EventStore {
  private readonly insertServer: Statement;
  private readonly updateServer: Statement;
  private readonly insertEvent: Statement;
  private readonly upsertTimer: Statement;
  private readonly deleteTimer: Statement;
  private readonly insertOutbox: Statement;
  private readonly deleteOutbox: Statement;
  private readonly upsertOrphan: Statement;
  private readonly commitTx: (records: StepRecord[]) => void;
  private readonly machineVersion: number;

  constructor(
    readonly db: Database,
    options: { machineVersion: number },
  ) {
    this.machineVersion = options.machineVersion;
    this.insertServer = db.prepare(
      'INSERT INTO servers (key, snapshot, state, seq, since, machine_version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.updateServer = db.prepare('UPDATE servers SET snapshot = ?, state = ?, seq = ?, since = ?, machine_version = ? WHERE sid = ?');
    this.insertEvent = db.prepare(
      'INSERT INTO events (sid, seq, ts, type, payload, state_before, state_after) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.upsertTimer = db.prepare(
      'INSERT INTO timers (sid, id, due_at, event) VALUES (?, ?, ?, ?) ON CONFLICT (sid, id) DO UPDATE SET due_at = excluded.due_at, event = excluded.event',
    );
    this.deleteTimer = db.prepare('DELETE FROM timers WHERE sid = ? AND id = ?');
    this.insertOutbox = db.prepare('INSERT INTO outbox (sid, kind, params, created_at) VALUES (?, ?, ?, ?)');
    this.deleteOutbox = db.prepare('DELETE FROM outbox WHERE id = ?');
    this.upsertOrphan = db.prepare(
      'INSERT INTO orphans (sid, uid, reason, recorded_at) VALUES (?, ?, ?, ?) ON CONFLICT (sid, uid) DO UPDATE SET reason = excluded.reason',
    );
    this.commitTx = db.transaction((records: StepRecord[]) => {
      const created = new Map<string, number>();
      for (const r of records) this.write(r, created);
    });
  }

  loadServers(): ServerRow[] {
    return this.db.prepare('SELECT sid, key, snapshot, state, seq, since FROM servers ORDER BY sid').all() as ServerRow[];
  }

  loadTimers(): TimerRow[] {
    return this.db.prepare('SELECT sid, id, due_at AS dueAt, event FROM timers ORDER BY due_at, sid').all() as TimerRow[];
  }

  loadOutbox(): OutboxRow[] {
    return this.db.prepare('SELECT id, sid, kind, params FROM outbox ORDER BY id').all() as OutboxRow[];
  }

  commit(records: StepRecord[]): void {
    this.commitTx(records);
  }

  events(key: string): EventRow[] {
    return this.db
      .prepare(
        `SELECT e.seq, e.ts, e.type, e.payload, e.state_before AS stateBefore, e.state_after AS stateAfter
         FROM events e JOIN servers s ON s.sid = e.sid WHERE s.key = ? ORDER BY e.seq`,
      )
      .all(key) as EventRow[];
  }

  orphans(): OrphanRow[] {
    return this.db
      .prepare(
        'SELECT o.sid, s.key, o.uid, o.reason, o.recorded_at AS recordedAt FROM orphans o JOIN servers s ON s.sid = o.sid ORDER BY o.recorded_at',
      )
      .all() as OrphanRow[];
  }

  removeOrphan(sid: number, uid: string): void {
    this.db.prepare('DELETE FROM orphans WHERE sid = ? AND uid = ?').run(sid, uid);
  }

  private write(r: StepRecord, created: Map<string, number>): void {
    let sid = r.sid ?? created.get(r.key);
    if (sid === undefined) {
      sid = Number(this.insertServer.run(r.key, r.snapshot, r.stateAfter, r.seq, r.since, this.machineVersion, r.ts).lastInsertRowid);
      created.set(r.key, sid);
      r.sid = sid;
    } else {
      r.sid = sid;
      this.updateServer.run(r.snapshot, r.stateAfter, r.seq, r.since, this.machineVersion, sid);
    }
    this.insertEvent.run(sid, r.seq, r.ts, r.type, r.payload, r.stateBefore, r.stateAfter);
    if (r.firedTimer !== undefined) this.deleteTimer.run(sid, r.firedTimer);
    for (const change of r.timers) {
      if ('arm' in change) this.upsertTimer.run(sid, change.arm.id, r.ts + change.arm.delay, JSON.stringify(change.arm.event));
      else this.deleteTimer.run(sid, change.cancel);
    }
    if (r.doneEffect !== undefined) this.deleteOutbox.run(r.doneEffect);
    const ids: number[] = [];
    for (const effect of r.effects) {
      ids.push(Number(this.insertOutbox.run(sid, effect.kind, JSON.stringify(effect.params), r.ts).lastInsertRowid));
    }
    r.outboxIds = ids;
    for (const orphan of r.orphans) this.upsertOrphan.run(sid, orphan.uid ?? '', orphan.reason, r.ts);
  }
}
