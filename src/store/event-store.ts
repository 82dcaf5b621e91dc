import { crc32 } from 'node:zlib';
import type { Database, Statement } from 'better-sqlite3';
import { DatabaseRefusedError } from './database.js';
import type { EffectRequest, OrphanRecord, TimerChange } from '../core/step-records.js';

export interface ServerRow {
  readonly sid: number;
  readonly key: string;
  readonly snapshot: string;
  readonly state: string;
  readonly seq: number;
  readonly since: number;
  /** machineVersion is the MACHINE_VERSION that wrote the snapshot. */
  readonly machineVersion: number;
}

export interface TimerRow {
  readonly sid: number;
  readonly id: string;
  /** dueAt is wall-clock time (ms since the epoch): only good to re-arm after a restart. */
  readonly dueAt: number;
  /** delay is what the machine asked for when it armed the timer; null in rows older than the column. */
  readonly delay: number | null;
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
export interface StepRecord extends EventRow {
  /** sid of an existing server, or undefined with `key` for a server this step creates. */
  sid: number | undefined;
  readonly key: string;
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
  /** alongside writes rows of the caller's own in the same transaction, after the step's (a start's spec, say). */
  readonly alongside?: (() => void) | undefined;
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
  /** Timer statements by how many rows they write: a step's arms go in one statement, its removals in one. */
  private readonly upsertTimers = new Map<number, Statement>();
  private readonly deleteTimers = new Map<number, Statement>();
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
      'INSERT INTO servers (key, snapshot, state, seq, since, machine_version, created_at, crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.updateServer = db.prepare(
      'UPDATE servers SET snapshot = ?, state = ?, seq = ?, since = ?, machine_version = ?, crc = ? WHERE sid = ?',
    );
    this.insertEvent = db.prepare(
      'INSERT INTO events (sid, seq, ts, type, payload, state_before, state_after, crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertOutbox = db.prepare('INSERT INTO outbox (sid, kind, params, created_at, crc) VALUES (?, ?, ?, ?, ?)');
    this.deleteOutbox = db.prepare('DELETE FROM outbox WHERE id = ?');
    this.upsertOrphan = db.prepare(
      'INSERT INTO orphans (sid, uid, reason, recorded_at, crc) VALUES (?, ?, ?, ?, ?) ON CONFLICT (sid, uid) DO UPDATE SET reason = excluded.reason, recorded_at = excluded.recorded_at, crc = excluded.crc',
    );
    this.commitTx = db.transaction((records: StepRecord[]) => {
      const created = new Map<string, number>();
      for (const r of records) this.write(r, created);
    });
  }

  loadServers(): ServerRow[] {
    const rows = this.read(
      () =>
        this.db
          .prepare('SELECT sid, key, snapshot, state, seq, since, machine_version AS machineVersion, crc FROM servers ORDER BY sid')
          .all() as Array<ServerRow & Checked>,
    );
    return rows.map((r) => this.verified(r, serverSum(r.key, r.snapshot, r.state, r.seq, r.since), `the row of server ${r.key}`));
  }

  loadTimers(): TimerRow[] {
    const rows = this.read(
      () =>
        this.db.prepare('SELECT sid, id, due_at AS dueAt, delay_ms AS delay, event, crc FROM timers ORDER BY due_at, sid').all() as Array<
          TimerRow & Checked
        >,
    );
    return rows.map((r) => this.verified(r, timerSum(r.sid, r.id, r.dueAt, r.event, r.delay), `timer ${r.id} of server #${r.sid}`));
  }

  loadOutbox(): OutboxRow[] {
    const rows = this.read(
      () => this.db.prepare('SELECT id, sid, kind, params, crc FROM outbox ORDER BY id').all() as Array<OutboxRow & Checked>,
    );
    return rows.map((r) => this.verified(r, outboxSum(r.sid, r.kind, r.params), `effect #${r.id} of server #${r.sid}`));
  }

  commit(records: StepRecord[]): void {
    this.commitTx(records);
  }

