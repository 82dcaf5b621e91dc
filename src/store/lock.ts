import { createHash, randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync, realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';

/** LockHolder is the process that holds a database: what an operator needs to find it. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** since: when it took the lock, in ms since the epoch. */
  readonly since: number;
}

/** DatabaseLock is one process's exclusive claim on a database file, held until `release` or the process's end. */
export interface DatabaseLock {
  /** path of the lock file beside the database. */
  readonly path: string;
  /** id is the lock file's own random id, kept across holders: with the host, it names this database's hub. */
  readonly id: string;
  readonly holder: LockHolder;
  release(): void;
}

/** DatabaseLockedError: another process holds the database; nothing was opened or written. */
export class DatabaseLockedError extends Error {
  constructor(
    readonly database: string,
    readonly holder: LockHolder | undefined,
  ) {
    const who =
      holder === undefined
        ? 'another process'
        : `spawnkeeper pid ${holder.pid} on host ${holder.host}, since ${new Date(holder.since).toISOString()}`;
    super(
      `refusing to open ${database} for writing: it is held by ${who}. Two hubs on one database would undo each other's work; ` +
        'stop the other one first. Reading works while it runs: history, replay --check and export open the file read-only.',
    );
    this.name = 'DatabaseLockedError';
  }
}

/**
 * lockPathOf is the lock file of a database: `<file>.lock` beside the real file, so two spellings
 * of one path (relative, absolute, through a symbolic link) name one lock.
 */
export function lockPathOf(database: string): string {
  const real = existsSync(database) ? realpathSync(database) : join(realpathSync(dirname(database)), basename(database));
  return `${real}.lock`;
}

const SCHEMA =
  'CREATE TABLE IF NOT EXISTS holder (one INTEGER PRIMARY KEY CHECK (one = 1), id TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, since INTEGER NOT NULL)';

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}

function readHolder(conn: Database): (LockHolder & { id: string }) | undefined {
  try {
    return conn.prepare('SELECT id, pid, host, since FROM holder WHERE one = 1').get() as (LockHolder & { id: string }) | undefined;
  } catch {
    return undefined; // a lock file being created: no row yet
  }
}

/**
 * acquireLock takes the database's lock or throws DatabaseLockedError at once. The lock file is a
 * small SQLite database whose write lock (RESERVED) the holder keeps for its whole life, so the
 * kernel frees it when the process ends, even by SIGKILL; a stale file never blocks a new hub. The
 * holder's pid, host and start are committed before the lock is kept, so a refused process can
 * read them; another process can read but never write while it is held.
 */
export function acquireLock(database: string, options: { now?: number } = {}): DatabaseLock {
  const path = lockPathOf(database);
  let conn: Database;
  try {
    if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600)); // private, like the database beside it
    conn = new BetterSqlite3(path);
    conn.pragma('busy_timeout = 0');
  } catch (err) {
    throw new Error(`cannot open the lock file ${path}: ${(err as Error).message}`, { cause: err });
  }
  const refuse = (): never => {
    const holder = readHolder(conn);
    conn.close();
    throw new DatabaseLockedError(database, holder);
  };
  const me = { pid: process.pid, host: hostname(), since: options.now ?? Date.now() };
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      // Write who we are while holding the lock, commit so others can read it, then take the lock again to keep.
      try {
        conn.exec('BEGIN IMMEDIATE');
      } catch (err) {
        if (isBusy(err)) refuse();
        throw err;
      }
      conn.exec(SCHEMA);
      const id = readHolder(conn)?.id ?? randomUUID();
      conn.prepare('INSERT OR REPLACE INTO holder (one, id, pid, host, since) VALUES (1, ?, ?, ?, ?)').run(id, me.pid, me.host, me.since);
      conn.exec('COMMIT');
      try {
        conn.exec('BEGIN IMMEDIATE');
      } catch (err) {
        if (isBusy(err)) refuse();
        throw err;
      }
      const row = readHolder(conn);
      if (row !== undefined && row.pid === me.pid && row.host === me.host && row.since === me.since) {
        let released = false;
        return {
          path,
          id: row.id,
          holder: me,
          release() {
            if (released) return;
            released = true;
            try {
              conn.exec('ROLLBACK');
            } finally {
              conn.close();
            }
          },
        };
      }
      // Another process wrote its row between our commit and our lock: it will be refused; try again.
      conn.exec('ROLLBACK');
    }
    return refuse();
  } catch (err) {
    if (conn.open) conn.close();
    throw err;
  }
}

/** hubIdentity names a hub in a Lease: its host and a digest of its database's real path and lock id. */
export function hubIdentity(lock: DatabaseLock | undefined): string {
  if (lock === undefined) return `${hostname()}_${randomUUID()}`;
  return `${hostname()}_${createHash('sha256').update(`${lock.path}\n${lock.id}`).digest('hex').slice(0, 16)}`;
}
