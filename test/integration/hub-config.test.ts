import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseArgs, resolveConfig } from '../../src/hub/config.js';
import { DEFAULT_HUB_CONFIG, SETTINGS, envName, flagName, snake } from '../../src/hub/settings.js';
import { BEGIN, END, HUB_DOC, withTables } from '../../src/hub/config-doc.js';

const file = (json: unknown) => () => JSON.stringify(json);

describe('hub configuration', () => {
  it('runs on loopback port 8081 with the embedded simulator and ./data/spawnkeeper.db by default', () => {
    const config = resolveConfig({ args: parseArgs([]), env: {} });
    expect(config).toEqual(DEFAULT_HUB_CONFIG);
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8081,
      db: './data/spawnkeeper.db',
      kubeconfig: '',
      inCluster: false,
      slowSpawnTimeout: 10,
      slowStopTimeout: 10,
    });
  });

  it('lets flags win over the environment, the environment over the file, the file over defaults', () => {
    const readFile = file({
      port: 1000,
      namespace: 'from-file',
      slow_spawn_timeout: 3,
      concurrent_spawn_limit: 7,
      spawnkeeper: { delays: { pollInterval: 200 } },
    });
    const env = { SPAWNKEEPER_PORT: '2000', SPAWNKEEPER_NAMESPACE: 'from-env' };
    const config = resolveConfig({ args: parseArgs(['--config', 'hub.json', '--port', '3000']), env, readFile });
    expect(config.port).toBe(3000);
    expect(config.namespace).toBe('from-env');
    expect(config.slowSpawnTimeout).toBe(3);
    expect(config.concurrentSpawnLimit).toBe(7);
    expect(config.spawnkeeper).toEqual({ delays: { pollInterval: 200 } });
    expect(config.activeServerLimit).toBe(DEFAULT_HUB_CONFIG.activeServerLimit);
  });

  it('reads the config file named by SPAWNKEEPER_CONFIG, booleans from words, and flags in both spellings', () => {
    const config = resolveConfig({
      args: parseArgs(['--in-cluster', '--namespace=ns1', '--allow-named-servers=false']),
      env: { SPAWNKEEPER_CONFIG: 'x.json', SPAWNKEEPER_AUTHENTICATE_PROMETHEUS: 'no' },
      readFile: file({ log_format: 'json' }),
    });
    expect(config).toMatchObject({
      inCluster: true,
      namespace: 'ns1',
      allowNamedServers: false,
      authenticatePrometheus: false,
      logFormat: 'json',
    });
  });

  it('refuses bad values with a ConfigError that names the source', () => {
    const bad: Array<[() => unknown, RegExp]> = [
      [() => resolveConfig({ args: parseArgs(['--port']), env: {} }), /--port needs a value/],
      [
        () => resolveConfig({ args: parseArgs(['--log-level', 'loud']), env: {} }),
        /--log-level: expected one of fatal, error, .*, got "loud"/,
      ],
      [
        () => resolveConfig({ args: parseArgs([]), env: { SPAWNKEEPER_IN_CLUSTER: 'maybe' } }),
        /SPAWNKEEPER_IN_CLUSTER: expected true or false, got "maybe"/,
      ],
      [() => resolveConfig({ args: parseArgs([]), env: { SPAWNKEEPER_ADMIN_TOKEN: 'short' } }), /at least 32 characters/],
      [() => resolveConfig({ args: parseArgs(['--config', 'c']), env: {}, readFile: () => '{oops' }), /not valid JSON/],
      [() => resolveConfig({ args: parseArgs(['--config', 'c']), env: {}, readFile: file([1]) }), /must hold a JSON object/],
      [
        () => resolveConfig({ args: parseArgs(['--config', 'c']), env: {}, readFile: file({ sim: 3 }) }),
        /^sim: expected an object, got 3 \(in c\)$/,
      ],
      [
        () => resolveConfig({ args: parseArgs(['--config', 'c']), env: {}, readFile: file({ slow_stop_timeout: -1 }) }),
        /^slow_stop_timeout: expected seconds from 0 to \d+, got -1 \(in c\)$/,
      ],
      [() => resolveConfig({ args: parseArgs(['--admin-token', 'x']), env: {} }), /unknown option --admin-token/],
    ];
    for (const [fn, message] of bad) {
      expect(fn).toThrow(ConfigError);
      expect(fn).toThrow(message);
    }
  });

  it('derives every file key, variable and flag from one table', () => {
    const names = SETTINGS.map((s) => [snake(s.key), envName(s.key), flagName(s.key)]);
    expect(names).toContainEqual(['slow_spawn_timeout', 'SPAWNKEEPER_SLOW_SPAWN_TIMEOUT', '--slow-spawn-timeout']);
    expect(new Set(names.map((n) => n[0])).size).toBe(SETTINGS.length);
    expect(Object.keys(DEFAULT_HUB_CONFIG).sort()).toEqual(SETTINGS.map((s) => s.key).sort());
  });

  it("keeps docs/hub.md's configuration tables exactly as the schema generates them, and shows examples/embed.ts there as it is", () => {
    const docs = readFileSync(HUB_DOC, 'utf8');
    // On a difference: `npm run docs:config` rewrites the tables from the schema.
    const tables = (text: string) => text.slice(text.indexOf(BEGIN), text.indexOf(END) + END.length);
    expect(tables(docs)).toBe(tables(withTables(docs)));
    for (const s of SETTINGS) {
      expect(docs).toContain(`| \`${snake(s.key)}\` |`);
      if (s.where !== 'file') expect(docs).toContain(envName(s.key));
    }
    expect(docs).toContain('| `spawnkeeper.reflector.resyncMs` | milliseconds from 1 to 2147483647 | `60000` |');
    const example = readFileSync(new URL('../../examples/embed.ts', import.meta.url), 'utf8');
    const code = example.slice(example.indexOf('import '));
    expect(docs).toContain(code.trim());
  });
});
