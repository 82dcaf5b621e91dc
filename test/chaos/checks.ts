import { spawnSync } from 'node:child_process';
import BetterSqlite3 from 'better-sqlite3';
import { ownerKey } from '../../src/kube/pod-mapper.js';
import type { Simulator } from '../../src/sim/index.js';
import type { HubProcess } from './hub-process.js';
import type { LedgerEntry } from './workload.js';

const BIN = new URL('../../bin/spawnkeeper.mjs', import.meta.url).pathname;
const STABLE = new Set(['stopped', 'running', 'failed']);
const INSTANCE = 'hub';

export interface CheckReport {
  readonly problems: string[];
  readonly servers: number;
  readonly events: number;
  readonly settleMs: number;
  readonly maxPendingMs: number;
}

interface Row {
  key: string;
  state: string;
  sid: number;
}

function isReady(pod: ReturnType<Simulator['pods']>[number]): boolean {
  return (
    pod.metadata.deletionTimestamp === undefined &&
    pod.status?.phase === 'Running' &&
    (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

/** agreementProblems compares the database's servers with the simulator's pods of ours. */
function agreementProblems(rows: Row[], sim: Simulator, orphans: Set<string>): string[] {
  const problems: string[] = [];
  const pods = new Map<string, ReturnType<Simulator['pods']>[number]>();
  for (const p of sim.pods()) {
    const key = ownerKey(p, INSTANCE);
    if (key !== undefined) pods.set(key, p);
  }
  const known = new Set(rows.map((r) => r.key));
  for (const r of rows) {
    const top = r.state.split('.')[0] as string;
    if (!STABLE.has(top)) problems.push(`${r.key} is still ${r.state}`);
    const pod = pods.get(r.key);
    if (top === 'running' && (pod === undefined || !isReady(pod)))
      problems.push(`${r.key} is running but its pod is ${pod === undefined ? 'gone' : 'not ready'}`);
    if (top !== 'running' && pod !== undefined && !orphans.has(r.key))
      problems.push(`${r.key} is ${r.state} but a pod of it exists and is not handed to the sweeper`);
  }
  for (const key of pods.keys()) if (!known.has(key)) problems.push(`a pod of ours for ${key} has no server`);
  return problems;
}

function snapshotOf(db: string): { rows: Row[]; orphans: Set<string>; events: number } {
  const conn = new BetterSqlite3(db, { readonly: true, fileMustExist: true });
  try {
    const rows = conn.prepare('SELECT sid, key, state FROM servers').all() as Row[];
    const orphans = new Set(
      (conn.prepare('SELECT s.key FROM orphans o JOIN servers s ON s.sid = o.sid').all() as Array<{ key: string }>).map((o) => o.key),
    );
    const events = (conn.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
    return { rows, orphans, events };
  } finally {
    conn.close();
  }
}

/**
 * check waits up to `bound` for every server to be stable and agree with the cluster, then checks
 * the rest: no orphan left, every acknowledged request in the history, replay --check clean, the
 * hub healthy. It returns the problems it found, none when all holds.
 */
export async function check(o: {
  hub: HubProcess;
  sim: Simulator;
  token: string;
  db: string;
  ledger: readonly LedgerEntry[];
  bound: number;
  users: readonly string[];
}): Promise<CheckReport> {
  const began = Date.now();
  let problems: string[] = [];
  let snap = snapshotOf(o.db);
  for (;;) {
    snap = snapshotOf(o.db);
    problems = agreementProblems(snap.rows, o.sim, snap.orphans);
    if (snap.orphans.size > 0) problems.push(`orphan records left: ${[...snap.orphans].join(', ')}`);
    if (problems.length === 0 || Date.now() - began > o.bound) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const settleMs = Date.now() - began;
  const conn = new BetterSqlite3(o.db, { readonly: true, fileMustExist: true });
  let maxPendingMs = 0;
  try {
    const find = conn.prepare(
      'SELECT COUNT(*) AS n FROM events e JOIN servers s ON s.sid = e.sid WHERE s.key = ? AND e.type = ? AND e.ts BETWEEN ? AND ?',
    );
    // A stop of a server that never existed is acknowledged (204) with nothing to commit: it has no history before the answer.
    const stateAt = conn.prepare(
      'SELECT e.state_after AS a FROM events e JOIN servers s ON s.sid = e.sid WHERE s.key = ? AND e.ts <= ? ORDER BY e.seq DESC LIMIT 1',
    );
    for (const e of o.ledger) {
      if (e.status < 200 || e.status >= 300) continue;
      const type = e.op === 'start' ? 'server.start' : e.op === 'stop' || e.op === 'cull' ? 'server.stop' : undefined;
      if (type === undefined) continue;
      const n = (find.get(`${e.user}/`, type, e.sentAt - 1_000, e.doneAt + 1_000) as { n: number }).n;
      if (n > 0) continue;
      const before = (stateAt.get(`${e.user}/`, e.doneAt) as { a: string } | undefined)?.a;
      if (type === 'server.stop' && e.status === 204 && before === undefined) continue;
      problems.push(`acknowledged ${e.op} of ${e.user} (HTTP ${e.status}) is not in the history`);
    }
    // The longest time any server spent pending, from its transitions.
    const transitions = conn.prepare('SELECT sid, ts, state_before AS b, state_after AS a FROM events ORDER BY sid, seq').all() as Array<{
      sid: number;
      ts: number;
      b: string;
      a: string;
    }>;
    const enteredAt = new Map<number, number>();
    for (const t of transitions) {
      const pending = (s: string) => s.startsWith('spawn_pending') || s.startsWith('stop_pending');
      if (!pending(t.b) && pending(t.a)) enteredAt.set(t.sid, t.ts);
      if (pending(t.b) && !pending(t.a)) {
        const since = enteredAt.get(t.sid);
        if (since !== undefined) maxPendingMs = Math.max(maxPendingMs, t.ts - since);
        enteredAt.delete(t.sid);
      }
    }
  } finally {
    conn.close();
  }
  const health = await fetch(`${o.hub.url}/hub/health`).then(
    (r) => r.status,
    () => 0,
  );
  if (health !== 200) problems.push(`/hub/health answers ${health}`);
  const replay = spawnSync(process.execPath, [BIN, 'replay', '--check', '--db', o.db], { encoding: 'utf8' });
  if (replay.status !== 0) problems.push(`replay --check exited ${replay.status}: ${(replay.stdout + replay.stderr).slice(-500)}`);
  return { problems: problems.slice(0, 50), servers: snap.rows.length, events: snap.events, settleMs, maxPendingMs };
}
