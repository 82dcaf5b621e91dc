import type { Database, Statement } from 'better-sqlite3';
import { CHECKPOINT, CHECKPOINT_TYPES, UPGRADED } from '../core/checkpoints.js';
import type { Checked, EventRow } from './event-store.js';
import { eventSum, readChecked, verifiedRow } from './event-store.js';

/** HistoryServer is a server as retention walks them: which one, and where its retained history begins. */
export interface HistoryServer {
  readonly sid: number;
  readonly key: string;
  readonly seq: number;
  readonly state: string;
  /** firstSeq and firstTs are where its retained history begins: its last fold checkpoint, else its oldest event (0 when it has none). */
  readonly firstSeq: number;
  readonly firstTs: number;
}

/** CheckpointRow is the event row that replaces the events a fold removes; its seq is the last one folded. */
export interface CheckpointRow {
  readonly ts: number;
  readonly type: string;
  readonly payload: string;
  readonly stateBefore: string;
  readonly stateAfter: string;
}

/** DatabaseSize is the file as SQLite sees it: pages in use and pages free for reuse or reclaim. */
export interface DatabaseSize {
  readonly bytes: number;
  readonly freeBytes: number;
  readonly pageSize: number;
  readonly freePages: number;
  /** incremental: freed pages can be handed back to the file system (auto_vacuum=INCREMENTAL). */
  readonly incremental: boolean;
}

/** LIFECYCLE_START is the partial index's condition (migration 006): a server entering spawn_pending from elsewhere. */
const LIFECYCLE_START = "state_after GLOB 'spawn_pending*' AND state_before NOT GLOB 'spawn_pending*'";
/** FOLD is the condition of migration 006's other partial index: a row retention rewrote into a checkpoint. */
const FOLD = `type = '${CHECKPOINT}'`;

/**
 * HistoryStore is what retention needs of the event log: small reads to find what may go, and one
 * short transaction per fold or drop. It knows rows and sequences, not machines: the runtime computes
 * the checkpoint's snapshot and hands it over.
 */
export class HistoryStore {
  private readonly page: Statement;
  private readonly first: Statement;
  private readonly lastStarts: Statement;
  private readonly lastBefore: Statement;
  private readonly startBefore: Statement;
  private readonly count: Statement;
  private readonly range: Statement;
  private readonly rewrite: Statement;
  private readonly sweepRange: Statement;
  private readonly lastId: Statement;
  private readonly upgrade: Statement;
  private readonly dropTx: (sid: number) => number;

  constructor(readonly db: Database) {
    this.page = db.prepare(
      `SELECT s.sid, s.key, s.seq, s.state,
              COALESCE((SELECT seq FROM events WHERE sid = s.sid AND ${FOLD} ORDER BY seq DESC LIMIT 1),
                       (SELECT seq FROM events WHERE sid = s.sid ORDER BY seq LIMIT 1), 0) AS firstSeq,
              COALESCE((SELECT ts FROM events WHERE sid = s.sid ORDER BY seq LIMIT 1), 0) AS firstTs
       FROM servers s WHERE s.sid > ? ORDER BY s.sid LIMIT ?`,
    );
    this.first = db.prepare('SELECT seq, ts FROM events WHERE sid = ? ORDER BY seq LIMIT 1');
    this.lastStarts = db.prepare(`SELECT seq FROM events WHERE sid = ? AND ${LIFECYCLE_START} ORDER BY seq DESC LIMIT ?`);
    this.lastBefore = db.prepare('SELECT seq FROM events WHERE sid = ? AND ts < ? ORDER BY seq DESC LIMIT 1');
    this.startBefore = db.prepare(
      `SELECT seq FROM events WHERE sid = ? AND seq <= ? AND ts < ? AND ${LIFECYCLE_START} ORDER BY seq DESC LIMIT 1`,
    );
    this.count = db.prepare(
      `SELECT COUNT(*) AS events, COALESCE(SUM(type IN (${CHECKPOINT_TYPES.map(() => '?').join(', ')})), 0) AS checkpoints,
              COALESCE(MAX(id), ?) AS lastId
       FROM (SELECT id, type FROM events WHERE id > ? ORDER BY id LIMIT ?)`,
    );
    this.range = db.prepare(
      `SELECT id, sid, seq, ts, type, payload, state_before AS stateBefore, state_after AS stateAfter, crc
       FROM events WHERE sid = ? AND seq >= ? AND seq <= ? ORDER BY seq LIMIT ?`,
    );
    this.rewrite = db.prepare(
      'UPDATE events SET ts = ?, type = ?, payload = ?, state_before = ?, state_after = ?, crc = ? WHERE sid = ? AND seq = ?',
    );
    this.sweepRange = db.prepare(
      `DELETE FROM events WHERE id > ? AND id <= ?
         AND EXISTS (SELECT 1 FROM events c WHERE c.sid = events.sid AND c.seq > events.seq AND c.${FOLD})`,
    );
    this.lastId = db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM events');
    this.upgrade = db.prepare(
      `SELECT seq FROM events WHERE sid = ? AND seq > ? AND seq <= ? AND type = '${UPGRADED}' ORDER BY seq DESC LIMIT 1`,
    );
    this.dropTx = db.transaction((sid: number) => {
      const removed = db.prepare('DELETE FROM events WHERE sid = ?').run(sid).changes;
      for (const table of ['outbox', 'orphans']) db.prepare(`DELETE FROM ${table} WHERE sid = ?`).run(sid);
      db.prepare('DELETE FROM servers WHERE sid = ?').run(sid);
      return removed;
    });
  }

