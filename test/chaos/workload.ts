import type { Random } from '../../src/sim/cluster/prng.js';

export { mulberry32 } from '../../src/sim/cluster/prng.js';

/**
 * The chaos workload: users starting, stopping, restarting and deleting their servers through the
 * REST API, and an idle culler that lists ready servers and stops the idle ones, as JupyterHub's
 * clients do. Every answer goes into the ledger; a 2xx is an acknowledgement the hub must keep.
 */

export interface LedgerEntry {
  readonly op: 'start' | 'stop' | 'create-user' | 'delete-user' | 'cull' | 'list';
  readonly user: string;
  readonly status: number; // 0: no answer (connection refused, reset, timed out)
  readonly sentAt: number;
  readonly doneAt: number;
}

export class Workload {
  readonly ledger: LedgerEntry[] = [];
  private readonly users: string[];

  constructor(
    private readonly url: () => string,
    private readonly token: string,
    userCount: number,
    private readonly random: Random,
  ) {
    this.users = Array.from({ length: userCount }, (_, i) => `chaos-${i}`);
  }

  private async call(
    op: LedgerEntry['op'],
    user: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json?: unknown }> {
    const sentAt = Date.now();
    let status = 0;
    let json: unknown;
    try {
      const res = await fetch(`${this.url()}${path}`, {
        method,
        headers: { Authorization: `token ${this.token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(15_000),
      });
      status = res.status;
      json = res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text();
    } catch {
      status = 0;
    }
    this.ledger.push({ op, user, status, sentAt, doneAt: Date.now() });
    return { status, json };
  }

  private pick(): string {
    return this.users[Math.floor(this.random() * this.users.length)] as string;
  }

  /** step runs one operation chosen by the seeded generator. */
  async step(): Promise<void> {
    const r = this.random();
    const user = this.pick();
    const enc = encodeURIComponent(user);
    if (r < 0.4) {
      const { status } = await this.call('start', user, 'POST', `/hub/api/users/${enc}/server`);
      if (status === 404) {
        // the user was deleted: create it again, as an authenticator would at the next login
        await this.call('create-user', user, 'POST', `/hub/api/users/${enc}`);
        await this.call('start', user, 'POST', `/hub/api/users/${enc}/server`);
      }
    } else if (r < 0.7) {
      await this.call('stop', user, 'DELETE', `/hub/api/users/${enc}/server`);
    } else if (r < 0.8) {
      // a restart: stop, then start at once (the start is queued behind the stop)
      await this.call('stop', user, 'DELETE', `/hub/api/users/${enc}/server`);
      await this.call('start', user, 'POST', `/hub/api/users/${enc}/server`);
    } else if (r < 0.85) {
      await this.call('delete-user', user, 'DELETE', `/hub/api/users/${enc}`);
    } else {
      await this.cull();
    }
  }

  /** cull is the idle-culler pattern: list ready servers, stop some of them. */
  private async cull(): Promise<void> {
    const { status, json } = await this.call('list', '', 'GET', '/hub/api/users?state=ready');
    if (status !== 200 || !Array.isArray(json)) return;
    for (const u of json as Array<{ name: string }>) {
      if (this.random() < 0.3) await this.call('cull', u.name, 'DELETE', `/hub/api/users/${encodeURIComponent(u.name)}/server`);
    }
  }

  /** createUsers makes every user of the workload (201, or 409 when it exists). */
  async createUsers(): Promise<void> {
    for (const user of this.users) await this.call('create-user', user, 'POST', `/hub/api/users/${encodeURIComponent(user)}`);
  }

  /** run keeps `workers` operations in flight while `more()` says so. */
  async run(more: () => boolean, workers: number): Promise<void> {
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (more()) {
          const before = this.ledger.length;
          await this.step();
          const refused = this.ledger.slice(before).some((e) => e.status === 0);
          // A hub that is down (killed, restarting) is retried gently, as a client would.
          await new Promise((r) => setTimeout(r, (refused ? 200 : 20) + this.random() * 80));
        }
      }),
    );
  }

  get userNames(): readonly string[] {
    return this.users;
  }
}
