import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger } from '../../src/hub/log.js';
import type { HubConfig } from '../../src/hub/settings.js';
import type { RunningHub } from '../../src/hub/serve.js';
import { startHub } from '../../src/hub/serve.js';
import { tempDir } from '../support/harness.js';
import { internals } from '../../src/spawnkeeper.js';

export const ADMIN = 'test-admin-token-0123456789abcdef0123';

/** FAST_KUBELET makes the simulated pods schedule, start and stop in a few milliseconds. */
export const FAST_KUBELET = { scheduleMs: 5, createMs: 5, readyMs: 5, stopMs: 5, backoffMs: 20 };

/** TEST_ENGINE keeps the machine's ordering of delays, shortened so a whole flow takes well under a second. */
export const TEST_ENGINE: HubConfig['spawnkeeper'] = {
  durability: 'normal',
  delays: {
    pollInterval: 200,
    requestTimeout: 2_000,
    startTimeout: 20_000,
    stopTimeout: 15_000,
    stopRetryInterval: 5_000,
    failFastGrace: 300,
    retryBackoff: 100,
    retryBackoffMax: 1_000,
  },
  reflector: { resyncMs: 5_000 },
};

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: unknown;
}

export interface TestHub {
  readonly url: string;
  readonly running: RunningHub;
  readonly dir: string;
  /** logs: every JSON line the hub logged, to assert on what it wrote. */
  readonly logs: string[];
  call(
    method: string,
    path: string,
    options?: { token?: string | null; body?: unknown; raw?: string | Buffer; headers?: Record<string, string> },
  ): Promise<Reply>;
  close(): Promise<void>;
}

/** sinkLogger is the hub's real logger writing into memory (pino's own tests do the same), so tests can read it. */
export function sinkLogger(lines: string[]): Logger {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((l) => l !== ''),
      );
      done();
    },
  });
  return createLogger({ level: 'debug', destination: sink });
}

/** startTestHub runs a real hub over a temp SQLite file and the real simulator with tiny delays. */
export async function startTestHub(overrides: Partial<HubConfig> = {}): Promise<TestHub> {
  const tmp = tempDir('spawnkeeper-hub-');
  const logs: string[] = [];
  const running = await startHub(
    {
      db: `${tmp.dir}/hub.db`,
      port: 0,
      adminToken: ADMIN,
      sim: { seed: 7, kubelet: FAST_KUBELET },
      spawnkeeper: TEST_ENGINE,
      slowSpawnTimeout: 5,
      slowStopTimeout: 5,
      progressKeepalive: 0.05,
      ...overrides,
    },
    { logger: sinkLogger(logs) },
  );
  await internals(running.sk).reflector.synced();
  await waitFor('the lease', () => (running.sk.health().lease.acting ? true : undefined));
  const call: TestHub['call'] = async (method, path, options = {}) => {
    const token = options.token === undefined ? ADMIN : options.token;
    const headers: Record<string, string> = { ...(token === null ? {} : { Authorization: `token ${token}` }), ...options.headers };
    const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const res = await fetch(`${running.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  };
  let closed: Promise<void> | undefined;
  return {
    url: running.url,
    running,
    dir: tmp.dir,
    logs,
    call,
    close: () =>
      (closed ??= (async () => {
        await running.close();
        tmp.cleanup();
      })()),
  };
}

/** waitFor polls `probe` until it returns something other than undefined, or fails after `ms`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** readEvents reads a server-sent-event stream to its end and returns the JSON of each `data:` frame. */
export async function readEvents(res: Response): Promise<{ frames: Array<Record<string, unknown>>; raw: string }> {
  const raw = await res.text();
  const frames = raw
    .split('\n\n')
    .map((block) => block.split('\n').find((l) => l.startsWith('data: ')))
    .filter((l): l is string => l !== undefined)
    .map((l) => JSON.parse(l.slice(6)) as Record<string, unknown>);
  return { frames, raw };
}
