import type { Database } from 'better-sqlite3';

/** UserRecord is the hub's row of a user: the event log knows servers, only the hub knows users. */
export interface UserRecord {
  readonly id: number;
  readonly name: string;
  readonly admin: boolean;
  readonly created: number;
  readonly lastActivity: number | null;
  readonly deleting: boolean;
}

/** ServerRecord is a user's server as the hub remembers it, running or not (named servers persist until removed). */
export interface ServerRecord {
  readonly name: string;
  readonly created: number;
  readonly started: number | null;
  readonly lastActivity: number | null;
  readonly userOptions: Record<string, unknown>;
  readonly removePending: boolean;
}

interface UserRow {
  id: number;
  name: string;
  admin: number;
  created: number;
  last_activity: number | null;
  deleting: number;
}

interface ServerRow {
  name: string;
  created: number;
  started: number | null;
  last_activity: number | null;
  user_options: string;
  remove_pending: number;
}

const USER_COLUMNS = 'id, name, admin, created, last_activity, deleting';
const SERVER_COLUMNS = 'name, created, started, last_activity, user_options, remove_pending';

/** UserStore reads and writes users and their server records; each method is one short statement or transaction. */
export class UserStore {
  constructor(private readonly db: Database) {}

  /** create adds a user, or returns undefined when the name is taken. */
  create(name: string, admin: boolean, now: number): UserRecord | undefined {
    const info = this.db
      .prepare('INSERT INTO users (name, admin, created) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING')
      .run(name, admin ? 1 : 0, now);
    return info.changes === 0 ? undefined : this.get(name);
  }

  /** createMany adds every new name in one transaction and returns the users it created; names that exist are skipped. */
  createMany(names: readonly string[], admin: boolean, now: number): UserRecord[] {
    return this.db.transaction(() => {
      const insert = this.db.prepare('INSERT INTO users (name, admin, created) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING');
      const fresh = [...new Set(names)].filter((n) => insert.run(n, admin ? 1 : 0, now).changes > 0);
      return fresh.map((n) => this.get(n)).filter((u): u is UserRecord => u !== undefined);
    })();
  }

