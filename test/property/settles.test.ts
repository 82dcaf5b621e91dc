import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isRunning } from '../../machines/pod-fact.js';
import type { ServerEvent } from '../../machines/server.machine.js';
import { analyzeLiveness } from '../../src/runtime/liveness.js';
import { checkReplay } from '../../src/runtime/replay.js';
import { Harness, TEST_DELAYS, tempDir } from '../support/harness.js';
import { ModelCluster } from '../support/model-cluster.js';
import type { ModelChange } from '../support/model-cluster.js';

/**
 * The model-based proof of liveness and agreement: random interleavings of commands, lost,
 * duplicated, reordered and stale observations, cluster faults, time and crashes; then the faults
 * stop, time runs for the computed bound, and every server must be stable and agree with the cluster.
 */

const SERVERS = ['ann/', 'bob/', 'cy/named'];
const RUNS = Number(process.env['PROPERTY_RUNS'] ?? 300);
const SEED = process.env['PROPERTY_SEED'] === undefined ? Date.now() % 2 ** 31 : Number(process.env['PROPERTY_SEED']);

interface World {
  h: Harness;
  /** inbox holds the cluster's changes a watch has not delivered yet. */
  inbox: ModelChange[];
  seen: number;
  acked: Array<{ key: string; seq: number; type: string }>;
  /** last is each server's last acknowledged command: what progress must reach once faults stop. */
  last: Map<string, 'server.start' | 'server.stop'>;
  /** lost: servers whose watch events did not all reach their machine (dropped, lost with a restored cluster, or sent before the hub knew the server): only a relist can tell them. */
  lost: Set<string>;
}

type Step =
  | { kind: 'start' | 'stop'; server: number }
  | { kind: 'deliver' | 'drop' | 'duplicate'; at: number }
  | { kind: 'stale'; at: number }
  | { kind: 'resync' }
  | { kind: 'advance'; ms: number }
  | { kind: 'crash'; wallMs: number }
  | { kind: 'apiDown'; down: boolean }
  | { kind: 'latency'; ms: number }
  | { kind: 'failNext'; n: number }
  | { kind: 'stuck' | 'stuckForever' | 'unreadyForever' | 'vanish'; server: number }
  | { kind: 'podCrash' | 'failOnStart'; server: number; reason: string }
  | { kind: 'readyDelay'; ms: number }
  | { kind: 'regress'; back: number; lose: boolean }
  | { kind: 'recreate'; server: number; ready: boolean }
  | { kind: 'replaceInNewEpoch'; server: number; back: number; ready: boolean }
  | { kind: 'unready'; server: number; how: 'notReady' | 'nodeLost' }
  | { kind: 'recover'; server: number }
  | { kind: 'late'; ms: number }
  | { kind: 'wallStep'; ms: number };

const server = fc.integer({ min: 0, max: SERVERS.length - 1 });
const index = fc.nat({ max: 50 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constantFrom('start' as const, 'stop' as const), server }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constantFrom('deliver' as const, 'drop' as const, 'duplicate' as const), at: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('stale' as const), at: index }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'resync' as const }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 100, max: 30_000 }) }) },
  // A kill -9; the wall clock may step while the hub is down.
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('crash' as const), wallMs: fc.constantFrom(0, 0, 600_000, -600_000, 7_200_000, -7_200_000) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('apiDown' as const), down: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('latency' as const), ms: fc.constantFrom(0, 1_000, 5_000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('failNext' as const), n: fc.integer({ min: 1, max: 4 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('stuck' as const, 'stuckForever' as const, 'unreadyForever' as const, 'vanish' as const),
      server,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('podCrash' as const, 'failOnStart' as const),
      server,
      reason: fc.constantFrom('OOMKilled', 'Evicted', 'ErrImagePull', 'CrashLoopBackOff'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('readyDelay' as const), ms: fc.constantFrom(0, 3_000, 120_000) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('regress' as const), back: fc.integer({ min: 1, max: 200 }), lose: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('recreate' as const), server, ready: fc.boolean() }) },
  // etcd restored from an older snapshot, and the pod replaced there: a new uid below every version seen.
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('replaceInNewEpoch' as const),
      server,
      back: fc.integer({ min: 5, max: 200 }),
      ready: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('unready' as const), server, how: fc.constantFrom('notReady' as const, 'nodeLost' as const) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('recover' as const), server }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('late' as const), ms: fc.constantFrom(0, 4_000, 20_000) }) },
  // The wall clock stepped (NTP, a VM resumed) forward or back by up to two hours, while running or between a crash and the restart.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wallStep' as const), ms: fc.integer({ min: -7_200_000, max: 7_200_000 }) }) },
);

function pull(w: World): void {
  const changes = w.h.cluster.changes;
  while (w.seen < changes.length) w.inbox.push(changes[w.seen++] as ModelChange);
}

async function deliver(w: World, change: ModelChange | undefined, listedAt?: string): Promise<void> {
  if (change === undefined) return;
  // A pod of a server the hub does not know yet reaches no machine: it is the sweeper's (or a later relist's).
  if (change.fact.exists && w.h.runtime.get(change.key) === undefined) w.lost.add(change.key);
  await w.h.runtime.observe(change.key, change.fact, listedAt).catch(() => undefined);
}

