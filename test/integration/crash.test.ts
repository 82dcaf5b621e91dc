import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { MACHINE_VERSION, configureServerMachine } from '../../machines/server.machine.js';
import { checkReplay } from '../../src/runtime/replay.js';
import { openDatabase } from '../../src/store/database.js';
import { SqliteEventStore } from '../../src/store/event-store.js';
import { CRASH_DELAYS, tempDir } from '../support/harness.js';

const KILLS = Number(process.env['CRASH_KILLS'] ?? 24);
const CHILD = new URL('../support/crash-child.ts', import.meta.url).pathname;

interface Ack {
  key: string;
  seq: number;
  type: string;
}

/** runUntilKilled starts the child, lets it acknowledge for a while, then SIGKILLs it. */
function runUntilKilled(db: string, seed: number, afterAcks: number): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, db, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acks: Ack[] = [];
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [word, key, seq, type] = line.split(' ');
      if (word !== 'ack' || key === undefined || type === undefined) return;
      acks.push({ key, seq: Number(seq), type });
      if (acks.length === afterAcks) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acks);
      else reject(new Error(`child exited ${code} before it was killed: ${stderr}`));
    });
  });
}

describe('crash safety', () => {
  it(`loses no acknowledged event and replays every server exactly across ${KILLS} SIGKILLs`, async () => {
    const tmp = tempDir();
    const path = `${tmp.dir}/crash.db`;
    const machine = configureServerMachine(CRASH_DELAYS);
    const all: Ack[] = [];
    try {
      for (let kill = 0; kill < KILLS; kill++) {
        const acks = await runUntilKilled(path, kill + 1, 50 + ((kill * 37) % 400));
        all.push(...acks);
        const db = openDatabase(path);
        try {
          const store = new SqliteEventStore(db, { machineVersion: MACHINE_VERSION });
          const find = db.prepare('SELECT e.type FROM events e JOIN servers s ON s.sid = e.sid WHERE s.key = ? AND e.seq = ?');
          const missing = all.filter((a) => (find.get(a.key, a.seq) as { type: string } | undefined)?.type !== a.type);
          expect(missing, `after kill ${kill + 1}`).toEqual([]);
          for (const row of store.loadServers()) {
            expect(checkReplay(machine, store, row.key, row.snapshot).ok, `${row.key} replays after kill ${kill + 1}`).toBe(true);
          }
        } finally {
          db.close();
        }
      }
      console.log(`crash: ${KILLS} SIGKILLs, ${all.length} acknowledged commands, all in the log`);
      expect(all.length).toBeGreaterThan(KILLS * 50);
    } finally {
      tmp.cleanup();
    }
  }, 300_000);
});
