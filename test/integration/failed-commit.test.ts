import { describe, expect, it } from 'vitest';
import { RuntimeFailedError } from '../../src/runtime/runtime.js';
import type { Harness } from '../support/harness.js';
import { harnessPerTest } from '../support/harness.js';

// A commit that fails (a full disk) must leave the in-memory view as the database is: the runtime
// stops, and what get() and list() show is what a restart would load.

let h: Harness;
harnessPerTest((harness) => (h = harness));

/** expectMemoryIsDatabase: every server, its state, seq and armed timers are as the database holds them. */
function expectMemoryIsDatabase(): void {
  const rows = h.store.loadServers();
  const sids = new Map(rows.map((r) => [r.sid, r.key]));
  const stored = new Map(rows.map((r) => [r.key, { state: r.state, seq: r.seq, since: r.since }]));
  const shown = new Map(h.runtime.list().map((v) => [v.key, { state: v.state, seq: v.seq, since: v.since }]));
  expect(shown).toEqual(stored);
  for (const row of rows) {
    expect(h.runtime.get(row.key)?.snapshot.value).toEqual((JSON.parse(row.snapshot) as { value: unknown }).value);
    const timers = h.store
      .loadTimers()
      .filter((t) => sids.get(t.sid) === row.key)
      .map((t) => t.id)
      .sort();
    expect(
      h.runtime
        .deadlines(row.key)
        .map((d) => d.id)
        .sort(),
    ).toEqual(timers);
  }
}

describe('a failed commit', () => {
  it('leaves get() and list() showing the database, not the rejected steps', async () => {
    await h.runtime.send('alice/', { type: 'server.start' });
    await h.advance(10_000);
    expect(h.runtime.get('alice/')?.state).toBe('running.ready');
    // The disk fills: every further event fails to commit, as SQLITE_FULL would.
    h.db.exec("CREATE TEMP TRIGGER disk_full BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    const answers = await Promise.allSettled([
      h.runtime.send('alice/', { type: 'server.stop' }),
      h.runtime.send('bob/', { type: 'server.start' }), // a server the same batch would have created
      h.runtime.send('bob/', { type: 'server.stop' }), // and stepped again in that batch
    ]);
    for (const a of answers) expect(a.status === 'rejected' && a.reason instanceof RuntimeFailedError).toBe(true);
    expect(h.runtime.failed).toBeInstanceOf(RuntimeFailedError);
    expect(h.runtime.get('alice/')?.state).toBe('running.ready');
    expect(h.runtime.get('bob/')).toBeUndefined();
    expectMemoryIsDatabase();
  });

  it('on a database at its size limit (SQLITE_FULL), leaves every server in memory as the database has it', async () => {
    await h.runtime.send('seed/', { type: 'server.start' });
    await h.settle();
    const pages = h.db.pragma('page_count', { simple: true }) as number;
    h.db.pragma(`max_page_count = ${pages + 2}`);
    let failed: unknown;
    for (let i = 0; i < 5_000 && failed === undefined; i++) {
      await h.runtime.send(`user${i}/`, { type: 'server.start' }).catch((err: unknown) => (failed = err));
    }
    expect(failed).toBeInstanceOf(RuntimeFailedError);
    expect(String((failed as Error).cause)).toMatch(/full/i);
    expectMemoryIsDatabase();
  });
});
