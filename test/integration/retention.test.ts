import { describe, expect, it } from 'vitest';
import { historyCommand, replayCommand } from '../../src/hub/cli/db.js';
import type { CliIo } from '../../src/hub/cli/io.js';
import { CHECKPOINT, checkReplay, replayStart } from '../../src/runtime/replay.js';
import { Retention } from '../../src/runtime/retention.js';
import type { RetentionPolicy } from '../../src/runtime/retention.js';
import { openDatabase } from '../../src/store/database.js';
import { HistoryStore } from '../../src/store/history-store.js';
import BetterSqlite3 from 'better-sqlite3';
import { vacuumCommand } from '../../src/hub/cli/vacuum.js';
import { APPLICATION_ID } from '../../src/store/database.js';
import { loadMigrations, migrate } from '../../src/store/migrations.js';
import { Harness, harnessPerTest, tempDir } from '../support/harness.js';
import { recorded, writeOld } from '../support/old-histories.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** capture is a CliIo that keeps what a command printed. */
function capture(): CliIo & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, env: {}, out: (line: string) => lines.push(line), err: (line: string) => errors.push(line) } as CliIo & {
    lines: string[];
    errors: string[];
  };
}

/** lifecycles runs a server through `n` whole lifecycles: start, running, stop, stopped, each 20 s of virtual time. */
async function lifecycles(h: Harness, key: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await h.runtime.send(key, { type: 'server.start' });
    await h.advance(10_000);
    await h.runtime.send(key, { type: 'server.stop' });
    await h.advance(10_000);
  }
}

function retention(h: Harness, policy: Partial<RetentionPolicy> = {}): Retention {
  return new Retention({
    store: new HistoryStore(h.db),
    runtime: h.runtime,
    machine: h.machine,
    clock: h.clock,
    policy: { maxAgeMs: 30 * DAY, lifecycles: 10, intervalMs: 0, ...policy },
    restRatio: 0,
  });
}

/** lifecycleStarts counts the kept events that take a server into spawn_pending from elsewhere. */
function lifecycleStarts(h: Harness, key: string): number {
  return h.store
    .events(key)
    .filter((e) => e.stateAfter.startsWith('spawn_pending') && !e.stateBefore.startsWith('spawn_pending') && e.type !== CHECKPOINT).length;
}

function stored(h: Harness, key: string): string {
  return (h.db.prepare('SELECT snapshot FROM servers WHERE key = ?').get(key) as { snapshot: string }).snapshot;
}

let h: Harness;
harnessPerTest((fresh) => (h = fresh));

