import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MACHINE_VERSION, configureServerMachine } from '../../machines/server.machine.js';
import { ManualClock } from '../../src/core/clock.js';
import { checkReplay } from '../../src/runtime/replay.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { DatabaseRefusedError, openDatabase } from '../../src/store/database.js';
import { SqliteEventStore } from '../../src/store/event-store.js';
import { Harness, TEST_DELAYS, tempDir } from '../support/harness.js';
import { ModelCluster } from '../support/model-cluster.js';

/**
 * Random byte flips in a real database file: opening it either refuses with a clear error (and
 * leaves the file as it was) or, when the flip hit bytes that hold nothing, yields exactly the
 * original contents. Never a silently different state, never a silent repair.
 */

const FLIPS = Number(process.env['FUZZ_DB_FLIPS'] ?? 400);
const SEED = Number(process.env['FUZZ_SEED'] ?? 20171229);
/** What each row means; bookkeeping columns (created_at, machine_version, applied_at) are informational only. */
const TABLES: Record<string, string> = {
  servers: 'sid, key, snapshot, state, seq, since, timers',
  events: 'id, sid, seq, ts, type, payload, state_before, state_after',
  outbox: 'id, sid, kind, params',
  orphans: 'sid, uid, reason, recorded_at',
  schema_migrations: 'version, name',
};

/** dump reads every table by a full scan (no index), in a stable order: the logical contents. */
function dump(path: string): string {
  const db = new BetterSqlite3(path, { readonly: true });
  try {
    return JSON.stringify(
      Object.entries(TABLES).map(([t, columns]) => db.prepare(`SELECT ${columns} FROM ${t} ORDER BY ${columns}`).all()),
    );
  } finally {
    db.close();
  }
}

/** load does what a hub does at start with a database: open, verify, restore every server and replay each. */
function load(path: string): void {
  const db = openDatabase(path, { now: 0 });
  try {
    const store = new SqliteEventStore(db, { machineVersion: MACHINE_VERSION });
    const clock = new ManualClock();
    const machine = configureServerMachine(TEST_DELAYS);
    const runtime = new Runtime({ store, machine, pods: new ModelCluster(clock), clock });
    runtime.start();
    runtime.close();
    store.orphans(); // what the sweeper reads
    for (const row of store.loadServers()) {
      if (!checkReplay(machine, store, row.key, row.snapshot).ok)
        throw new DatabaseRefusedError(path, 'corrupt', `the log of ${row.key} does not replay to its snapshot`);
    }
  } finally {
    db.close();
  }
}

describe('fuzz: database byte flips', () => {
  it(`a database with flipped bytes is refused with a clear error or reads exactly as before (${FLIPS} files, seed ${SEED})`, async () => {
    const tmp = tempDir();
    try {
      const original = `${tmp.dir}/original.db`;
      const h = new Harness(original);
      for (const [i, key] of ['ann/', 'bob/', 'cy/lab', 'dee/'].entries()) {
        await h.runtime.send(key, { type: 'server.start' });
        await h.advance(4_000 + i * 1_000);
      }
      await h.runtime.send('bob/', { type: 'server.stop' });
      h.cluster.faults.stuck.add('dee/');
      await h.runtime.send('dee/', { type: 'server.stop' });
      await h.advance(TEST_DELAYS.stopTimeout + 5_000);
      await h.runtime.send('ann/', { type: 'server.stop' }); // left mid-stop: timers and an outbox row stay
      h.close();
      const db = new BetterSqlite3(original);
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
      const bytes = readFileSync(original);
      const truth = dump(original);
      expect(() => load(original)).not.toThrow();
      const outcomes = { refused: 0, unchanged: 0 };
      const path = `${tmp.dir}/flipped.db`;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ at: fc.nat({ max: bytes.length - 1 }), xor: fc.integer({ min: 1, max: 255 }) }), {
            minLength: 1,
            maxLength: 4,
          }),
          async (flips) => {
            const damaged = Buffer.from(bytes);
            for (const f of flips) damaged[f.at] = (damaged[f.at] as number) ^ f.xor;
            writeFileSync(path, damaged);
            let refused: unknown;
            try {
              load(path);
            } catch (err) {
              refused = err;
            }
            if (refused !== undefined) {
              expect(refused, String(refused)).toBeInstanceOf(DatabaseRefusedError);
              expect((refused as Error).message, (refused as Error).message).toMatch(
                /^refusing to open .+: (the file|.+ is damaged|it was written by|the log of|the orphan record)/s,
              );
              expect(readFileSync(path).equals(damaged), 'a refused file is left as it was').toBe(true);
              outcomes.refused++;
            } else {
              const now = dump(path);
              if (now !== truth) {
                let i = 0;
                while (now[i] === truth[i]) i++;
                throw new Error(
                  `flips ${JSON.stringify(flips)} changed what the file says, and it was not refused: …${truth.slice(Math.max(0, i - 80), i + 40)} → …${now.slice(Math.max(0, i - 80), i + 40)}`,
                );
              }
              outcomes.unchanged++;
            }
          },
        ),
        { numRuns: FLIPS, seed: SEED },
      );
      console.log(
        `fuzz: ${FLIPS} damaged files of ${bytes.length} bytes: ${outcomes.refused} refused, ${outcomes.unchanged} unchanged in meaning (flips in unused bytes)`,
      );
      copyFileSync(original, path); // and the original still loads
      expect(() => load(path)).not.toThrow();
    } finally {
      tmp.cleanup();
    }
  }, 300_000);
});