/** relist delivers what a list reports, each fact with the list's version, as the reflector does. */
async function relist(w: World): Promise<void> {
  const listedAt = w.h.cluster.resourceVersion;
  for (const c of w.h.cluster.list(SERVERS)) await deliver(w, c, listedAt);
}

/**
 * crossEpoch: the cluster is about to go back to lower resourceVersions. Events of the old epoch still
 * undelivered may now arrive after facts of the new one, with versions that look newer; no watch can
 * order those, so their servers count as needing the relist (which orders by the list's own version).
 */
function crossEpoch(w: World): void {
  for (const c of w.inbox) w.lost.add(c.key);
}

async function command(w: World, key: string, event: ServerEvent): Promise<void> {
  let ack: { seq: number } | undefined;
  w.h.runtime.send(key, event).then(
    (view) => (ack = view),
    () => undefined, // not acknowledged: a crash came first
  );
  await w.h.settle();
  if (ack !== undefined) {
    w.acked.push({ key, seq: ack.seq, type: event.type });
    w.last.set(key, event.type as 'server.start' | 'server.stop');
  }
}

async function run(w: World, s: Step): Promise<void> {
  pull(w);
  const { h } = w;
  const at = (n: number) => (w.inbox.length === 0 ? -1 : n % w.inbox.length);
  switch (s.kind) {
    case 'start':
    case 'stop':
      return command(w, SERVERS[s.server] as string, { type: s.kind === 'start' ? 'server.start' : 'server.stop' });
    case 'deliver':
      if (at(s.at) >= 0) await deliver(w, w.inbox.splice(at(s.at), 1)[0]);
      break;
    case 'drop':
      if (at(s.at) >= 0) for (const c of w.inbox.splice(at(s.at), 1)) w.lost.add(c.key);
      break;
    case 'duplicate':
      if (at(s.at) >= 0) await deliver(w, w.inbox[at(s.at)]);
      break;
    case 'stale':
      await deliver(w, h.cluster.changes[s.at % Math.max(1, h.cluster.changes.length)]);
      break;
    case 'resync':
      await relist(w);
      break;
    case 'advance':
      await h.advance(s.ms);
      break;
    case 'crash':
      h.crash();
      h.clock.stepWall(s.wallMs);
      h.open();
      await h.settle();
      break;
    case 'apiDown':
      h.cluster.faults.down = s.down;
      break;
    case 'latency':
      h.cluster.faults.latencyMs = s.ms;
      break;
    case 'failNext':
      h.cluster.faults.failNext = s.n;
      break;
    case 'stuck':
      h.cluster.faults.stuck.add(SERVERS[s.server] as string);
      break;
    case 'stuckForever':
      h.cluster.faults.stuckForever.add(SERVERS[s.server] as string);
      break;
    case 'unreadyForever':
      h.cluster.faults.unreadyForever.add(SERVERS[s.server] as string);
      h.cluster.unready(SERVERS[s.server] as string, 'notReady');
      break;
    case 'vanish':
      h.cluster.vanish(SERVERS[s.server] as string);
      break;
    case 'podCrash':
      h.cluster.crash(SERVERS[s.server] as string, s.reason);
      break;
    case 'failOnStart':
      h.cluster.faults.failOnStart.set(SERVERS[s.server] as string, s.reason);
      break;
    case 'readyDelay':
      h.cluster.faults.readyDelayMs = s.ms;
      break;
    case 'regress':
      if (s.lose) for (const key of SERVERS) w.lost.add(key);
      crossEpoch(w);
      h.cluster.regress(Math.max(1, h.cluster.counter - s.back), { lose: s.lose });
      break;
    case 'recreate':
      h.cluster.recreate(SERVERS[s.server] as string, { ready: s.ready });
      break;
    case 'replaceInNewEpoch':
      crossEpoch(w);
      h.cluster.regress(Math.max(1, h.cluster.counter - s.back));
      h.cluster.recreate(SERVERS[s.server] as string, { ready: s.ready });
      break;
    case 'unready':
      h.cluster.unready(SERVERS[s.server] as string, s.how);
      break;
    case 'recover':
      h.cluster.recover(SERVERS[s.server] as string);
      break;
    case 'late':
      h.cluster.faults.lateMs = s.ms;
      break;
    case 'wallStep':
      h.clock.stepWall(s.ms);
      break;
  }
  await h.settle();
}

/**
 * settle ends the faults, lets a healthy watch deliver everything and runs time for the bound (when
 * the watch lost none of a server's events, that server must agree with the cluster then, before any relist: a fact
 * the machine wrongly discards is caught here, where a relist would hide it); then a relist, time for
 * the bound again, and each server that has not done what it was last asked is asked again (a user
 * retrying once the attempt made under faults has ended) and time runs for the bound once more.
 */