describe('bounded history', () => {
  it('keeps a server of 1,000 lifecycles to its last 10 once they are old, replays from the checkpoint to its snapshot, and says where history begins', async () => {
    await lifecycles(h, 'ann/', 1_000);
    const before = h.store.events('ann/');
    expect(lifecycleStarts(h, 'ann/')).toBe(1_000);
    const snapshot = stored(h, 'ann/');

    // The age binds first: 1,000 lifecycles of 20 s span 5.6 hours; with a 1-hour age, the last hour stays whole.
    const r = retention(h, { maxAgeMs: HOUR });
    const first = await r.pass();
    expect(first.checkpoints).toBeGreaterThan(0);
    const cutoff = h.clock.now() - HOUR;
    const kept = h.store.events('ann/');
    expect(kept[0]?.type).toBe(CHECKPOINT);
    expect(kept.slice(1).every((e) => e.ts >= cutoff - 20_000)).toBe(true);
    expect(before.filter((e) => e.ts >= cutoff).every((e) => kept.some((k) => k.seq === e.seq && k.payload === e.payload))).toBe(true);
    expect(kept[1]?.stateBefore).toBe('stopped'); // whole lifecycles: the first kept event begins one

    // A day later the lifecycles bind: exactly the last 10 stay, after one checkpoint.
    await h.advance(DAY);
    const second = await retention(h, { maxAgeMs: HOUR }).pass();
    expect(second.foldedEvents).toBeGreaterThan(0);
    const last = h.store.events('ann/');
    expect(last[0]?.type).toBe(CHECKPOINT);
    expect(lifecycleStarts(h, 'ann/')).toBe(10);
    expect(last.slice(1)).toEqual(before.slice(before.length - (last.length - 1)));
    const start = replayStart(last);
    expect(start.folded?.lifecycles).toBe(990);
    expect(start.folded?.events).toBe(before.length - (last.length - 1));
    expect(start.seq).toBe(last[0]?.seq);

    // Replay from the checkpoint gives the stored snapshot, which retention never touched.
    expect(stored(h, 'ann/')).toBe(snapshot);
    const check = checkReplay(h.machine, h.store, 'ann/', snapshot);
    expect(check.ok).toBe(true);
    expect(check.startedAt.seq).toBe(last[0]?.seq);

    // The commands read the file beside the hub: replay --check and history say where history begins.
    const replayed = capture();
    expect(replayCommand(['--check', 'ann', '--db', h.path], replayed)).toBe(0);
    expect(replayed.lines[0]).toMatch(new RegExp(`^OK ann/: ${last.length} rows replayed from the checkpoint at seq ${last[0]?.seq} \\(`));
    expect(replayed.lines[0]).toContain(`${start.folded?.events} older events of 990 lifecycles folded`);
    const all = capture();
    expect(replayCommand(['--check', '--db', h.path], all)).toBe(0);
    expect(all.lines.at(-1)).toBe('1 server replayed (1 from a retention checkpoint), 0 differ: every snapshot matches its log');
    const told = capture();
    expect(historyCommand(['ann', '--db', h.path], told)).toBe(0);
    expect(told.lines[0]).toMatch(new RegExp(`^history of ann/ begins at seq ${last[0]?.seq} \\(.*\\), a checkpoint: history begins here`));
    expect(told.lines).toHaveLength(last.length + 1);

    // The server goes on from where it was.
    await lifecycles(h, 'ann/', 1);
    expect(h.runtime.get('ann/')?.state).toBe('stopped');
    expect(checkReplay(h.machine, h.store, 'ann/', stored(h, 'ann/')).ok).toBe(true);
  }, 120_000);

  it('keeps every event younger than the age, and a server with fewer lifecycles than the policy keeps all', async () => {
    await lifecycles(h, 'bob/', 5);
    await h.advance(60 * DAY);
    await lifecycles(h, 'cat/', 30);
    const bob = h.store.events('bob/');
    const cat = h.store.events('cat/');
    const summary = await retention(h).pass();
    expect(summary.checkpoints).toBe(0);
    expect(h.store.events('bob/')).toEqual(bob);
    expect(h.store.events('cat/')).toEqual(cat);
  }, 60_000);

  it('drops the history of a deleted user once all of it is older than the age, and keeps a live user’s', async () => {
    await lifecycles(h, 'gone/', 3);
    await lifecycles(h, 'gone/lab', 2);
    await lifecycles(h, 'stays/', 3);
    const r = retention(h, { maxAgeMs: DAY, lifecycles: 1 });
    r.retired = (key) => key.startsWith('gone/');
    const young = await r.pass();
    expect(young.droppedServers).toBe(0);
    expect(h.runtime.get('gone/')).toBeDefined();

    await h.advance(2 * DAY);
    const old = await r.pass();
    expect(old.droppedServers).toBe(2);
    expect(h.runtime.get('gone/')).toBeUndefined();
    expect(h.runtime.get('gone/lab')).toBeUndefined();
    expect(h.store.events('gone/')).toEqual([]);
    expect(h.db.prepare("SELECT COUNT(*) AS n FROM servers WHERE key LIKE 'gone/%'").get()).toEqual({ n: 0 });
    expect(lifecycleStarts(h, 'stays/')).toBe(1);
    expect(checkReplay(h.machine, h.store, 'stays/', stored(h, 'stays/')).ok).toBe(true);

    // After a restart the dropped servers stay gone, and the name can start afresh.
    h.reopen();
    expect(h.runtime.get('gone/')).toBeUndefined();
    await lifecycles(h, 'gone/', 1);
    expect(h.store.events('gone/')[0]?.seq).toBe(1);
  }, 60_000);

  it('keeps a deleted user’s server that is still running', async () => {
    await h.runtime.send('run/', { type: 'server.start' });
    await h.advance(10_000);
    await h.advance(2 * DAY);
    const r = retention(h, { maxAgeMs: DAY, lifecycles: 1 });
    r.retired = () => true;
    expect((await r.pass()).droppedServers).toBe(0);
    expect(h.runtime.get('run/')?.state).toMatch(/^running/);
  }, 60_000);

  it('gives freed pages back to the file system on a new database', async () => {
    await lifecycles(h, 'big/', 300);
    await h.advance(2 * DAY);
    const store = new HistoryStore(h.db);
    expect(store.size().incremental).toBe(true);
    const before = store.size().bytes;
    const r = retention(h, { maxAgeMs: DAY, lifecycles: 1 });
    const summary = await r.pass();
    expect(summary.reclaimedBytes).toBeGreaterThan(0);
    expect(store.size().bytes).toBeLessThan(before);
    expect(store.size().freePages).toBe(0);
    expect(r.counts).toEqual(counted(h));
    expect(r.counts).toEqual({ events: h.store.events('big/').length, checkpoints: 1 });
  }, 60_000);
});