  events(key: string): EventRow[] {
    const rows = this.read(
      () =>
        this.db
          .prepare(
            `SELECT e.sid, e.seq, e.ts, e.type, e.payload, e.state_before AS stateBefore, e.state_after AS stateAfter, e.crc
             FROM events e JOIN servers s ON s.sid = e.sid WHERE s.key = ? ORDER BY e.seq`,
          )
          .all(key) as Array<EventRow & Checked & { sid: number }>,
    );
    return rows.map((r) => {
      const { sid: _sid, ...row } = this.verified(
        r,
        eventSum(r.sid, r.seq, r.ts, r.type, r.payload, r.stateBefore, r.stateAfter),
        `event ${r.seq} of ${key}`,
      );
      return row;
    });
  }

  private read<T>(query: () => T): T {
    return readChecked(this.db, query);
  }

  private verified<T extends Checked>(row: T, sum: number, what: string): Omit<T, 'crc'> {
    return verifiedRow(this.db, row, sum, what);
  }

  orphans(): OrphanRow[] {
    const rows = this.read(
      () =>
        this.db
          .prepare(
            'SELECT o.sid, s.key, o.uid, o.reason, o.recorded_at AS recordedAt, o.crc FROM orphans o LEFT JOIN servers s ON s.sid = o.sid ORDER BY o.recorded_at',
          )
          .all() as Array<OrphanRow & Checked>,
    );
    return rows.map((r) => {
      const row = this.verified(r, orphanSum(r.sid, r.uid, r.reason, r.recordedAt), `the orphan record of server #${r.sid}`);
      // Every orphan belongs to a server: one that points nowhere was damaged, and would be forgotten.
      if (row.key === null) throw new DatabaseRefusedError(this.db.name, 'corrupt', `the orphan record ${r.uid} points at no server`);
      return row;
    });
  }

  removeOrphan(sid: number, uid: string): void {
    this.db.prepare('DELETE FROM orphans WHERE sid = ? AND uid = ?').run(sid, uid);
  }

  private write(r: StepRecord, created: Map<string, number>): void {
    let sid = r.sid ?? created.get(r.key);
    if (sid === undefined) {
      const crc = serverSum(r.key, r.snapshot, r.stateAfter, r.seq, r.since);
      sid = Number(this.insertServer.run(r.key, r.snapshot, r.stateAfter, r.seq, r.since, this.machineVersion, r.ts, crc).lastInsertRowid);
      created.set(r.key, sid);
      r.sid = sid;
    } else {
      r.sid = sid;
      this.updateServer.run(
        r.snapshot,
        r.stateAfter,
        r.seq,
        r.since,
        this.machineVersion,
        serverSum(r.key, r.snapshot, r.stateAfter, r.seq, r.since),
        sid,
      );
    }
    this.insertEvent.run(
      sid,
      r.seq,
      r.ts,
      r.type,
      r.payload,
      r.stateBefore,
      r.stateAfter,
      eventSum(sid, r.seq, r.ts, r.type, r.payload, r.stateBefore, r.stateAfter),
    );
    this.writeTimers(sid, r);
    if (r.doneEffect !== undefined) this.deleteOutbox.run(r.doneEffect);
    const ids: number[] = [];
    for (const effect of r.effects) {
      const params = JSON.stringify(effect.params);
      ids.push(Number(this.insertOutbox.run(sid, effect.kind, params, r.ts, outboxSum(sid, effect.kind, params)).lastInsertRowid));
    }
    r.outboxIds = ids;
    for (const orphan of r.orphans)
      this.upsertOrphan.run(sid, orphan.uid ?? '', orphan.reason, r.ts, orphanSum(sid, orphan.uid ?? '', orphan.reason, r.ts));
    r.alongside?.();
  }