async function settle(w: World, bound: number): Promise<void> {
  const { h } = w;
  h.cluster.clear();
  h.cluster.faults.readyDelayMs = Math.min(h.cluster.faults.readyDelayMs, 3_000); // a kubelet slower than any deadline is a fault too
  pull(w);
  for (const c of w.inbox.splice(0)) await deliver(w, c);
  // The world's own late changes (a pod made under a 120 s kubelet delay turning ready, a late call
  // landing) can come up to the bound after the faults stop; the bound runs from the last of them.
  await runFor(w, 2 * bound);
  agree(w, 'with a watch that lost none of its events, before any relist', w.lost);
  await relist(w);
  await runFor(w, bound);
  for (const [key, type] of [...w.last]) {
    const state = h.runtime.get(key)?.state;
    if (state !== (type === 'server.start' ? 'running.ready' : 'stopped')) await command(w, key, { type });
  }
  await runFor(w, bound);
}

async function runFor(w: World, ms: number): Promise<void> {
  const { h } = w;
  await h.clock.advance(ms, async () => {
    await h.settle();
    pull(w);
    for (const c of w.inbox.splice(0)) await deliver(w, c);
    await h.settle();
  });
}

/** agree: every server is stable, and running exactly when its pod exists and is ready (else its pod is gone or handed on). */
function agree(w: World, when: string, except: ReadonlySet<string> = new Set()): void {
  const { h } = w;
  expect(h.runtime.failed).toBeUndefined();
  const orphans = new Set(h.store.orphans().map((o) => `${o.key}#${o.uid}`));
  for (const key of h.runtime.keys()) {
    const view = h.runtime.get(key);
    if (view === undefined || except.has(key)) continue;
    expect(view.snapshot.hasTag('stable'), `${key} is stable (it is ${view.state}) ${when}`).toBe(true);
    const pod = h.cluster.fact(key);
    if (view.state.startsWith('running')) {
      expect(isRunning(pod), `${key} is running, so its pod must exist and be ready, ${when}`).toBe(true);
    } else {
      // An orphan row without a uid hands on whatever pod of the server is there once it is idle.
      const accounted = !pod.exists || orphans.has(`${key}#${pod.uid}`) || orphans.has(`${key}#`);
      expect(accounted, `${key} is ${view.state}: its pod must be gone or handed to the sweeper, ${when}`).toBe(true);
    }
  }
}

function check(w: World): void {
  const { h } = w;
  agree(w, 'at the end');
  for (const key of h.runtime.keys()) {
    const view = h.runtime.get(key);
    if (view === undefined) continue;
    // Progress: once the faults stop, the last command is done, not merely some stable state reached.
    const last = w.last.get(key);
    // A pod held terminating, or one that never gets ready, keeps a start from ever succeeding; agreement must hold still.
    const held = h.cluster.faults.stuckForever.has(key) || h.cluster.faults.unreadyForever.has(key);
    if (last === 'server.start' && !held) expect(view.state, `${key}'s last command was start`).toBe('running.ready');
    if (last === 'server.stop') expect(view.state, `${key}'s last command was stop`).toBe('stopped');
    const stored = h.db.prepare('SELECT snapshot FROM servers WHERE key = ?').get(key) as { snapshot: string };
    expect(checkReplay(h.machine, h.store, key, stored.snapshot).ok, `${key}: replay equals the stored snapshot`).toBe(true);
  }
  const find = h.db.prepare('SELECT e.type FROM events e JOIN servers s ON s.sid = e.sid WHERE s.key = ? AND e.seq = ?');
  for (const a of w.acked) {
    expect((find.get(a.key, a.seq) as { type: string } | undefined)?.type, `acknowledged ${a.type} of ${a.key} is in the log`).toBe(a.type);
  }
}

describe('property', () => {
  it('every server settles in a stable state that agrees with the cluster, does what it was last asked, replays exactly and keeps every acknowledged command, under any faults, epochs, pod replacements, readiness flaps, late calls, wall-clock steps and crashes', async () => {
    const probe = new Harness(':memory:');
    const bound = analyzeLiveness(probe.machine).bound;
    probe.close();
    console.log(`property: seed ${SEED}, ${RUNS} runs, settle bound ${bound / 1000} s (rerun with PROPERTY_SEED=${SEED})`);
    const tmp = tempDir();
    let n = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.boolean(), fc.array(stepArb, { minLength: 1, maxLength: 60, size: 'max' }), async (opaque, steps) => {
          const path = `${tmp.dir}/run-${n++}.db`;
          const h = new Harness(path, TEST_DELAYS, (clock) => new ModelCluster(clock, { opaque }));
          const w: World = { h, inbox: [], seen: 0, acked: [], last: new Map(), lost: new Set() };
          try {
            for (const s of steps) await run(w, s);
            await settle(w, bound);
            check(w);
            if (process.env['PROPERTY_STATS'] !== undefined) {
              const states = [...w.h.runtime.keys()].map((k) => w.h.runtime.get(k)?.state).join(',');
              const events = (w.h.db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
              console.log(
                `${steps.length} steps, ${w.acked.length} acked, ${events} events, ${w.h.cluster.calls} calls, orphans ${w.h.store.orphans().length}: ${states}`,
              );
            }
          } finally {
            w.h.close();
          }
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: false },
      );
    } finally {
      tmp.cleanup();
    }
  }, 600_000);
});
