import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MACHINE_VERSION } from '../../machines/server.machine.js';
import { MachineVersionError } from '../../machines/upgrades.js';
import { replayCommand } from '../../src/hub/cli/db.js';
import type { CliIo } from '../../src/hub/cli/io.js';
import { UPGRADED, checkReplay } from '../../src/runtime/replay.js';
import { Harness, tempDir } from '../support/harness.js';
import { recorded, writeOld } from '../support/old-histories.js';

/**
 * A history written by another MACHINE_VERSION is never replayed on this machine as if it were its
 * own: it is carried over by a registered upgrade (recorded as a checkpoint replay starts from), or
 * the start is refused with both versions named and nothing written.
 */

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

const v1 = (name: string) => recorded(1, name);

function rows(path: string): unknown[] {
  const db = new Database(path, { readonly: true });
  try {
    return [db.prepare('SELECT * FROM servers').all(), db.prepare('SELECT * FROM events').all()];
  } finally {
    db.close();
  }
}

describe('machine versions', () => {
  it.each([1, 2])(
    'upgrades a running server written by machine version %i, records the checkpoint, replays from it and goes on',
    async (version) => {
      const path = `${tmp.dir}/v${version}.db`;
      const fixture = recorded(version, 'start-during-stop');
      expect(fixture.machineVersion).toBe(version);
      expect(fixture.finalState.split('.')[0]).toBe('running');
      writeOld(path, 'ann/', fixture);
      const h = new Harness(path);
      try {
        expect(h.runtime.get('ann/')?.state).toBe('running.ready');
        const events = h.store.events('ann/');
        expect(events.at(-1)?.type).toBe(UPGRADED);
        const stored = h.db.prepare('SELECT snapshot, machine_version AS v FROM servers').get() as { snapshot: string; v: number };
        expect(stored.v).toBe(MACHINE_VERSION);
        const check = checkReplay(h.machine, h.store, 'ann/', stored.snapshot);
        expect(check.ok).toBe(true);
        expect(check.startedAt).toEqual({ seq: fixture.events.length + 1, from: version });
        await h.runtime.send('ann/', { type: 'server.stop' });
        await h.advance(20_000);
        expect(h.runtime.get('ann/')?.state).toBe('stopped');
      } finally {
        h.close();
      }
    },
  );

  it('refuses a snapshot of an unknown machine version at start, naming both versions, and writes nothing', () => {
    const path = `${tmp.dir}/v99.db`;
    writeOld(path, 'bob/', v1('start-ready-stop'), 99);
    const before = rows(path);
    let error: unknown;
    try {
      new Harness(path).close();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MachineVersionError);
    expect((error as Error).message).toContain('machine version 99');
    expect((error as Error).message).toContain(`this spawnkeeper's ${MACHINE_VERSION}`);
    expect(rows(path)).toEqual(before);
  });

  it('replay --check reports a server of another machine version instead of replaying it on this machine', () => {
    const path = `${tmp.dir}/cli.db`;
    writeOld(path, 'cy/', v1('vanished-while-running'));
    const out: string[] = [];
    const io: CliIo = { out: (l) => out.push(l), err: (l) => out.push(l), env: {} };
    const code = replayCommand(['--check', '--db', path], io);
    expect(code).toBe(0);
    expect(out.join('\n')).toContain(`OLD cy/: written by machine version 1; the next start upgrades it to ${MACHINE_VERSION}`);
  });
});