  /**
   * writeTimers stores what a step left of each timer it touched: the one it consumed and each it
   * cancelled are removed, each it armed is written, and a timer touched twice keeps its last change
   * (leaving and re-entering a state cancels a timer and arms it again). One statement removes, one writes.
   */
  private writeTimers(sid: number, r: StepRecord): void {
    if (r.firedTimer === undefined && r.timers.length === 0) return;
    const last = new Map<string, { readonly event: unknown; readonly delay: number } | null>();
    if (r.firedTimer !== undefined) last.set(r.firedTimer, null);
    for (const change of r.timers) {
      if ('arm' in change) last.set(change.arm.id, change.arm);
      else last.set(change.cancel, null);
    }
    const removed: Array<number | string> = [sid];
    const armed: Array<number | string> = [];
    for (const [id, arm] of last) {
      if (arm === null) {
        removed.push(id);
        continue;
      }
      const event = JSON.stringify(arm.event);
      const dueAt = r.ts + arm.delay;
      armed.push(sid, id, dueAt, arm.delay, event, timerSum(sid, id, dueAt, event, arm.delay));
    }
    if (removed.length > 1) this.timerStatement(this.deleteTimers, removed.length - 1).run(removed);
    if (armed.length > 0) this.timerStatement(this.upsertTimers, armed.length / 6).run(armed);
  }

  private timerStatement(cache: Map<number, Statement>, rows: number): Statement {
    let statement = cache.get(rows);
    if (statement === undefined) {
      statement =
        cache === this.deleteTimers
          ? this.db.prepare(`DELETE FROM timers WHERE sid = ? AND id IN (${Array(rows).fill('?').join(', ')})`)
          : this.db.prepare(
              `INSERT INTO timers (sid, id, due_at, delay_ms, event, crc) VALUES ${Array(rows).fill('(?, ?, ?, ?, ?, ?)').join(', ')} ` +
                'ON CONFLICT (sid, id) DO UPDATE SET due_at = excluded.due_at, delay_ms = excluded.delay_ms, event = excluded.event, crc = excluded.crc',
            );
      cache.set(rows, statement);
    }
    return statement;
  }
}

export interface Checked {
  readonly crc: number | null;
}

/** readChecked turns SQLite's own corruption errors into a refusal that says so. */
export function readChecked<T>(db: Database, query: () => T): T {
  try {
    return query();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && /^SQLITE_(CORRUPT|NOTADB)/.test(code)) {
      throw new DatabaseRefusedError(db.name, 'corrupt', `the file is damaged (${(err as Error).message})`);
    }
    throw err;
  }
}

/** verifiedRow strips a row's checksum after checking it; a mismatch refuses the database. */
export function verifiedRow<T extends Checked>(db: Database, row: T, sum: number, what: string): Omit<T, 'crc'> {
  const { crc, ...rest } = row;
  if (crc !== null && crc !== sum) throw new DatabaseRefusedError(db.name, 'corrupt', `${what} is damaged (its checksum does not match)`);
  return rest;
}

/** The row checksums: CRC-32 over every field a row's meaning rests on, NUL-separated. */
const sum = (...fields: Array<string | number>): number =>
  // A flipped type byte can turn TEXT into a BLOB with the same bytes: only strings and numbers count.
  fields.every((f) => typeof f === 'string' || typeof f === 'number') ? crc32(fields.join('\0')) : -1;
const serverSum = (key: string, snapshot: string, state: string, seq: number, since: number) => sum(key, snapshot, state, seq, since);
export const eventSum = (sid: number, seq: number, ts: number, type: string, payload: string, before: string, after: string) =>
  sum(sid, seq, ts, type, payload, before, after);
/** A row older than the delay column was summed without it; every newer one has a delay, summed with the rest. */
const timerSum = (sid: number, id: string, dueAt: number, event: string, delay: number | null) =>
  delay === null ? sum(sid, id, dueAt, event) : sum(sid, id, dueAt, event, delay);
const outboxSum = (sid: number, kind: string, params: string) => sum(sid, kind, params);
const orphanSum = (sid: number, uid: string, reason: string, recordedAt: number) => sum(sid, uid, reason, recordedAt);
