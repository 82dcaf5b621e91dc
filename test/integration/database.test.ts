import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APPLICATION_ID, DatabaseRefusedError, openDatabase } from '../../src/store/database.js';
import { loadMigrations, migrate } from '../../src/store/migrations.js';
import { SqliteEventStore } from '../../src/store/event-store.js';
import type { StepRecord } from '../../src/store/event-store.js';
import { tempDir } from '../support/harness.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => (tmp = tempDir()));
afterEach(() => tmp.cleanup());

const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** refused opens a file that must be refused and proves it was left byte for byte as it was. */
function refused(path: string): DatabaseRefusedError {
  const before = digest(path);
  let error: unknown;
  try {
    openDatabase(path).close();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(DatabaseRefusedError);
  expect(digest(path)).toBe(before);
  return error as DatabaseRefusedError;
}

/** populated makes a real spawnkeeper database with some rows and closes it cleanly. */
function populated(path: string): void {
  const db = openDatabase(path);
  const insert = db.prepare(
    "INSERT INTO servers (key, snapshot, state, seq, since, machine_version, created_at) VALUES (?, '{}', 'stopped', 0, 0, 1, 0)",
  );
  for (let i = 0; i < 200; i++) insert.run(`user${i}/`);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

describe('database files', () => {
  it('creates a new database with every migration applied and recorded', () => {
    const db = openDatabase(`${tmp.dir}/new.db`);
    const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>;
    expect(versions.map((v) => v.version)).toEqual(loadMigrations().map((m) => m.version));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('opens its own database again without applying anything twice', () => {
    populated(`${tmp.dir}/again.db`);
    const db = openDatabase(`${tmp.dir}/again.db`);
    expect((db.prepare('SELECT COUNT(*) AS n FROM servers').get() as { n: number }).n).toBe(200);
    expect((db.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number }).n).toBe(loadMigrations().length);
    db.close();
  });

  it('refuses a database written by a newer schema and says to upgrade', () => {
    const path = `${tmp.dir}/newer.db`;
    populated(path);
    const db = new BetterSqlite3(path);
    db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from_the_future', 0)").run();
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const err = refused(path);
    expect(err.why).toBe('newer-schema');
    expect(err.message).toMatch(/newer spawnkeeper \(schema version 999; this one knows up to \d+\)/);
  });

  it('refuses a file that is not SQLite at all', () => {
    const path = `${tmp.dir}/notes.db`;
    writeFileSync(path, 'these are my notes, not a database\n'.repeat(100));
    const err = refused(path);
    expect(err.why).toBe('not-sqlite');
    expect(err.message).toContain('is not an SQLite database');
  });

  it('refuses an SQLite database of another application', () => {
    const path = `${tmp.dir}/foreign.db`;
    const db = new BetterSqlite3(path);
    db.exec('CREATE TABLE recipes (name TEXT)');
    db.close();
    const err = refused(path);
    expect(err.why).toBe('foreign');
  });

  it('refuses a corrupt database whose pages were overwritten', () => {
    const path = `${tmp.dir}/corrupt.db`;
    populated(path);
    const bytes = readFileSync(path);
    const pageSize = bytes.readUInt16BE(16);
    for (let i = pageSize + 8; i < Math.min(bytes.length, 3 * pageSize); i += 7) bytes[i] = 0xa5;
    writeFileSync(path, bytes);
    const err = refused(path);
    expect(err.why).toBe('corrupt');
    expect(err.message).toMatch(/damaged/);
  });

  it('refuses a truncated database', () => {
    const path = `${tmp.dir}/truncated.db`;
    populated(path);
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const err = refused(path);
    expect(['corrupt', 'not-sqlite']).toContain(err.why);
  });
});

describe('timer rows', () => {
  it("keep each timer's last change within a step: re-armed stays, armed then cancelled goes, the consumed one goes unless re-armed", () => {
    const db = openDatabase(':memory:');
    const store = new SqliteEventStore(db, { machineVersion: 1 });
    const arm = (id: string, delay: number) => ({ arm: { id, event: { type: `t.${id}` }, delay } });
    const record = (seq: number, change: Partial<StepRecord>): StepRecord => ({
      sid: seq === 1 ? undefined : 1,
      key: 'alice/',
      seq,
      ts: 1_000 * seq,
      type: 'e',
      payload: '{}',
      stateBefore: 's',
      stateAfter: 's',
      snapshot: '{}',
      since: 0,
      timers: [],
      effects: [],
      orphans: [],
      ...change,
    });
    const rows = () => store.loadTimers().map((t) => [t.id, t.dueAt]);
    store.commit([record(1, { timers: [arm('a', 10), arm('b', 20), arm('c', 30)] })]);
    expect(rows()).toEqual([
      ['a', 1_010],
      ['b', 1_020],
      ['c', 1_030],
    ]);
    // a: cancelled and armed again (re-entered); b: armed again then cancelled; c: consumed and re-armed.
    store.commit([record(2, { firedTimer: 'c', timers: [{ cancel: 'a' }, arm('a', 5), arm('b', 7), { cancel: 'b' }, arm('c', 40)] })]);
    expect(rows()).toEqual([
      ['a', 2_005],
      ['c', 2_040],
    ]);
    store.commit([record(3, { firedTimer: 'c', timers: [{ cancel: 'a' }, { cancel: 'nothing' }] })]);
    expect(rows()).toEqual([]);
    db.close();
  });
});

describe('migration 008: timers into their server rows', () => {
  /** atVersion7 writes a file as the hub before migration 008 did: a server with timer rows of its own table. */
  function atVersion7(path: string, crc: number | null): void {
    const db = new BetterSqlite3(path);
    db.pragma(`application_id = ${APPLICATION_ID}`);
    migrate(
      db,
      loadMigrations().filter((m) => m.version <= 7),
      0,
    );
    db.prepare(
      "INSERT INTO servers (sid, key, snapshot, state, seq, since, machine_version, created_at) VALUES (7, 'alice/', '{}', 'spawn_pending', 1, 0, 3, 0)",
    ).run();
    const timer = db.prepare('INSERT INTO timers (sid, id, due_at, delay_ms, event, crc) VALUES (7, ?, ?, ?, ?, ?)');
    timer.run(
      'xstate.after.startTimeout.server.spawn_pending',
      6_000,
      5_000,
      '{"type":"xstate.after.startTimeout.server.spawn_pending"}',
      crc,
    );
    timer.run(
      'xstate.after.pollInterval.server.spawn_pending.waiting',
      2_000,
      null,
      '{"type":"xstate.after.pollInterval.server.spawn_pending.waiting"}',
      null,
    );
    db.close();
  }

  it('moves every timer row into its server row with its delay and checksum as they were, and drops the table', () => {
    const path = `${tmp.dir}/v7.db`;
    atVersion7(path, null);
    const db = openDatabase(path);
    expect(db.prepare("SELECT name FROM sqlite_schema WHERE name = 'timers'").get()).toBeUndefined();
    const store = new SqliteEventStore(db, { machineVersion: 3 });
    expect(store.loadTimers()).toEqual([
      {
        sid: 7,
        id: 'xstate.after.pollInterval.server.spawn_pending.waiting',
        dueAt: 2_000,
        delay: null,
        event: '{"type":"xstate.after.pollInterval.server.spawn_pending.waiting"}',
      },
      {
        sid: 7,
        id: 'xstate.after.startTimeout.server.spawn_pending',
        dueAt: 6_000,
        delay: 5_000,
        event: '{"type":"xstate.after.startTimeout.server.spawn_pending"}',
      },
    ]);
    db.close();
  });

  it('keeps refusing a timer whose checksum does not match once it has moved', () => {
    const path = `${tmp.dir}/v7-damaged.db`;
    atVersion7(path, 12_345);
    const db = openDatabase(path);
    expect(() => new SqliteEventStore(db, { machineVersion: 3 }).loadTimers()).toThrow(
      /timer xstate\.after\.startTimeout\S* of server #7 is damaged/,
    );
    db.prepare('UPDATE servers SET timers = \'[["x", 1\' WHERE sid = 7').run();
    expect(() => new SqliteEventStore(db, { machineVersion: 3 }).loadTimers()).toThrow(/the timer list of server #7 is damaged/);
    db.close();
  });
});
