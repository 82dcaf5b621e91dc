import type { Database, Statement } from 'better-sqlite3';

/** StoredSpec is the spec row of one server's current spawn (migration 006). */
export interface StoredSpec {
  /** spec: the JSON of what the start asked for beyond the template; never a secret. */
  readonly spec: string;
  /** env: the JSON of the environment the pod gets through its Secret, or null when none was given. */
  readonly env: string | null;
  /** digest: the salted digest the `server.start` event carries in place of the spec. */
  readonly digest: string;
}

/**
 * SpecStore keeps the spec of each active server's spawn outside the event log. Its writes are
 * meant to run inside the runtime's commit (RuntimeOptions.alongside), so a spec is written with the
 * start that begins its spawn and removed with the step that ends the server stopped or failed.
 */
export class SpecStore {
  private readonly upsert: Statement;
  private readonly remove: Statement;
  private readonly select: Statement;
  private readonly list: Statement;

  constructor(db: Database) {
    this.upsert = db.prepare(
      'INSERT INTO server_specs (key, spec, env, digest, written_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET spec = excluded.spec, env = excluded.env, digest = excluded.digest, written_at = excluded.written_at',
    );
    this.remove = db.prepare('DELETE FROM server_specs WHERE key = ?');
    this.select = db.prepare('SELECT spec, env, digest FROM server_specs WHERE key = ?');
    this.list = db.prepare('SELECT key, spec, env, digest FROM server_specs');
  }

  put(key: string, spec: StoredSpec, now: number): void {
    this.upsert.run(key, spec.spec, spec.env, spec.digest, now);
  }

  /** all lists every row (at start, to know each active server's port without reading per request). */
  all(): Array<StoredSpec & { key: string }> {
    return this.list.all() as Array<StoredSpec & { key: string }>;
  }

  get(key: string): StoredSpec | undefined {
    return this.select.get(key) as StoredSpec | undefined;
  }

  clear(key: string): void {
    this.remove.run(key);
  }
}
