import { chmodSync, closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import type { DatabaseLock } from './lock.js';
import { acquireLock } from './lock.js';
import { appliedVersion, loadMigrations, migrate } from './migrations.js';

/** APPLICATION_ID marks a file as spawnkeeper's ("SPWK"), so a foreign SQLite database is refused. */
export const APPLICATION_ID = 0x5350574b;

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

export type Durability = 'full' | 'normal';

export interface OpenOptions {
  /** durability: `full` fsyncs every commit (the default); `normal` may lose the last commits on power loss, never on a crash. */
  durability?: Durability;
  /** verify: `full` runs SQLite's integrity_check at open (the default: it also checks every index against its table), `quick` its quick_check. */
  verify?: 'quick' | 'full' | 'none';
  now?: number;
  /**
   * readonly opens an existing file for reading only: no lock, no pragma written, no migration. It
   * works while a hub holds the file (history, replay --check, export use it).
   */
  readonly?: boolean;
}

/** DatabaseRefusedError says why a file was not opened; the file is left as it was. */
export class DatabaseRefusedError extends Error {
  constructor(
    readonly path: string,
    readonly why: 'not-sqlite' | 'corrupt' | 'foreign' | 'newer-schema' | 'older-schema',
    detail: string,
  ) {
    super(`refusing to open ${path}: ${detail}`);
    this.name = 'DatabaseRefusedError';
  }
}

const locks = new WeakMap<Database, DatabaseLock>();

/** databaseLock is the lock `openDatabase` took for a database it opened for writing. */
export function databaseLock(db: Database): DatabaseLock | undefined {
  return locks.get(db);
}

/**
 * openDatabase opens (or creates) a spawnkeeper database, refusing a file that is not SQLite, is
 * corrupt, belongs to another application or was written by a newer schema; only then does it set
 * WAL and apply pending migrations. Opened for writing, a file is first locked for the life of the
 * connection (released by `close`, or by the kernel when the process ends): a second writer gets
 * DatabaseLockedError before anything is read or written.
 */
export function openDatabase(path: string, options: OpenOptions = {}): Database {
  const isMemory = path === ':memory:';
  if (options.readonly === true) return openReadonly(path, options);
  const lock = isMemory ? undefined : acquireLock(path, options.now === undefined ? {} : { now: options.now });
  let db: Database;
  try {
    if (!isMemory) {
      checkHeader(path);
      keepPrivate(path);
    }
    try {
      db = new BetterSqlite3(path);
    } catch (err) {
      throw new DatabaseRefusedError(path, 'corrupt', `SQLite cannot open it (${(err as Error).message})`);
    }
  } catch (err) {
    lock?.release();
    throw err;
  }
  try {
    checkContents(db, path, options.verify ?? 'full');
    // A new file reclaims freed pages a few at a time (retention's incremental_vacuum); it must be set before the first table.
    if (isEmptyDatabase(db)) db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.durability === 'normal' ? 'NORMAL' : 'FULL'}`);
    db.pragma('busy_timeout = 5000');
    db.pragma('cache_size = -32000');
    db.pragma('temp_store = MEMORY');
    // Deleted rows are overwritten with zeros: a server's environment (server_specs) leaves no trace once removed.
    db.pragma('secure_delete = ON');
    if (db.pragma('application_id', { simple: true }) !== APPLICATION_ID) db.pragma(`application_id = ${APPLICATION_ID}`);
    migrate(db, loadMigrations(), options.now ?? Date.now());
  } catch (err) {
    db.close();
    lock?.release();
    throw err;
  }
  if (lock !== undefined) {
    locks.set(db, lock);
    const close = db.close.bind(db);
    db.close = () => {
      try {
        return close();
      } finally {
        lock.release();
      }
    };
  }
  return db;
}

/** openReadonly opens an existing database for reading beside a running hub; its schema must be current. */
function openReadonly(path: string, options: OpenOptions): Database {
  if (path !== ':memory:') checkHeader(path);
  let db: Database;
  try {
    db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new DatabaseRefusedError(path, 'corrupt', `SQLite cannot open it (${(err as Error).message})`);
  }
  try {
    checkContents(db, path, options.verify ?? 'full');
    db.pragma('busy_timeout = 5000');
    const version = appliedVersion(db);
    const known = loadMigrations().length;
    if (version < known) {
      throw new DatabaseRefusedError(
        path,
        'older-schema',
        `its schema (version ${version}) is older than this spawnkeeper's (${known}); start a hub on it once to upgrade it`,
      );
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * keepPrivate makes the database readable by its owner only (0600) before SQLite opens it: a new file
 * is created so, an existing one is narrowed. SQLite gives the -wal and -shm files it creates the
 * database file's mode, and narrows them too, since it is done before they are opened.
 */
function keepPrivate(path: string): void {
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (!existsSync(file)) {
      if (file === path) {
        try {
          closeSync(openSync(file, 'a', 0o600));
        } catch (err) {
          throw new DatabaseRefusedError(path, 'corrupt', `SQLite cannot open it (${(err as Error).message})`);
        }
      }
      continue;
    }
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  }
}

