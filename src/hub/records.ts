import type { Logger } from 'pino';
import { parseServerKey } from '../kube/names.js';
import type { ServerIndex, Transition } from './server-index.js';
import type { UserStore } from './users.js';

const SETTLED = new Set(['stopped', 'failed']);

/**
 * RecordKeeper keeps the hub's own records in step with server lifecycles: `started` and
 * `last_activity` times, users whose DELETE waited for their servers (removed once all are
 * stopped), and named servers whose `{"remove": true}` waited for the stop. It also finishes such work left over from before a restart.
 */
export class RecordKeeper {
  private readonly off: () => void;

  constructor(
    private readonly users: UserStore,
    private readonly index: ServerIndex,
    private readonly logger?: Logger,
  ) {
    this.off = index.onTransition((t) => this.onTransition(t));
  }

  /** settled tells whether every server of the user is stopped or failed. */
  settled(user: string, server?: string): boolean {
    const keys = server === undefined ? this.index.keysOf(user) : [`${user}/${server}`];
    return keys.every((k) => {
      const state = this.index.stateOf(k);
      return state === undefined || SETTLED.has(state);
    });
  }

  /** sweep finishes every pending removal whose servers have settled; run at start and after each settle. */
  sweep(): void {
    for (const name of this.users.deletingUsers()) this.tryRemoveUser(name);
    for (const r of this.users.removePending()) this.tryRemoveServer(r.user, r.name);
  }

  close(): void {
    this.off();
  }

  /** tryRemoveUser removes a user marked for deletion once its servers are settled; it tells whether it did. */
  tryRemoveUser(name: string): boolean {
    const user = this.users.get(name);
    if (user === undefined || !user.deleting || !this.settled(name)) return false;
    this.users.remove(user.id);
    this.logger?.info({ user: name }, 'user removed after its servers stopped');
    return true;
  }

  tryRemoveServer(userName: string, server: string): boolean {
    const user = this.users.get(userName);
    const record = user === undefined ? undefined : this.users.server(user.id, server);
    if (user === undefined || record === undefined || !record.removePending || !this.settled(userName, server)) return false;
    this.users.removeServer(user.id, server);
    this.logger?.info({ server: `${userName}/${server}` }, 'named server removed after it stopped');
    return true;
  }

  private onTransition(t: Transition): void {
    const { user, name } = parseServerKey(t.status.key);
    // As JupyterHub, a spawn beginning and a stop ending are activity of the server and its user.
    if (t.after === 'spawn_pending') {
      this.users.setStarted(user, name, t.step.ts);
      this.users.touchLifecycle(user, name, t.step.ts);
    } else if (SETTLED.has(t.after)) {
      this.users.setStarted(user, name, null);
      this.users.touchLifecycle(user, name, t.step.ts);
      const record = this.users.get(user);
      if (record?.deleting === true) this.tryRemoveUser(user);
      else if (record !== undefined && this.users.server(record.id, name)?.removePending === true) this.tryRemoveServer(user, name);
    }
  }
}
