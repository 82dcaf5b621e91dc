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

/** armedTimers counts the timers a database holds (every entry of every server row's list), for reports and checks. */
export function armedTimers(db: Database): number {
  return (db.prepare('SELECT COALESCE(SUM(json_array_length(timers)), 0) AS n FROM servers').get() as { n: number }).n;
}

/** StoredTimer is one entry of a server row's `timers` list: [id, dueAt, delay (null in old rows), event JSON, checksum (null in old rows)]. */
type StoredTimer = [id: string, dueAt: number, delay: number | null, event: string, crc: number | null];

const isStoredTimer = (e: unknown): e is StoredTimer =>
  Array.isArray(e) &&
  e.length === 5 &&
  typeof e[0] === 'string' &&
  typeof e[1] === 'number' &&
  (e[2] === null || typeof e[2] === 'number') &&
  typeof e[3] === 'string' &&
  (e[4] === null || typeof e[4] === 'number');

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
  private readonly updateServerTimers: Statement;
  private readonly readTimers: Statement;
  /**
   * timers: each server's armed timers as its row holds them (id → the entry's JSON), so a step writes
   * the row's new list without reading it. Filled from the rows at `loadTimers` (or a row's first
   * step); what a batch changes is staged and kept only once its transaction has committed.
   */
  private readonly timers = new Map<number, Map<string, string>>();
  private staged = new Map<number, Map<string, string>>();
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
    this.updateServerTimers = db.prepare(
      'UPDATE servers SET snapshot = ?, state = ?, seq = ?, since = ?, machine_version = ?, crc = ?, timers = ? WHERE sid = ?',
    );
    this.readTimers = db.prepare('SELECT timers FROM servers WHERE sid = ?').pluck();
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
      () => this.db.prepare("SELECT sid, timers FROM servers WHERE timers != '[]'").all() as Array<{ sid: number; timers: string }>,
    );
    this.timers.clear();
    const all: TimerRow[] = [];
    for (const { sid, timers } of rows) {
      for (const [id, dueAt, delay, event] of this.parseTimers(sid, timers)) all.push({ sid, id, dueAt, delay, event });
    }
    return all.sort((a, b) => a.dueAt - b.dueAt || a.sid - b.sid);
  }

  /**
   * parseTimers reads a row's timer list, checking each entry's checksum (anything else is a damaged
   * file), and keeps it as the server's committed list.
   */
  private parseTimers(sid: number, text: string): StoredTimer[] {
    const entries = new Map<string, string>();
    let list: unknown;
    try {
      list = JSON.parse(text);
    } catch {
      list = undefined;
    }
    if (!Array.isArray(list)) throw new DatabaseRefusedError(this.db.name, 'corrupt', `the timer list of server #${sid} is damaged`);
    for (const entry of list as unknown[]) {
      if (!isStoredTimer(entry)) throw new DatabaseRefusedError(this.db.name, 'corrupt', `a timer of server #${sid} is damaged`);
      const [id, dueAt, delay, event, crc] = entry;
      this.verified({ crc }, timerSum(sid, id, dueAt, event, delay), `timer ${id} of server #${sid}`);
      entries.set(id, JSON.stringify(entry));
    }
    this.timers.set(sid, entries);
    return list as StoredTimer[];
  }

  loadOutbox(): OutboxRow[] {
    const rows = this.read(
      () => this.db.prepare('SELECT id, sid, kind, params, crc FROM outbox ORDER BY id').all() as Array<OutboxRow & Checked>,
    );
    return rows.map((r) => this.verified(r, outboxSum(r.sid, r.kind, r.params), `effect #${r.id} of server #${r.sid}`));
  }

  commit(records: StepRecord[]): void {
    this.staged = new Map();
    this.commitTx(records);
    for (const [sid, entries] of this.staged) this.timers.set(sid, entries);
    this.staged = new Map();
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
    const sum = serverSum(r.key, r.snapshot, r.stateAfter, r.seq, r.since);
    const fresh = sid === undefined;
    if (sid === undefined) {
      sid = Number(this.insertServer.run(r.key, r.snapshot, r.stateAfter, r.seq, r.since, this.machineVersion, r.ts, sum).lastInsertRowid);
      created.set(r.key, sid);
      // A new row starts with no timers; a sid freed by a dropped server and taken again must not inherit its list.
      this.staged.set(sid, new Map());
    }
    r.sid = sid;
    // A timer entry's checksum covers the server's sid, so a new server's first timers follow its insert.
    const timers = this.nextTimers(sid, r);
    if (timers !== undefined) this.updateServerTimers.run(r.snapshot, r.stateAfter, r.seq, r.since, this.machineVersion, sum, timers, sid);
    else if (!fresh) this.updateServer.run(r.snapshot, r.stateAfter, r.seq, r.since, this.machineVersion, sum, sid);
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
   * nextTimers applies a step's timer changes to the server's list — the one it consumed and each it
   * cancelled removed, each it armed written with its due time and checksum, a timer touched twice
   * keeping its last change (leaving and re-entering a state cancels a timer and arms it again) — and
   * returns the row's new `timers` value, or undefined when the step touched none.
   */
  private nextTimers(sid: number, r: StepRecord): string | undefined {
    if (r.firedTimer === undefined && r.timers.length === 0) return undefined;
    // The batch's own copy of the list is changed in place; the committed one is copied first.
    let entries = this.staged.get(sid);
    if (entries === undefined) {
      if (!this.timers.has(sid)) this.parseTimers(sid, this.readTimers.get(sid) as string);
      entries = new Map(this.timers.get(sid));
      this.staged.set(sid, entries);
    }
    if (r.firedTimer !== undefined) entries.delete(r.firedTimer);
    for (const change of r.timers) {
      if (!('arm' in change)) {
        entries.delete(change.cancel);
        continue;
      }
      const { id, delay } = change.arm;
      const event = JSON.stringify(change.arm.event);
      const dueAt = r.ts + delay;
      entries.set(id, JSON.stringify([id, dueAt, delay, event, timerSum(sid, id, dueAt, event, delay)] satisfies StoredTimer));
    }
    return `[${[...entries.values()].join(',')}]`;
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