function checkHeader(path: string): void {
  if (!existsSync(path)) return;
  const size = statSync(path).size;
  if (size === 0) return; // SQLite treats an empty file as a new database
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(SQLITE_HEADER.length);
    const read = readSync(fd, head, 0, head.length, 0);
    if (read < head.length || !head.equals(SQLITE_HEADER)) {
      throw new DatabaseRefusedError(path, 'not-sqlite', 'the file is not an SQLite database');
    }
  } finally {
    closeSync(fd);
  }
}

function checkContents(db: Database, path: string, verify: 'quick' | 'full' | 'none'): void {
  let tables: number;
  let appId: number;
  try {
    tables = (db.prepare("SELECT COUNT(*) AS n FROM sqlite_schema WHERE type = 'table'").get() as { n: number }).n;
    appId = db.pragma('application_id', { simple: true }) as number;
  } catch (err) {
    throw new DatabaseRefusedError(path, 'corrupt', `the file is damaged (${(err as Error).message})`);
  }
  if (appId !== APPLICATION_ID && (appId !== 0 || tables > 0)) {
    throw new DatabaseRefusedError(path, 'foreign', 'the file is an SQLite database of another application');
  }
  if (verify !== 'none' && tables > 0) {
    let result: string[];
    try {
      result = (db.pragma(verify === 'full' ? 'integrity_check' : 'quick_check') as Array<Record<string, string>>).map(
        (row) => Object.values(row)[0] ?? '',
      );
    } catch (err) {
      throw new DatabaseRefusedError(path, 'corrupt', `the file is damaged (${(err as Error).message})`);
    }
    if (result.length !== 1 || result[0] !== 'ok') {
      throw new DatabaseRefusedError(path, 'corrupt', `the file is damaged: ${result.slice(0, 3).join('; ')}`);
    }
  }
  const known = loadMigrations().length;
  let version: number;
  try {
    version = appliedVersion(db);
  } catch (err) {
    throw new DatabaseRefusedError(path, 'corrupt', `the schema table is damaged (${(err as Error).message})`);
  }
  if (version > known) {
    throw new DatabaseRefusedError(
      path,
      'newer-schema',
      `it was written by a newer spawnkeeper (schema version ${version}; this one knows up to ${known}); upgrade spawnkeeper`,
    );
  }
  if (tables > 0) {
    // integrity_check reads the schema's SQL as plain text: a flipped byte there (a renamed column)
    // passes it. The schema must be exactly what our migrations wrote up to the file's version.
    const actual = schemaOf(db);
    const expected = expectedSchema(version);
    const wrong = expected.find((row, i) => actual[i] !== row) ?? (actual.length !== expected.length ? 'the list of tables' : undefined);
    if (wrong !== undefined)
      throw new DatabaseRefusedError(
        path,
        'corrupt',
        `the file is damaged: its schema is not the one spawnkeeper wrote (${wrong.slice(0, 120)})`,
      );
    const names = new Map(loadMigrations().map((m) => [m.version, m.name]));
    for (const row of db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as Array<{
      version: number;
      name: string;
    }>) {
      if (names.get(row.version) !== row.name)
        throw new DatabaseRefusedError(
          path,
          'corrupt',
          `the file is damaged: migration ${row.version} is recorded as ${JSON.stringify(row.name)}`,
        );
    }
  }
}

function isEmptyDatabase(db: Database): boolean {
  return (db.prepare('SELECT COUNT(*) AS n FROM sqlite_schema').get() as { n: number }).n === 0;
}

function schemaOf(db: Database): string[] {
  return (
    db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").all() as object[]
  ).map((r) => JSON.stringify(r));
}

const expectedSchemas = new Map<number, string[]>();

/** expectedSchema is the schema our migrations produce up to `version`, built once in memory. */
function expectedSchema(version: number): string[] {
  let schema = expectedSchemas.get(version);
  if (schema === undefined) {
    const mem = new BetterSqlite3(':memory:');
    try {
      migrate(mem, loadMigrations().slice(0, version), 0);
      schema = schemaOf(mem);
    } finally {
      mem.close();
    }
    expectedSchemas.set(version, schema);
  }
  return schema;
}
