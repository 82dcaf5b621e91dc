import { createHash, randomBytes } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import type { Owner } from './scopes.js';
import { ADMIN_SCOPES, Grants } from './scopes.js';

/** TokenModel is a token as the API shows it: never the secret, only a prefix to recognise it by. */
export interface TokenModel {
  readonly id: string;
  readonly kind: 'api_token';
  readonly user: string | null;
  readonly service: string | null;
  readonly scopes: string[];
  readonly note: string;
  readonly prefix: string;
  readonly created: number;
  readonly expiresAt: number | null;
  readonly source: string;
}

/** Caller is who a request is from: the token's owner (a user) or its service, its grants, and when it expires (null: never). */
export interface Caller {
  readonly tokenId: number;
  readonly owner: string | null;
  readonly service: string | null;
  readonly grants: Grants;
  readonly expiresAt: number | null;
}

/**
 * ScopeResolver turns a token's stored scopes into the ones it holds now (resolving `inherit`, and
 * cutting a service token to its service's roles), or undefined when its owner is gone.
 */
export type ScopeResolver = (owner: Owner, scopes: readonly string[]) => string[] | undefined;

const COLUMNS = 'id, prefix, owner, service, source, scopes, note, created, expires_at';

interface Row {
  id: number;
  prefix: string;
  owner: string | null;
  service: string | null;
  source: string;
  scopes: string;
  note: string;
  created: number;
  expires_at: number | null;
}

/** hashToken is how a token is stored: its sha256, so a copy of the database grants nothing. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** parseTokenId reads a token id as JupyterHub shows it (`a12`, or plain `12`); undefined when it is not one. */
export function parseTokenId(raw: string): number | undefined {
  const m = /^a?(\d{1,15})$/.exec(raw);
  return m === null ? undefined : Number(m[1]);
}

/** newToken is 32 random bytes in hex, as unguessable as JupyterHub's. */
export function newToken(): string {
  return randomBytes(32).toString('hex');
}

/**
 * TokenStore keeps API tokens hashed in SQLite and answers "who is this?"; the secret is returned
 * once, when minted, and stored nowhere.
 */
