import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { afterEach, beforeEach } from 'vitest';
import type { ServerDelays, ServerMachine } from '../../machines/server.machine.js';
import { MACHINE_VERSION, configureServerMachine } from '../../machines/server.machine.js';
import { ManualClock } from '../../src/core/clock.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { openDatabase } from '../../src/store/database.js';
import { SqliteEventStore } from '../../src/store/event-store.js';
import { ModelCluster } from './model-cluster.js';

/** tempDir makes a folder for one test's database files and a function to remove it. */
export function tempDir(prefix = 'spawnkeeper-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** TEST_DELAYS are short enough for readable tests and keep every default's ordering. */
export const TEST_DELAYS: ServerDelays = {
  startTimeout: 60_000,
  stopTimeout: 40_000,
  stopRetryInterval: 10_000,
  pollInterval: 2_000,
  requestTimeout: 3_000,
  failFastGrace: 5_000,
  retryBackoff: 500,
  retryBackoffMax: 4_000,
  unreadyTimeout: 30_000,
};

/** CRASH_DELAYS are the wall-clock delays of the SIGKILL test: its child runs them and the test replays with them. */
export const CRASH_DELAYS: ServerDelays = {
  ...TEST_DELAYS,
  pollInterval: 20,
  requestTimeout: 50,
  stopRetryInterval: 200,
  stopTimeout: 500,
  startTimeout: 800,
};

/**
 * Harness is a whole runtime on a real SQLite file, a virtual clock and the model cluster, with
 * `crash()` to drop it mid-flight and `reopen()` to start again from the file.
 */
export class Harness {
  readonly clock = new ManualClock();
  readonly cluster: ModelCluster;
  readonly machine: ServerMachine;
  db!: Database;
  store!: SqliteEventStore;
  runtime!: Runtime;

  constructor(
    readonly path: string,
    delays: ServerDelays = TEST_DELAYS,
    cluster?: ModelCluster | ((clock: ManualClock) => ModelCluster),
  ) {
    this.machine = configureServerMachine(delays);
    this.cluster = typeof cluster === 'function' ? cluster(this.clock) : (cluster ?? new ModelCluster(this.clock));
    this.open();
  }

  open(): void {
    this.db = openDatabase(this.path, { now: this.clock.now(), durability: 'normal' });
    this.store = new SqliteEventStore(this.db, { machineVersion: MACHINE_VERSION });
    this.runtime = new Runtime({
      store: this.store,
      machine: this.machine,
      pods: this.cluster,
      clock: this.clock,
      effectTimeoutMs: 2_500,
    });
    this.runtime.start();
  }

  /** crash abandons the runtime as a kill would: nothing more is committed, in-flight answers are lost. */
  crash(): void {
    this.runtime.close();
    this.db.close();
  }

  reopen(): void {
    this.crash();
    this.open();
  }

  /** settle lets every queued event commit and every startable effect run; time does not move. */
  async settle(): Promise<void> {
    let quiet = 0;
    for (let i = 0; i < 10_000 && quiet < 3; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      quiet = this.runtime.busy ? 0 : quiet + 1;
    }
  }

  /** advance moves time, settling before the first timer and after each (ManualClock does both). */
  advance(ms: number): Promise<void> {
    return this.clock.advance(ms, () => this.settle());
  }

  close(): void {
    this.crash();
  }
}

/** harnessPerTest gives each test of the file a fresh Harness (handed to `use`) on its own database file, closed after it. */
export function harnessPerTest(use: (h: Harness) => void): void {
  let current: { h: Harness; cleanup: () => void } | undefined;
  beforeEach(() => {
    const tmp = tempDir();
    current = { h: new Harness(`${tmp.dir}/hub.db`), cleanup: tmp.cleanup };
    use(current.h);
  });
  afterEach(() => {
    current?.h.close();
    current?.cleanup();
  });
}
