import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseServerKey } from '../../src/kube/names.js';
import { ownerKey } from '../../src/kube/pod-mapper.js';
import type { TestHub } from './hub-helpers.js';
import { startHub } from '../../src/hub/serve.js';
import type { RunningHub } from '../../src/hub/serve.js';
import { startSimulator } from '../../src/sim/index.js';
import type { Simulator } from '../../src/sim/index.js';
import { tempDir } from '../support/harness.js';
import { ADMIN, FAST_KUBELET, TEST_ENGINE, sinkLogger, startTestHub, waitFor } from './hub-helpers.js';
import { internals } from '../../src/spawnkeeper.js';

const api = '/hub/api';
const ACTIVE = new Set(['spawn_pending', 'running', 'stop_pending']);

let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

/** Conn is one HTTP/1.1 connection to the hub, read by hand so the test decides when each request is written. */
class Conn {
  private text = '';
  private wake: () => void = () => {};

  private constructor(
    private readonly socket: Socket,
    private readonly host: string,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.text += chunk;
      this.wake();
    });
    socket.on('end', () => this.wake());
  }

  /** open connects and has the hub answer one request on it, so its side of the connection is set up before the race. */
  static async open(url: string): Promise<Conn> {
    const { hostname, port } = new URL(url);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(Number(port), hostname, () => resolve(s));
      s.once('error', reject);
    });
    const conn = new Conn(socket, `${hostname}:${port}`);
    conn.write('GET', `${api}`, true);
    expect(await conn.answer()).toBe(200);
    return conn;
  }

  write(method: string, path: string, keepAlive = false): void {
    const head = [
      `${method} ${path} HTTP/1.1`,
      `Host: ${this.host}`,
      `Authorization: token ${ADMIN}`,
      'Content-Length: 0',
      `Connection: ${keepAlive ? 'keep-alive' : 'close'}`,
    ];
    this.socket.write(`${head.join('\r\n')}\r\n\r\n`);
  }

  /** answer waits for one whole response and returns its status code. */
  async answer(): Promise<number> {
    for (;;) {
      const end = this.text.indexOf('\r\n\r\n');
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(this.text.slice(0, end))?.[1] ?? 0);
      if (end !== -1 && this.text.length >= end + 4 + length) {
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(this.text)?.[1] ?? 0);
        this.text = this.text.slice(end + 4 + length);
        return status;
      }
      if (this.socket.readableEnded) throw new Error(`connection ended before a whole answer: ${this.text.slice(0, 200)}`);
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

/** together writes requests on connections set up beforehand, in one tick, so they reach the hub in one turn of its event loop. */
async function together(url: string, requests: Array<{ method: string; path: string }>): Promise<number[]> {
  const conns = await Promise.all(requests.map(() => Conn.open(url)));
  requests.forEach((r, i) => conns[i]?.write(r.method, r.path));
  return Promise.all(conns.map((c) => c.answer()));
}

/** watchOrphans records every committed step that leaves a server active while its user no longer exists. */
function watchOrphans(h: TestHub): string[] {
  const seen: string[] = [];
  h.running.sk.subscribe((s) => {
    if (ACTIVE.has(s.state) && h.running.hub.users.get(s.user) === undefined) seen.push(`${s.key} ${s.detail} after its user was removed`);
  });
  return seen;
}

/** serversOfGoneUsers lists the servers and pods that still live although their user is gone. */
function serversOfGoneUsers(h: TestHub): string[] {
  const gone = (user: string) => h.running.hub.users.get(user) === undefined;
  const servers = h.running.sk
    .list()
    .filter((s) => gone(s.user) && s.state !== 'stopped' && s.state !== 'failed')
    .map((s) => `${s.key} ${s.detail}`);
  const pods = h.running
    .sim!.pods()
    .map((p) => ownerKey(p, 'hub'))
    .filter((k): k is string => k !== undefined && gone(parseServerKey(k).user))
    .map((k) => `pod of ${k}`);
  return [...servers, ...pods];
}

/**
 * expectUsersGoneWithTheirServers waits until every user is removed, then asserts that no server or
 * pod of theirs lives on and that no step left a server active after its user was removed.
 */
async function expectUsersGoneWithTheirServers(h: TestHub, users: readonly string[], orphans: readonly string[]): Promise<void> {
  await waitFor(
    'every user removed',
    async () => {
      const left = await Promise.all(users.map(async (u) => (await h.call('GET', `${api}/users/${u}`)).status));
      return left.every((s) => s === 404) ? true : undefined;
    },
    30_000,
  );
  // A timeout here is not the verdict: the assertion after it names what is left.
  await waitFor(
    'every server of a removed user stopped and its pod gone',
    () => (serversOfGoneUsers(h).length === 0 ? true : undefined),
    30_000,
  ).catch(() => undefined);
  expect(serversOfGoneUsers(h)).toEqual([]);
  expect(orphans).toEqual([]);
}