export class TokenStore {
  private readonly byHash: Statement<[string], Row>;
  private readonly insert: Statement<[string, string, string | null, string | null, string, string, string, number, number | null]>;

  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
    private readonly resolve: ScopeResolver = (_owner, scopes) => [...scopes],
  ) {
    this.byHash = db.prepare(`SELECT ${COLUMNS} FROM tokens WHERE hash = ?`);
    this.insert = db.prepare(
      'INSERT INTO tokens (hash, prefix, owner, service, source, scopes, note, created, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
  }

  /** authenticate finds the caller of a token, or undefined for an unknown or expired one. */
  authenticate(token: string): Caller | undefined {
    const row = this.byHash.get(hashToken(token));
    if (row === undefined) return undefined;
    if (row.expires_at !== null && row.expires_at <= this.now()) return undefined;
    const owner: Owner =
      row.owner !== null ? { kind: 'user', name: row.owner } : row.service !== null ? { kind: 'service', name: row.service } : null;
    const scopes = this.resolve(owner, JSON.parse(row.scopes) as string[]);
    if (scopes === undefined) return undefined;
    return {
      tokenId: row.id,
      owner: row.owner,
      service: row.service,
      grants: new Grants(scopes, row.owner, row.service),
      expiresAt: row.expires_at,
    };
  }

  /**
   * mint stores a new token and returns it with its secret; the secret is not kept. Only a token
   * generated here keeps a 4-character prefix to recognise it by: of a chosen one, even that much
   * could be a large part of the secret.
   */
  mint(options: {
    owner: string | null;
    service?: string | null;
    scopes: readonly string[];
    note?: string;
    expiresAt?: number | null;
    source?: string;
    token?: string;
  }): { token: string; model: TokenModel } {
    const token = options.token ?? newToken();
    const prefix = options.token === undefined ? token.slice(0, 4) : '';
    const created = this.now();
    const expires = options.expiresAt ?? null;
    const service = options.owner === null ? (options.service ?? null) : null;
    const info = this.insert.run(
      hashToken(token),
      prefix,
      options.owner,
      service,
      options.source ?? 'api',
      JSON.stringify(options.scopes),
      options.note ?? '',
      created,
      expires,
    );
    const id = Number(info.lastInsertRowid);
    return {
      token,
      model: this.model({
        id,
        prefix,
        owner: options.owner,
        service,
        source: options.source ?? 'api',
        scopes: JSON.stringify(options.scopes),
        note: options.note ?? '',
        created,
        expires_at: expires,
      }),
    };
  }

  /**
   * ensureServiceTokens makes the `api_token`s of the configured services valid, and only those: a
   * token from an earlier configuration stops working. Each holds `inherit`, its service's scopes.
   */
  ensureServiceTokens(tokens: ReadonlyArray<{ service: string; token: string }>): void {
    this.db.transaction(() => {
      this.db.prepare("DELETE FROM tokens WHERE source = 'config'").run();
      for (const t of tokens) {
        this.db.prepare('DELETE FROM tokens WHERE hash = ?').run(hashToken(t.token));
        this.mint({
          owner: null,
          service: t.service,
          scopes: ['inherit'],
          note: 'api_token from configuration',
          source: 'config',
          token: t.token,
        });
      }
    })();
  }

  /**
   * ensureAdmin makes the configured admin token valid, replacing an earlier configured one and the
   * generated one; or, when none is configured and no generated one exists, generates one and
   * returns it to hand over once.
   */
  ensureAdmin(configured: string): { generated: string | undefined; hasGenerated: boolean } {
    return this.db.transaction(() => {
      this.db.prepare("DELETE FROM tokens WHERE source = 'env'").run();
      // A generated admin token keeps its secret across versions, and gets the admin scopes of this one.
      this.db.prepare("UPDATE tokens SET scopes = ? WHERE source = 'generated'").run(JSON.stringify(ADMIN_SCOPES));
      if (configured !== '') {
        this.db.prepare("DELETE FROM tokens WHERE source = 'generated' OR hash = ?").run(hashToken(configured));
        this.mint({ owner: null, scopes: ADMIN_SCOPES, note: 'admin token from configuration', source: 'env', token: configured });
        return { generated: undefined, hasGenerated: this.hasGenerated() };
      }
      if (this.hasGenerated()) return { generated: undefined, hasGenerated: true };
      const { token } = this.mint({ owner: null, scopes: ADMIN_SCOPES, note: 'admin token generated at first start', source: 'generated' });
      return { generated: token, hasGenerated: true };
    })();
  }

  list(owner: string): TokenModel[] {
    const rows = this.db.prepare(`SELECT ${COLUMNS} FROM tokens WHERE owner = ? ORDER BY id`).all(owner) as Row[];
    return rows.map((r) => this.model(r));
  }

  get(owner: string, id: number): TokenModel | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM tokens WHERE owner = ? AND id = ?`).get(owner, id) as Row | undefined;
    return row === undefined ? undefined : this.model(row);
  }

  revoke(owner: string, id: number): boolean {
    return this.db.prepare('DELETE FROM tokens WHERE owner = ? AND id = ?').run(owner, id).changes > 0;
  }

  /** listAll is every token, the hub's own admin tokens (owner null) first, never a secret. */
  listAll(): TokenModel[] {
    const rows = this.db.prepare(`SELECT ${COLUMNS} FROM tokens ORDER BY owner IS NOT NULL, owner, id`).all() as Row[];
    return rows.map((r) => this.model(r));
  }

  /** revokeId deletes a token by its id, whoever owns it; false when there is none. */
  revokeId(id: number): boolean {
    return this.db.prepare('DELETE FROM tokens WHERE id = ?').run(id).changes > 0;
  }

  revokeAll(owner: string): void {
    this.db.prepare('DELETE FROM tokens WHERE owner = ?').run(owner);
  }

  private hasGenerated(): boolean {
    return this.db.prepare("SELECT 1 FROM tokens WHERE source = 'generated' LIMIT 1").get() !== undefined;
  }

  private model(r: Row): TokenModel {
    return {
      id: `a${r.id}`,
      kind: 'api_token',
      user: r.owner,
      service: r.service,
      scopes: JSON.parse(r.scopes) as string[],
      note: r.note,
      prefix: r.prefix,
      created: r.created,
      expiresAt: r.expires_at,
      source: r.source,
    };
  }
}
