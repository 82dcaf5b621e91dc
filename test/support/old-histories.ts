import { readFileSync } from 'node:fs';
import { openDatabase } from '../../src/store/database.js';

/** RecordedHistory is a history an earlier machine version recorded (test/fixtures/histories-vN/). */
export interface RecordedHistory {
  machineVersion: number;
  finalState: string;
  events: Array<{ type: string }>;
  expected: unknown;
}

/** recorded reads the history `name` recorded by machine version `version`. */
export function recorded(version: number, name: string): RecordedHistory {
  return JSON.parse(readFileSync(new URL(`../fixtures/histories-v${version}/${name}.json`, import.meta.url), 'utf8')) as RecordedHistory;
}

/** writeOld makes a database holding one server as an older spawnkeeper left it (its log and snapshot, stamped `version`). */
export function writeOld(path: string, key: string, history: RecordedHistory, version = history.machineVersion): void {
  const db = openDatabase(path, { now: 1_700_000_000_000, durability: 'normal' });
  const sid = Number(
    db
      .prepare('INSERT INTO servers (key, snapshot, state, seq, since, machine_version, created_at) VALUES (?, ?, ?, ?, 0, ?, 0)')
      .run(key, JSON.stringify(history.expected), history.finalState, history.events.length, version).lastInsertRowid,
  );
  const insert = db.prepare("INSERT INTO events (sid, seq, ts, type, payload, state_before, state_after) VALUES (?, ?, 0, ?, ?, '', '')");
  history.events.forEach((e, i) => insert.run(sid, i + 1, e.type, JSON.stringify(e)));
  db.close();
}