  get(name: string): UserRecord | undefined {
    const row = this.db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE name = ?`).get(name) as UserRow | undefined;
    return row === undefined ? undefined : user(row);
  }

  list(): UserRecord[] {
    return (this.db.prepare(`SELECT ${USER_COLUMNS} FROM users ORDER BY id`).all() as UserRow[]).map(user);
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n;
  }

  deletingUsers(): string[] {
    return (this.db.prepare('SELECT name FROM users WHERE deleting = 1').all() as Array<{ name: string }>).map((r) => r.name);
  }

  markDeleting(userId: number): void {
    this.db.prepare('UPDATE users SET deleting = 1 WHERE id = ?').run(userId);
  }

  /** remove deletes a user with its server records and tokens; server histories stay in the event log. */
  remove(userId: number): void {
    this.db.transaction(() => {
      const row = this.db.prepare('SELECT name FROM users WHERE id = ?').get(userId) as { name: string } | undefined;
      this.db.prepare('DELETE FROM user_servers WHERE user_id = ?').run(userId);
      this.db.prepare('DELETE FROM group_members WHERE user_id = ?').run(userId);
      if (row !== undefined) this.db.prepare('DELETE FROM tokens WHERE owner = ?').run(row.name);
      this.db.prepare('DELETE FROM users WHERE id = ?').run(userId);
    })();
  }

  /** rename gives a user a new name, its tokens with it (servers and groups follow by id); false when the name is taken. */
  rename(userId: number, from: string, to: string): boolean {
    return this.db.transaction(() => {
      if (this.get(to) !== undefined) return false;
      this.db.prepare('UPDATE users SET name = ? WHERE id = ?').run(to, userId);
      this.db.prepare('UPDATE tokens SET owner = ? WHERE owner = ?').run(to, from);
      return true;
    })();
  }

  setAdmin(userId: number, admin: boolean): void {
    this.db.prepare('UPDATE users SET admin = ? WHERE id = ?').run(admin ? 1 : 0, userId);
  }

  /** touchLifecycle moves a user's and one of its servers' last_activity to `at`, by the names the runtime knows: JupyterHub counts a spawn and a stop as activity. */
  touchLifecycle(user: string, name: string, at: number): void {
    this.db.transaction(() => {
      this.db.prepare('UPDATE users SET last_activity = MAX(COALESCE(last_activity, 0), ?) WHERE name = ?').run(at, user);
      this.db
        .prepare(
          'UPDATE user_servers SET last_activity = MAX(COALESCE(last_activity, 0), ?) WHERE name = ? AND user_id = (SELECT id FROM users WHERE name = ?)',
        )
        .run(at, name, user);
    })();
  }

  /** touchActivity records reported activity of a user and of its servers in one transaction; times only move forward. */
  touchActivity(userId: number, userAt: number | undefined, servers: ReadonlyArray<{ server: string; at: number }>): void {
    this.db.transaction(() => {
      if (userAt !== undefined) this.touchUser(userId, userAt);
      for (const s of servers) this.touchServer(userId, s.server, s.at);
    })();
  }

  touchUser(userId: number, at: number): void {
    this.db.prepare('UPDATE users SET last_activity = MAX(COALESCE(last_activity, 0), ?) WHERE id = ?').run(at, userId);
  }

  servers(userId: number): ServerRecord[] {
    return (this.db.prepare(`SELECT ${SERVER_COLUMNS} FROM user_servers WHERE user_id = ? ORDER BY name`).all(userId) as ServerRow[]).map(
      server,
    );
  }

  server(userId: number, name: string): ServerRecord | undefined {
    const row = this.db.prepare(`SELECT ${SERVER_COLUMNS} FROM user_servers WHERE user_id = ? AND name = ?`).get(userId, name) as
      ServerRow | undefined;
    return row === undefined ? undefined : server(row);
  }

  namedServerCount(userId: number): number {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM user_servers WHERE user_id = ? AND name <> ''").get(userId) as { n: number }).n;
  }

  /** ensureServer records a server when it is first started; a later start keeps the record and takes the new options. */
  ensureServer(userId: number, name: string, now: number, userOptions: Record<string, unknown> | undefined): void {
    this.db
      .prepare(
        `INSERT INTO user_servers (user_id, name, created, user_options) VALUES (?, ?, ?, ?)
         ON CONFLICT (user_id, name) DO UPDATE SET remove_pending = 0, user_options = COALESCE(?, user_options)`,
      )
      .run(userId, name, now, JSON.stringify(userOptions ?? {}), userOptions === undefined ? null : JSON.stringify(userOptions));
  }

  markRemovePending(userId: number, name: string): void {
    this.db.prepare('UPDATE user_servers SET remove_pending = 1 WHERE user_id = ? AND name = ?').run(userId, name);
  }

  removePending(): Array<{ user: string; name: string; userId: number }> {
    return this.db
      .prepare(
        'SELECT u.name AS user, s.name AS name, u.id AS userId FROM user_servers s JOIN users u ON u.id = s.user_id WHERE s.remove_pending = 1',
      )
      .all() as Array<{ user: string; name: string; userId: number }>;
  }

  removeServer(userId: number, name: string): void {
    this.db.prepare('DELETE FROM user_servers WHERE user_id = ? AND name = ?').run(userId, name);
  }

  touchServer(userId: number, name: string, at: number): void {
    this.db
      .prepare('UPDATE user_servers SET last_activity = MAX(COALESCE(last_activity, 0), ?) WHERE user_id = ? AND name = ?')
      .run(at, userId, name);
  }

  /** setStarted records when a server's spawn began (null once it is stopped), keyed by names as the runtime knows them. */
  setStarted(user: string, name: string, started: number | null): void {
    this.db
      .prepare('UPDATE user_servers SET started = ? WHERE name = ? AND user_id = (SELECT id FROM users WHERE name = ?)')
      .run(started, name, user);
  }
}

function user(r: UserRow): UserRecord {
  return { id: r.id, name: r.name, admin: r.admin === 1, created: r.created, lastActivity: r.last_activity, deleting: r.deleting === 1 };
}

function server(r: ServerRow): ServerRecord {
  return {
    name: r.name,
    created: r.created,
    started: r.started,
    lastActivity: r.last_activity,
    userOptions: JSON.parse(r.user_options) as Record<string, unknown>,
    removePending: r.remove_pending === 1,
  };
}