describe('user deletion and server starts', () => {
  it('never leaves a server of a deleted user when deletes and starts of 80 users race (regression)', async () => {
    hub = await startTestHub({ allowNamedServers: true, slowSpawnTimeout: 1, slowStopTimeout: 1 });
    const h = hub;
    const users = Array.from({ length: 80 }, (_, i) => `race${String(i).padStart(2, '0')}`);
    expect((await h.call('POST', `${api}/users`, { body: { usernames: users } })).status).toBe(201);
    const orphans = watchOrphans(h);

    // Each user's start and delete reach the hub in one turn of its event loop, in both orders.
    const replies = (
      await Promise.all(
        users.map((u, i) => {
          const start = { method: 'POST', path: `${api}/users/${u}/${i % 3 === 0 ? 'servers/lab' : 'server'}` };
          const remove = { method: 'DELETE', path: `${api}/users/${u}` };
          return together(h.url, i % 4 === 3 ? [remove, start] : [start, remove]);
        }),
      )
    )
      .flat()
      .map((status) => ({ status }));
    expect(replies.map((r) => r.status).filter((s) => s >= 500)).toEqual([]);
    expect(replies.filter((r) => ![201, 202, 204, 400, 404].includes(r.status))).toEqual([]);

    await expectUsersGoneWithTheirServers(h, users, orphans);
  });

  it('never leaves a server of a deleted user when starts of default and named servers, stops and repeated deletes race', async () => {
    hub = await startTestHub({ allowNamedServers: true, slowSpawnTimeout: 1, slowStopTimeout: 1 });
    const h = hub;
    const users = Array.from({ length: 48 }, (_, i) => `mix${String(i).padStart(2, '0')}`);
    expect((await h.call('POST', `${api}/users`, { body: { usernames: users } })).status).toBe(201);
    const orphans = watchOrphans(h);
    type Op = 'start' | 'startLab' | 'stop' | 'delete';
    const plans: Op[][] = [
      ['start', 'startLab', 'delete'],
      ['delete', 'startLab', 'start'],
      ['start', 'stop', 'delete'],
      ['start', 'delete', 'start'],
      ['startLab', 'delete', 'delete'],
      ['stop', 'start', 'delete', 'startLab'],
    ];
    const request = (u: string, op: Op) => ({
      method: op === 'start' || op === 'startLab' ? 'POST' : 'DELETE',
      path: `${api}/users/${u}${op === 'delete' ? '' : op === 'startLab' ? '/servers/lab' : '/server'}`,
    });
    // Half the users already run a server when the race begins.
    await Promise.all(users.filter((_, i) => i % 2 === 0).map((u) => h.call('POST', `${api}/users/${u}/server`)));
    const statuses = (
      await Promise.all(
        users.map((u, i) =>
          together(
            h.url,
            (plans[i % plans.length] ?? []).map((op) => request(u, op)),
          ),
        ),
      )
    ).flat();
    expect(statuses.filter((s) => ![201, 202, 204, 400, 404].includes(s))).toEqual([]);

    await expectUsersGoneWithTheirServers(h, users, orphans);
  });

  describe('across a restart', () => {
    let sim: Simulator | undefined;
    let tmp: ReturnType<typeof tempDir> | undefined;
    const hubs: RunningHub[] = [];
    afterEach(async () => {
      for (const r of hubs.splice(0)) await r.close();
      await sim?.close();
      tmp?.cleanup();
    });

    /** open starts a hub on the test's database file and on a simulator that outlives it, as a cluster does. */
    async function open(): Promise<RunningHub> {
      sim ??= await startSimulator({ seed: 11, kubelet: FAST_KUBELET });
      tmp ??= tempDir('spawnkeeper-deletion-');
      const kubeconfig = `${tmp.dir}/kubeconfig.json`;
      writeFileSync(
        kubeconfig,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'sim', cluster: { server: sim.url, 'insecure-skip-tls-verify': true } }],
          users: [{ name: 'sim', user: {} }],
          contexts: [{ name: 'sim', context: { cluster: 'sim', user: 'sim', namespace: 'default' } }],
          'current-context': 'sim',
        }),
      );
      const r = await startHub(
        {
          db: `${tmp.dir}/hub.db`,
          kubeconfig,
          port: 0,
          adminToken: ADMIN,
          spawnkeeper: TEST_ENGINE,
          slowSpawnTimeout: 5,
          slowStopTimeout: 5,
        },
        { logger: sinkLogger([]) },
      );
      hubs.push(r);
      await internals(r.sk).reflector.synced();
      return r;
    }
    const call = (r: RunningHub, method: string, path: string) =>
      fetch(`${r.url}${path}`, { method, headers: { Authorization: `token ${ADMIN}` } });

    it('stops, at the next start, the servers of users marked for deletion or already removed, and removes those users', async () => {
      const first = await open();
      for (const u of ['dora', 'gus', 'kept']) {
        expect((await call(first, 'POST', `${api}/users/${u}`)).status).toBe(201);
        expect((await call(first, 'POST', `${api}/users/${u}/server`)).status).toBe(201);
      }
      // A hub that stopped between marking dora for deletion and stopping her server, and a database
      // in which gus was removed while his server ran.
      const users = first.hub.users;
      users.markDeleting(users.get('dora')!.id);
      users.remove(users.get('gus')!.id);
      await first.close();
      hubs.splice(0);

      const second = await open();
      await waitFor('dora removed', async () => ((await call(second, 'GET', `${api}/users/dora`)).status === 404 ? true : undefined));
      await waitFor('the servers of dora and gus stopped', () =>
        ['dora', 'gus'].every((u) => second.sk.get(u)?.state === 'stopped') ? true : undefined,
      );
      const owners = sim!.pods().map((p) => ownerKey(p, 'hub'));
      await waitFor('their pods gone', () =>
        sim!.pods().some((p) => ['dora/', 'gus/'].includes(ownerKey(p, 'hub') ?? '')) ? undefined : true,
      );
      expect(owners).toContain('kept/');
      expect(second.sk.get('kept')?.state).toBe('running');
      expect((await call(second, 'GET', `${api}/users/kept`)).status).toBe(200);
    });
  });
});