  /** servers is a page of servers after `afterSid`, in sid order, each with where its retained history begins. */
  servers(afterSid: number, limit: number): HistoryServer[] {
    return readChecked(this.db, () => this.page.all(afterSid, limit) as HistoryServer[]);
  }

  /** begins is the sequence and time of a server's oldest retained event. */
  begins(sid: number): { seq: number; ts: number } | undefined {
    return readChecked(this.db, () => this.first.get(sid) as { seq: number; ts: number } | undefined);
  }

  /**
   * foldPoint is the last sequence retention may fold: every event up to it began before the last
   * `lifecycles` lifecycles and is older than `cutoff` (wall-clock ms). It ends a lifecycle, so a
   * history keeps whole lifecycles; 0 when nothing may go. With `lifecycles` 0 the age alone decides.
   */
  foldPoint(sid: number, lifecycles: number, cutoff: number): number {
    return readChecked(this.db, () => {
      if (lifecycles === 0) return (this.lastBefore.get(sid, cutoff) as { seq: number } | undefined)?.seq ?? 0;
      // The oldest kept lifecycle begins at the `lifecycles`-th newest start; what came before it may go once old enough.
      const keptFrom = this.lastStarts.all(sid, lifecycles).at(lifecycles - 1) as { seq: number } | undefined;
      if (keptFrom === undefined) return 0;
      const older = this.startBefore.get(sid, keptFrom.seq, cutoff) as { seq: number } | undefined;
      return older === undefined ? 0 : older.seq - 1;
    });
  }

  /** lastUpgrade is the sequence of a server's last machine-upgrade checkpoint in (afterSeq, throughSeq], or undefined. */
  lastUpgrade(sid: number, afterSeq: number, throughSeq: number): number | undefined {
    return readChecked(this.db, () => (this.upgrade.get(sid, afterSeq, throughSeq) as { seq: number } | undefined)?.seq);
  }

  /** events reads up to `limit` of a server's events from `fromSeq` through `throughSeq`, each checked against its checksum, with its row id. */
  events(sid: number, fromSeq: number, throughSeq: number, limit: number): Array<EventRow & { id: number }> {
    const rows = readChecked(
      this.db,
      () => this.range.all(sid, fromSeq, throughSeq, limit) as Array<EventRow & Checked & { sid: number; id: number }>,
    );
    return rows.map((r) => {
      const { sid: _sid, ...row } = verifiedRow(
        this.db,
        r,
        eventSum(r.sid, r.seq, r.ts, r.type, r.payload, r.stateBefore, r.stateAfter),
        `event ${r.seq} of server #${sid}`,
      );
      return row;
    });
  }

  /**
   * fold rewrites a server's event at `throughSeq` into the checkpoint that stands for it and every
   * event before it: one row, one page. Replay starts from the last checkpoint, so the rows before it
   * no longer count; `sweep` deletes them later in the log's own order. It is committed without an
   * fsync of its own (synchronous=NORMAL for this transaction): a fold lost to a power cut loses
   * nothing, the events are still there, and the runtime's next commit (synchronous=FULL) syncs it.
   */
  fold(sid: number, throughSeq: number, row: CheckpointRow): void {
    const crc = eventSum(sid, throughSeq, row.ts, row.type, row.payload, row.stateBefore, row.stateAfter);
    this.unsynced(() => this.rewrite.run(row.ts, row.type, row.payload, row.stateBefore, row.stateAfter, crc, sid, throughSeq));
  }

  /** lastEventId is the id of the newest event row: a sweep goes up to it. */
  lastEventId(): number {
    return (this.lastId.get() as { id: number }).id;
  }

  /**
   * sweep deletes, among the event rows with ids in (afterId, throughId], those a later fold
   * checkpoint of their server stands for. Ids follow the order rows were written, which is their
   * order on disk: neighbouring rows share pages, so a sweep writes a few pages for many rows.
   */
  sweep(afterId: number, throughId: number): number {
    return this.unsynced(() => this.sweepRange.run(afterId, throughId).changes);
  }

  /** drop removes a server and all it left (events, its row with its timers, outbox, orphan records) in one transaction. */
  drop(sid: number): number {
    return this.unsynced(() => this.dropTx(sid));
  }

  /** counts tells how many events and checkpoint rows the log holds after event id `afterId`, reading at most `limit` rows. */
  counts(afterId: number, limit: number): { events: number; checkpoints: number; lastId: number } {
    return this.count.get(...CHECKPOINT_TYPES, afterId, afterId, limit) as { events: number; checkpoints: number; lastId: number };
  }

  /** size reads the file's page counts (cheap: two header fields). */
  size(): DatabaseSize {
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const freePages = this.db.pragma('freelist_count', { simple: true }) as number;
    const incremental = (this.db.pragma('auto_vacuum', { simple: true }) as number) === 2;
    return { bytes: pages * pageSize, freeBytes: freePages * pageSize, pageSize, freePages, incremental };
  }

  /** reclaim hands up to `pages` free pages back to the file system; nothing on a file without incremental auto_vacuum. */
  reclaim(pages: number): number {
    const before = this.size();
    if (!before.incremental || before.freePages === 0) return 0;
    this.unsynced(() => this.db.pragma(`incremental_vacuum(${Math.max(1, Math.floor(pages))})`));
    return before.freePages - this.size().freePages;
  }

  private unsynced<T>(work: () => T): T {
    const was = this.db.pragma('synchronous', { simple: true }) as number;
    if (was <= 1) return work();
    this.db.pragma('synchronous = NORMAL');
    try {
      return work();
    } finally {
      this.db.pragma(`synchronous = ${was}`);
    }
  }
}
