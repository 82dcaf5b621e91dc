import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Live } from '../support/live.js';

/**
 * The model-based proof again, with nothing of ours between the machine and the cluster but the real
 * code: the real Reflector and KubePodClient (through @kubernetes/client-node, over HTTP on loopback)
 * against the simulated API server, under the simulator's own faults (refused connections, cut,
 * stalled and expired watches, dropped events, failing and slow calls), pods replaced under the same
 * name, readiness lost and regained, an etcd restore that sends resourceVersions back, and hub
 * restarts. Fewer runs than the in-process property: each run is real time.
 */

const USERS = ['pa', 'pb', 'pc'];
const RUNS = Number(process.env['PROPERTY_SIM_RUNS'] ?? 30);
const SEED = process.env['PROPERTY_SEED'] === undefined ? Date.now() % 2 ** 31 : Number(process.env['PROPERTY_SEED']);

type Step =
  | { kind: 'start' | 'stop'; user: number }
  | { kind: 'wait'; ms: number }
  | { kind: 'refuse'; ms: number }
  | { kind: 'cut' | 'expire' | 'snapshot' | 'restore' | 'restart' }
  | { kind: 'stall'; ms: number }
  | { kind: 'drop'; fraction: number }
  | { kind: 'failNext'; n: number }
  | { kind: 'slow'; ms: number }
  | { kind: 'replace' | 'unready' | 'ready'; user: number };

const user = fc.integer({ min: 0, max: USERS.length - 1 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constantFrom('start' as const, 'stop' as const), user }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 50, max: 800 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('refuse' as const), ms: fc.integer({ min: 200, max: 1_500 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('cut' as const, 'expire' as const, 'snapshot' as const, 'restore' as const, 'restart' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('stall' as const), ms: fc.integer({ min: 200, max: 2_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), fraction: fc.constantFrom(0.3, 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('failNext' as const), n: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('slow' as const), ms: fc.constantFrom(300, 1_200) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('replace' as const, 'unready' as const, 'ready' as const), user }) },
);

interface World {
  live: Live;
  last: Map<string, 'start' | 'stop'>;
  snapshot: number | undefined;
}

const podOf = (w: World, u: string) => w.live.sk.get(u)?.podName ?? '';

async function command(w: World, u: string, kind: 'start' | 'stop'): Promise<void> {
  try {
    await (kind === 'start' ? w.live.sk.start(u) : w.live.sk.stop(u));
    w.last.set(u, kind);
  } catch {
    // not acknowledged (a restart came first): the last acknowledged command still stands
  }
}

/** quietly runs a control that may find nothing to act on (no pod yet, a pod already gone). */
function quietly(f: () => unknown): void {
  try {
    f();
  } catch {
    // nothing to act on
  }
}

async function run(w: World, s: Step): Promise<void> {
  const { sim } = w.live;
  switch (s.kind) {
    case 'start':
    case 'stop':
      return command(w, USERS[s.user] as string, s.kind);
    case 'wait':
      await new Promise((r) => setTimeout(r, s.ms));
      return;
    case 'refuse':
      await sim.faults.refuseConnections(s.ms);
      return;
    case 'cut':
      sim.faults.cutWatches();
      return;
    case 'expire':
      sim.faults.expireWatches();
      return;
    case 'stall':
      sim.faults.stallWatches({ forMs: s.ms, includeNew: true });
      return;
    case 'drop':
      sim.faults.dropWatchEvents(s.fraction);
      return;
    case 'failNext':
      sim.faults.failNext(s.n);
      return;
    case 'slow':
      sim.faults.slowCalls({ fraction: 0.5, delayMs: s.ms });
      return;
    case 'snapshot':
      w.snapshot = sim.cluster.snapshot();
      return;
    case 'restore':
      if (w.snapshot !== undefined) sim.cluster.restore(w.snapshot);
      return;
    case 'restart':
      await w.live.restart(false);
      return;
    case 'replace':
      quietly(() => sim.cluster.replacePod(podOf(w, USERS[s.user] as string)));
      return;
    case 'unready':
    case 'ready': {
      const name = podOf(w, USERS[s.user] as string);
      quietly(() => sim.kubelet.setReady(name, s.kind === 'ready'));
      return;
    }
  }
}

/** done: the server is stable, agrees with the cluster, and did what it was last asked. */
function done(w: World, u: string): boolean {
  const s = w.live.sk.get(u);
  const last = w.last.get(u);
  if (s === undefined) return last === undefined; // never asked, never made
  if (!s.stable || !w.live.agrees(s)) return false;
  return last === undefined || (last === 'start' ? s.detail === 'running.ready' : s.state === 'stopped');
}

async function settle(w: World, within: number): Promise<void> {
  const deadline = Date.now() + within;
  while (Date.now() < deadline && !USERS.every((u) => done(w, u))) await new Promise((r) => setTimeout(r, 50));
}

describe('property against the simulated cluster', () => {
  it(`every server settles, agrees with the simulated cluster and does what it was last asked, through the real reflector and pod client, under the simulator's faults, pod replacements, readiness flaps, an etcd restore and hub restarts (${RUNS} runs)`, async () => {
    console.log(`property (simulator): seed ${SEED}, ${RUNS} runs (rerun with PROPERTY_SEED=${SEED})`);
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 10 }), async (steps) => {
        const live = await Live.start();
        const w: World = { live, last: new Map(), snapshot: undefined };
        try {
          for (const s of steps) await run(w, s);
          // Faults stop: the API answers and watches flow. A pod that lost readiness keeps it lost: its
          // server must leave running, give up on it after unreadyTimeout, and run again when asked.
          await live.sim.faults.clear();
          await settle(w, 20_000);
          // A user asks again what an attempt made under faults did not do, once it has ended.
          for (const u of USERS) if (!done(w, u) && w.live.sk.get(u)?.stable === true) await command(w, u, w.last.get(u) ?? 'stop');
          await settle(w, 20_000);
          for (const u of USERS) {
            const s = live.sk.get(u);
            expect(
              done(w, u),
              `${u} (last asked to ${w.last.get(u) ?? 'nothing'}) is ${s?.detail ?? 'unknown'}; pod ${JSON.stringify(live.pod(s?.podName ?? '')?.status ?? null)}`,
            ).toBe(true);
          }
          for (const check of live.sk.replayCheck()) expect(check.ok, `${check.key}: replay equals the stored snapshot`).toBe(true);
        } finally {
          await live.close();
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
  }, 1_800_000);
});
