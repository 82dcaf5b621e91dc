import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/hub/cli/cli.js';
import { tempDir } from '../support/harness.js';
import { FAST_KUBELET, TEST_ENGINE } from './hub-helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/spawnkeeper.mjs`;
const TOKEN = 'cli-admin-token-abcdef0123456789abcdef';

interface Child {
  readonly proc: ChildProcess;
  readonly out: () => string;
  readonly err: () => string;
  readonly exited: Promise<number | string | null>;
  line(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
}

function start(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Child {
  const proc = spawn(process.execPath, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, SPAWNKEEPER_LOG_FORMAT: 'json', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  proc.stderr?.on('data', (c: Buffer) => (err += c.toString('utf8')));
  // A process ended by a signal exits with its name, so a failure says which (SIGTERM unhandled, SIGSEGV …).
  // 'close', not 'exit': only then has all of its stdout and stderr been read, so what a test asserts has arrived.
  const exited = new Promise<number | string | null>((resolve) => proc.once('close', (code, signal) => resolve(code ?? signal)));
  return {
    proc,
    out: () => out,
    err: () => err,
    exited,
    line: async (pattern, ms = 20_000) => {
      const until = Date.now() + ms;
      for (;;) {
        const m = out.match(pattern);
        if (m !== null) return m;
        if (Date.now() > until || proc.exitCode !== null) throw new Error(`no line ${pattern} in:\n${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

/** inProcess runs a command through the CLI's own entry with a captured terminal: no process start-up cost. */
async function inProcess(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (l) => (out += `${l}\n`), err: (l) => (err += `${l}\n`), env });
  return { code, out, err };
}

async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | string | null; out: string; err: string }> {
  const child = start([BIN, ...args], { env });
  const code = await child.exited;
  return { code, out: child.out(), err: child.err() };
}

describe('spawnkeeper CLI', () => {
  let tmp: ReturnType<typeof tempDir>;
  let configFile: string;
  beforeAll(() => {
    tmp = tempDir('spawnkeeper-cli-');
    configFile = `${tmp.dir}/hub.json`;
    writeFileSync(configFile, JSON.stringify({ sim: { kubelet: FAST_KUBELET }, spawnkeeper: TEST_ENGINE, log_level: 'warn' }));
  });
  afterAll(() => tmp.cleanup());

  it('serves the API within seconds as `npm start` does, with the default database path, and exits cleanly on SIGTERM', async () => {
    const child = start([BIN], {
      cwd: tmp.dir,
      env: { SPAWNKEEPER_PORT: '0', SPAWNKEEPER_CONFIG: configFile },
    });
    try {
      const [, url] = await child.line(/JupyterHub REST API at (http:\/\/127\.0\.0\.1:\d+)\/hub\/api/);
      // stdout is a pipe here, as under a log collector: the generated token goes to a private file, never to stdout.
      const [, file] = await child.line(/admin token: generated, written to (\S+) \(mode 0600\)/);
      await child.line(/^ {2}try: {6}curl /m); // the banner's last line: what it must not say would have come by now
      const token = readFileSync(`${tmp.dir}/${file}`, 'utf8').trim();
      expect(token).toMatch(/^[0-9a-f]{64}$/);
      expect(statSync(`${tmp.dir}/${file}`).mode & 0o777).toBe(0o600);
      expect(child.out() + child.err()).not.toContain(token);
      const res = await fetch(`${url}/hub/api/users`, { headers: { Authorization: `token ${token}` } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual([]);
      expect(existsSync(`${tmp.dir}/data/spawnkeeper.db`)).toBe(true);
      child.proc.kill('SIGTERM');
      expect(await child.exited).toBe(0);
      expect(child.out() + child.err()).not.toContain(token); // nor anything after it, to the end
    } finally {
      child.proc.kill('SIGKILL');
    }
  });

  it('runs flows on `serve`, reports them with `status`, and keeps servers across a restart, settling one whose pod the restart lost', async () => {
    const db = `${tmp.dir}/flows.db`;
    const env = { SPAWNKEEPER_ADMIN_TOKEN: TOKEN, SPAWNKEEPER_CONFIG: configFile };
    const serve = (): Child => start([BIN, 'serve', '--port', '0', '--db', db], { env });
    let child = serve();
    try {
      const [, url] = await child.line(/JupyterHub REST API at (http:\/\/127\.0\.0\.1:\d+)/);
      await child.line(/admin token: the value of SPAWNKEEPER_ADMIN_TOKEN/); // waited for, not assumed to have arrived with the URL
      await child.line(/^ {2}try: {6}curl /m); // the whole banner, before asserting what it does not say
      expect(child.out()).not.toContain(TOKEN);
      const call = (method: string, path: string) =>
        fetch(`${url}/hub/api${path}`, { method, headers: { Authorization: `token ${TOKEN}` } });
      expect((await call('POST', '/users/cli')).status).toBe(201);
      expect((await call('POST', '/users/cli/server')).status).toBe(201);
      expect((await call('DELETE', '/users/cli/server')).status).toBe(204);
      expect((await call('POST', '/users/cli/servers/kept')).status).toBe(201);
      const status = await inProcess(['status', '--url', url ?? '', '--token', TOKEN]);
      expect(status.code).toBe(0);
      expect(status.out).toMatch(/hub http:\/\/127\.0\.0\.1:\d+: ok/);
      expect(status.out).toMatch(/cli\s+kept\s+running.ready\s+yes/);
      child.proc.kill('SIGTERM');
      expect(await child.exited).toBe(0);
      child = serve();
      const [, url2] = await child.line(/JupyterHub REST API at (http:\/\/127\.0\.0\.1:\d+)/);
      // The record of the named server survives the restart; its pod did not (the embedded cluster
      // starts empty), so the hub finds that out and settles it stopped instead of claiming it runs.
      const read = async () =>
        (await (
          await fetch(`${url2}/hub/api/users/cli?include_stopped_servers=1`, { headers: { Authorization: `token ${TOKEN}` } })
        ).json()) as {
          servers: Record<string, { ready: boolean; pending: string | null; spawnkeeper?: { detail: string; reason: string | null } }>;
        };
      let user = await read();
      for (let i = 0; i < 150 && user.servers['kept']?.spawnkeeper?.detail !== 'stopped'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        user = await read();
      }
      expect(Object.keys(user.servers).sort()).toEqual(['', 'kept']);
      expect(user.servers['kept']).toMatchObject({
        ready: false,
        pending: null,
        spawnkeeper: { detail: 'stopped', reason: 'pod vanished while running' },
      });
      child.proc.kill('SIGINT');
      expect(await child.exited).toBe(0);
    } finally {
      child.proc.kill('SIGKILL');
    }

    const history = await inProcess(['history', 'cli', '--db', db]);
    expect(history.code).toBe(0);
    expect(history.out).toMatch(/server\.start\s+stopped → spawn_pending/);
    expect(history.out).toMatch(/server\.stop\s+running\.ready → stop_pending/);
    const named = await inProcess(['history', 'cli/kept', '--db', db, '--json']);
    expect(named.code).toBe(0);
    expect((JSON.parse(named.out) as Array<{ type: string }>)[0]?.type).toBe('server.start');
    expect((await inProcess(['history', 'nobody', '--db', db])).code).toBe(1);

    const replay = await run(['replay', '--check', '--db', db]);
    expect(replay.code).toBe(0);
    expect(replay.out).toMatch(/2 servers replayed, 0 differ/);
    const sqlite = new BetterSqlite3(db);
    sqlite
      .prepare("UPDATE servers SET snapshot = replace(snapshot, '\"startQueued\":false', '\"startQueued\":true') WHERE key = 'cli/'")
      .run();
    const damaged = await inProcess(['replay', '--check', '--db', db]);
    expect(damaged.code).toBe(1); // the row checksum no longer matches: refused as damaged
    expect(damaged.err).toMatch(/damaged/);
    // A row without a checksum (written before migration 003) is trusted; replay still finds the difference.
    sqlite.prepare("UPDATE servers SET crc = NULL WHERE key = 'cli/'").run();
    sqlite.close();
    const tampered = await inProcess(['replay', '--check', '--db', db]);
    expect(tampered.code).toBe(1);
    expect(tampered.out).toContain('DIFF cli/');

    const minted = await inProcess(['token', 'cli', '--scopes', 'read:users!user', '--db', db]);
    expect(minted.code).toBe(0);
    expect(minted.out.trim()).toMatch(/^[0-9a-f]{64}$/);
  });

  it('lists every token with `token list`, revokes one by id with `token revoke`, and mints expiring admin tokens', async () => {
    const db = `${tmp.dir}/tokens.db`;
    const env = { SPAWNKEEPER_ADMIN_TOKEN: TOKEN, SPAWNKEEPER_CONFIG: configFile };
    const child = start([BIN, 'serve', '--port', '0', '--db', db], { env });
    try {
      await child.line(/JupyterHub REST API at/);
      child.proc.kill('SIGTERM');
      expect(await child.exited).toBe(0);
    } finally {
      child.proc.kill('SIGKILL');
    }
    const admin = await inProcess(['token', '--admin', '--expires-in', '3600', '--note', 'for a script', '--db', db]);
    expect(admin.code).toBe(0);
    const secret = admin.out.trim();
    const listed = await inProcess(['token', 'list', '--json', '--db', db]);
    expect(listed.code).toBe(0);
    expect(listed.out).not.toContain(secret);
    const tokens = JSON.parse(listed.out) as Array<{
      id: string;
      user: string | null;
      source: string;
      note: string;
      expiresAt: string | null;
    }>;
    expect(tokens.map((t) => [t.user, t.source])).toEqual([
      [null, 'env'],
      [null, 'api'],
    ]);
    const minted = tokens.find((t) => t.note === 'for a script');
    expect(Date.parse(minted?.expiresAt ?? '') - Date.now()).toBeGreaterThan(3_500_000);
    expect((await inProcess(['token', 'list', '--db', db])).out).toMatch(/^a\d+\t\(admin\)\tenv\t/m);
    expect((await inProcess(['token', 'revoke', minted?.id ?? '', '--db', db])).out.trim()).toBe(`revoked ${minted?.id ?? ''}`);
    expect((await inProcess(['token', 'revoke', minted?.id ?? '', '--db', db])).code).toBe(1);
    expect(JSON.parse((await inProcess(['token', 'list', '--json', '--db', db])).out)).toHaveLength(1);
    for (const bad of [
      ['--expires-in', '0'],
      ['--expires-in', '1.5'],
      ['--expires-in', 'soon'],
    ]) {
      const r = await inProcess(['token', '--admin', ...bad, '--db', db]);
      expect(`${bad.join(' ')} ${r.code}`).toBe(`${bad.join(' ')} 2`);
    }
    expect((await inProcess(['token', 'revoke', 'x1', '--db', db])).code).toBe(2);
  });

  it('exits 2 with a clear message on bad configuration', async () => {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['serve', '--port', 'abc'], {}, /--port: expected a port from 0 to 65535, got "abc"/],
      [['serve', '--port', '70000'], {}, /--port: expected a port from 0 to 65535, got 70000/],
      [['serve', '--no-such-flag'], {}, /unknown option --no-such-flag/],
      [['serve'], { SPAWNKEEPER_SLOW_SPAWN_TIMEOUT: 'soon' }, /SPAWNKEEPER_SLOW_SPAWN_TIMEOUT: expected seconds from 0 to \d+, got "soon"/],
      [['serve', '--config', `${tmp.dir}/missing.json`], {}, /cannot read the config file/],
      [['serve', '--kubeconfig', 'k', '--in-cluster'], {}, /either kubeconfig or in_cluster/],
      [['replay'], {}, /replay needs --check/],
      [['history'], {}, /give one USER or USER\/SERVER/],
      [['history', 'bad name'], {}, /invalid user name/],
      [['frobnicate'], {}, /unknown command frobnicate/],
      [['status', '--bogus'], {}, /^spawnkeeper status: unknown option --bogus$/m],
      [['history', 'alice', '--port', '1'], {}, /^spawnkeeper history: unknown option --port$/m],
      [['token', '--admin=yes'], {}, /^spawnkeeper token: --admin takes no value$/m],
      [['export-machine', '--format'], {}, /^spawnkeeper export-machine: --format needs a value$/m],
      [['sim', '--verbose'], {}, /^spawnkeeper sim: unknown option --verbose$/m],
    ];
    writeFileSync(`${tmp.dir}/bad.json`, '{"port": "eighty"}');
    cases.push([
      ['serve', '--config', `${tmp.dir}/bad.json`],
      {},
      /^spawnkeeper serve: port: expected a port from 0 to 65535, got "eighty" \(in .*bad\.json\)$/m,
    ]);
    writeFileSync(`${tmp.dir}/unknown.json`, '{"prot": 80}');
    cases.push([['serve', '--config', `${tmp.dir}/unknown.json`], {}, /^spawnkeeper serve: prot: unknown key \(known: host, port, /m]);
    for (const [args, env, message] of cases) {
      const r = await inProcess(args, env);
      expect(`${args.join(' ')}: ${r.code}`).toBe(`${args.join(' ')}: 2`);
      expect(r.err).toMatch(message);
    }
    // The same through a real process, for its exit code.
    const child = await run(['serve', '--port', 'abc']);
    expect(child.code).toBe(2);
    expect(child.err).toContain('--port: expected a port from 0 to 65535, got "abc"');
  });

  it('prints help for every command', async () => {
    for (const command of ['serve', 'sim', 'status', 'history', 'replay', 'export', 'token', 'export-machine']) {
      const r = await inProcess([command, '--help']);
      expect(`${command} ${r.code}`).toBe(`${command} 0`);
      // One style for every command: the usage line, what it does, then its flags, --help among them.
      expect(r.out).toMatch(new RegExp(`^usage: spawnkeeper ${command} `));
      expect(r.out).toMatch(/\n\noptions:\n( {2}-{1,2}\S.*\n)+/);
      expect(r.out).toContain('  -h, --help');
    }
    expect((await inProcess(['serve', '-h'])).out).toContain('--slow-spawn-timeout SECONDS');
    const top = await run(['--help']);
    expect(top.code).toBe(0);
    expect(top.out).toContain('serve     run the hub');
  });
});
