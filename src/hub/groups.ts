import type { Database, Statement } from 'better-sqlite3';

/** GroupRecord is a group of users as the hub keeps it (migration 005). */
export interface GroupRecord {
  readonly id: number;
  readonly name: string;
  readonly properties: Record<string, unknown>;
  readonly created: number;
}

interface GroupRow {
  id: number;
  name: string;
  properties: string;
  created: number;
}

function group(r: GroupRow): GroupRecord {
  return { id: r.id, name: r.name, properties: JSON.parse(r.properties) as Record<string, unknown>, created: r.created };
}

/** GroupStore reads and writes groups and their members; each method is one statement or transaction. */
export class GroupStore {
  private readonly ofUser: Statement<[number], { name: string }>;

  constructor(private readonly db: Database) {
    // Prepared once: every scope check of a user target asks it.
    this.ofUser = db.prepare('SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id = ? ORDER BY g.id');
  }

  /** create adds a group with its first members, or returns undefined when the name is taken. */
  create(name: string, memberIds: readonly number[], now: number): GroupRecord | undefined {
    return this.db.transaction(() => {
      const info = this.db.prepare('INSERT INTO groups (name, created) VALUES (?, ?) ON CONFLICT (name) DO NOTHING').run(name, now);
      if (info.changes === 0) return undefined;
      const id = Number(info.lastInsertRowid);
      this.add(id, memberIds);
      return this.get(name);
    })();
  }

  get(name: string): GroupRecord | undefined {
    const row = this.db.prepare('SELECT id, name, properties, created FROM groups WHERE name = ?').get(name) as GroupRow | undefined;
    return row === undefined ? undefined : group(row);
  }

  /** list is every group in the order they were created, as JupyterHub lists them. */
  list(): GroupRecord[] {
    return (this.db.prepare('SELECT id, name, properties, created FROM groups ORDER BY id').all() as GroupRow[]).map(group);
  }

  remove(id: number): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM group_members WHERE group_id = ?').run(id);
      this.db.prepare('DELETE FROM groups WHERE id = ?').run(id);
    })();
  }

  /** members are the names of a group's users, oldest user first. */
  members(id: number): string[] {
    return (
      this.db
        .prepare('SELECT u.name FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = ? ORDER BY u.id')
        .all(id) as Array<{ name: string }>
    ).map((r) => r.name);
  }

  /** groupsOf are the names of the groups a user is in, in the order the groups were created. */
  groupsOf(userId: number): string[] {
    return this.ofUser.all(userId).map((r) => r.name);
  }

  /** add makes users members; ones already in stay as they are. */
  add(id: number, userIds: readonly number[]): void {
    const insert = this.db.prepare('INSERT INTO group_members (group_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING');
    this.db.transaction(() => {
      for (const u of userIds) insert.run(id, u);
    })();
  }

  /** drop removes users from a group; ones not in it are no change. */
  drop(id: number, userIds: readonly number[]): void {
    const remove = this.db.prepare('DELETE FROM group_members WHERE group_id = ? AND user_id = ?');
    this.db.transaction(() => {
      for (const u of userIds) remove.run(id, u);
    })();
  }

  /** setGroupsOf makes a user a member of exactly these groups. */
  setGroupsOf(userId: number, groupIds: readonly number[]): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM group_members WHERE user_id = ?').run(userId);
      const insert = this.db.prepare('INSERT INTO group_members (group_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING');
      for (const g of groupIds) insert.run(g, userId);
    })();
  }

  setProperties(id: number, properties: Record<string, unknown>): void {
    this.db.prepare('UPDATE groups SET properties = ? WHERE id = ?').run(JSON.stringify(properties), id);
  }
}