describe('retention after a machine upgrade', () => {
  it('folds a history that crossed a machine upgrade, drops the older version’s events with it, and replays to the snapshot', async () => {
    const tmp = tempDir();
    try {
      const path = `${tmp.dir}/v1.db`;
      const history = recorded(1, 'start-during-stop');
      writeOld(path, 'old/', history);
      const old = new Harness(path);
      try {
        await old.runtime.send('old/', { type: 'server.stop' });
        await old.advance(20_000);
        await lifecycles(old, 'old/', 3);
        await old.advance(2 * DAY);
        const upgradedAt = old.store.events('old/').find((e) => e.type === 'machine.upgraded')?.seq;
        expect(upgradedAt).toBe(history.events.length + 1);
        const pass = await retention(old, { maxAgeMs: DAY, lifecycles: 1 }).pass();
        expect(pass.checkpoints).toBeGreaterThan(0);
        const kept = old.store.events('old/');
        expect(kept[0]?.type).toBe(CHECKPOINT);
        expect(kept.some((e) => e.seq <= (upgradedAt as number))).toBe(false);
        expect(replayStart(kept).folded?.events).toBe(kept[0]?.seq);
        expect(checkReplay(old.machine, old.store, 'old/', stored(old, 'old/')).ok).toBe(true);
      } finally {
        old.close();
      }
    } finally {
      tmp.cleanup();
    }
  }, 60_000);
});

describe('vacuum', () => {
  it('turns a file made before incremental auto_vacuum into one retention can shrink, and writes a compacted copy beside a running hub', async () => {
    const tmp = tempDir();
    try {
      const path = `${tmp.dir}/old.db`;
      const raw = new BetterSqlite3(path);
      raw.pragma(`application_id = ${APPLICATION_ID}`);
      migrate(raw, loadMigrations(), 0);
      raw.close();
      const old = new Harness(path);
      await lifecycles(old, 'ann/', 20);
      expect(new HistoryStore(old.db).size().incremental).toBe(false);

      const copy = capture();
      expect(vacuumCommand(['--into', `${tmp.dir}/copy.db`, '--db', path], copy)).toBe(0); // beside the running runtime
      const copied = openDatabase(`${tmp.dir}/copy.db`, { readonly: true });
      expect(new HistoryStore(copied).size().incremental).toBe(true);
      copied.close();
      const taken = capture();
      expect(() => vacuumCommand(['--db', path], taken)).toThrow(/held by spawnkeeper/); // in place needs the hub stopped
      old.close();

      const inPlace = capture();
      expect(vacuumCommand(['--db', path], inPlace)).toBe(0);
      const db = openDatabase(path);
      expect(new HistoryStore(db).size().incremental).toBe(true);
      db.close();
      const check = capture();
      expect(replayCommand(['--check', '--db', path], check)).toBe(0);
    } finally {
      tmp.cleanup();
    }
  }, 60_000);
});

/** counted is the log's rows counted in one query, as the retention pass should have counted them in chunks. */
function counted(h: Harness): { events: number; checkpoints: number } {
  const db = openDatabase(h.path, { readonly: true, verify: 'none' });
  try {
    return db
      .prepare(`SELECT COUNT(*) AS events, COALESCE(SUM(type IN ('${CHECKPOINT}', 'machine.upgraded')), 0) AS checkpoints FROM events`)
      .get() as { events: number; checkpoints: number };
  } finally {
    db.close();
  }
}
