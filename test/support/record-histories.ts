// Records the golden histories under test/fixtures/histories from scenarios run on the model
// cluster: `npx tsx test/support/record-histories.ts`. Re-record (and bump MACHINE_VERSION) only
// when a change to the machine is meant to change what old histories replay to.
import { mkdirSync, writeFileSync } from 'node:fs';
import { MACHINE_VERSION } from '../../machines/server.machine.js';
import { Harness, TEST_DELAYS, tempDir } from './harness.js';

type Scenario = (h: Harness, key: string) => Promise<void>;

const scenarios: Record<string, { description: string; run: Scenario }> = {
  'start-ready-stop': {
    description: 'A start that becomes ready by polling, then a stop that ends when the pod is gone.',
    run: async (h, key) => {
      await h.runtime.send(key, { type: 'server.start' });
      await h.advance(10_000);
      await h.runtime.send(key, { type: 'server.stop' });
      await h.advance(10_000);
    },
  },
  'spawn-timeout-cleanup': {
    description: 'A pod that never becomes ready: the start timeout verifies, cleans up and ends failed.',
    run: async (h, key) => {
      h.cluster.faults.readyDelayMs = 10 * TEST_DELAYS.startTimeout;
      await h.runtime.send(key, { type: 'server.start' });
      await h.advance(TEST_DELAYS.startTimeout + 20_000);
    },
  },
  'stop-during-spawn': {
    description: 'A stop that arrives while the pod is being created cancels the spawn.',
    run: async (h, key) => {
      await h.runtime.send(key, { type: 'server.start' });
      await h.runtime.send(key, { type: 'server.stop' });
      await h.advance(20_000);
    },
  },
  'start-during-stop': {
    description: 'A start that arrives while stopping is queued and runs once the stop completes.',
    run: async (h, key) => {
      await h.runtime.send(key, { type: 'server.start' });
      await h.advance(10_000);
      await h.runtime.send(key, { type: 'server.stop' });
      await h.runtime.send(key, { type: 'server.start' });
      await h.advance(20_000);
    },
  },
  'stuck-terminating-orphan': {
    description: 'A pod held by a finalizer: delete, force delete, then hand it to the orphan sweeper.',
    run: async (h, key) => {
      await h.runtime.send(key, { type: 'server.start' });
      await h.advance(10_000);
      h.cluster.faults.stuck.add(key);
      await h.runtime.send(key, { type: 'server.stop' });
      await h.advance(TEST_DELAYS.stopTimeout + 10_000);
    },
  },
  'vanished-while-running': {
    description: "A pod deleted behind the hub's back while running; stale and duplicate observations change nothing.",
    run: async (h, key) => {
      await h.runtime.send(key, { type: 'server.start' });
      await h.advance(10_000);
      const ready = h.cluster.fact(key);
      h.cluster.vanish(key);
      await h.runtime.observe(key, h.cluster.fact(key));
      await h.runtime.observe(key, ready); // stale
      await h.runtime.observe(key, h.cluster.fact(key)); // duplicate
      await h.settle();
    },
  },
  'unready-while-running': {
    description: 'A running pod turns NotReady and recovers, then loses its node for longer than unreadyTimeout: stopped and failed.',
    run: async (h, key) => {
      await h.runtime.send(key, { type: 'server.start' });
      await h.advance(10_000);
      h.cluster.unready(key, 'notReady');
      await h.runtime.observe(key, h.cluster.fact(key));
      await h.advance(1_000);
      h.cluster.recover(key);
      await h.runtime.observe(key, h.cluster.fact(key));
      await h.settle();
      h.cluster.unready(key, 'nodeLost');
      await h.runtime.observe(key, h.cluster.fact(key));
      await h.advance(TEST_DELAYS.unreadyTimeout + TEST_DELAYS.stopTimeout);
    },
  },
  'api-outage-during-start': {
    description: 'The API refuses connections during a start; retries with backoff until it returns.',
    run: async (h, key) => {
      h.cluster.faults.down = true;
      await h.runtime.send(key, { type: 'server.start' });
      await h.advance(8_000);
      h.cluster.faults.down = false;
      await h.advance(15_000);
    },
  },
};

const out = new URL('../fixtures/histories/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
for (const [name, scenario] of Object.entries(scenarios)) {
  const tmp = tempDir();
  const h = new Harness(`${tmp.dir}/h.db`);
  const key = 'golden/';
  await scenario.run(h, key);
  const events = h.store.events(key).map((e) => JSON.parse(e.payload) as unknown);
  const { snapshot, state } = h.db.prepare('SELECT snapshot, state FROM servers WHERE key = ?').get(key) as {
    snapshot: string;
    state: string;
  };
  h.close();
  tmp.cleanup();
  const fixture = {
    description: scenario.description,
    machineVersion: MACHINE_VERSION,
    finalState: state,
    events,
    expected: JSON.parse(snapshot) as unknown,
  };
  writeFileSync(`${out}${name}.json`, `${JSON.stringify(fixture, null, 1)}\n`);
  console.log(`${name}: ${events.length} events, ends ${state}`);
}
