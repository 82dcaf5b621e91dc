import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MACHINE_VERSION, configureServerMachine } from '../../machines/server.machine.js';
import { ManualClock } from '../../src/core/clock.js';
import type { Gate } from '../../src/runtime/gate.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { openDatabase } from '../../src/store/database.js';
import { SqliteEventStore } from '../../src/store/event-store.js';
import type { Database } from 'better-sqlite3';
import { TEST_DELAYS, tempDir } from '../support/harness.js';
import { ModelCluster } from '../support/model-cluster.js';

/** SwitchGate is a gate a test opens and shuts by hand, as the Lease does when it is won and lost. */
class SwitchGate implements Gate {
  acting = false;
  private readonly listeners = new Set<() => void>();
  onOpen(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  set(acting: boolean): void {
    this.acting = acting;
    if (acting) for (const l of this.listeners) l();
  }
}

describe('runtime behind a gate (the Lease)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let db: Database;
  let runtime: Runtime;
  let cluster: ModelCluster;
  let gate: SwitchGate;
  const clock = new ManualClock();
  /** settle lets queued events commit (a group commit may wait a few ms) and startable effects run; time does not move. */
  const settle = async () => {
    for (let quiet = 0, i = 0; quiet < 3 && i < 2_000; i++) {
      await new Promise((r) => setTimeout(r, 1));
      quiet = runtime.busy ? 0 : quiet + 1;
    }
  };
  const outbox = () => (db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;

  beforeEach(() => {
    tmp = tempDir();
    db = openDatabase(`${tmp.dir}/hub.db`, { durability: 'normal' });
    cluster = new ModelCluster(clock);
    gate = new SwitchGate();
    runtime = new Runtime({
      store: new SqliteEventStore(db, { machineVersion: MACHINE_VERSION }),
      machine: configureServerMachine(TEST_DELAYS),
      pods: cluster,
      clock,
      gate,
    });
    runtime.start();
  });
  afterEach(() => {
    runtime.close();
    db.close();
    tmp.cleanup();
  });

  it('commits commands while the gate is shut, keeps their effects in the outbox, and runs them in order once it opens', async () => {
    const ack = await runtime.send('alice/', { type: 'server.start' });
    expect(ack.seq).toBe(1);
    await settle();
    expect(cluster.calls).toBe(0);
    expect(outbox()).toBe(1);
    expect(runtime.pendingEffects).toBe(1);
    expect(runtime.effectsInFlight).toBe(0); // held, not in flight: nothing to wait for but the gate
    expect(runtime.busy).toBe(false); // nothing can start: a settle loop must not spin on it
    gate.set(true);
    await settle();
    expect(cluster.calls).toBeGreaterThan(0);
    expect(cluster.pods.has('alice/')).toBe(true);
    expect(outbox()).toBe(0);
  });

  it('starts no new effect after the gate shuts, even for effects queued while it was open', async () => {
    gate.set(true);
    await runtime.send('bob/', { type: 'server.start' });
    await settle();
    const calls = cluster.calls;
    gate.set(false);
    await runtime.send('bob/', { type: 'server.stop' });
    await clock.advance(TEST_DELAYS.requestTimeout * 3, settle);
    expect(cluster.calls).toBe(calls);
    expect(outbox()).toBeGreaterThan(0);
    gate.set(true);
    await clock.advance(TEST_DELAYS.stopTimeout, settle);
    expect(runtime.get('bob/')?.state).toBe('stopped');
    expect(cluster.pods.has('bob/')).toBe(false);
  });
});
