import { readFileSync } from 'node:fs';
import type { CommandSpec, OptionSpec } from '../core/cli.js';
import { UsageError, parseCommand } from '../core/cli.js';
import { ConfigError, describeProblems, show, validate } from '../core/schema.js';
import { parseSpawnkeeperConfig } from '../spawnkeeper-config.js';
import type { SpawnkeeperConfigInput } from '../spawnkeeper-config.js';
import { ServiceConfigError, parseServices } from './auth/services.js';
import { ProfileError, parseProfiles } from './spawn-options.js';
import type { HubConfig, Setting } from './settings.js';
import { DEFAULT_HUB_CONFIG, SETTINGS, envName, flagName, hubSchema, settingSchema, snake } from './settings.js';

export { ConfigError };

/**
 * MIN_ADMIN_TOKEN_LENGTH: an operator-chosen admin token is stored as one unsalted SHA-256 digest
 * (looked up by it on every request), so it must carry its own strength: 32 characters at least.
 */
export const MIN_ADMIN_TOKEN_LENGTH = 32;

/** ParsedArgs are a command line split into settings flags, command-specific options and positionals. */
export interface ParsedArgs {
  readonly flags: Map<keyof HubConfig, string>;
  /** options: the command's own flags by their `--name`, a boolean one as `'true'`. */
  readonly options: Map<string, string>;
  readonly positionals: string[];
  readonly configPath: string | undefined;
  readonly help: boolean;
}

/** HubCommandSpec is a hub command: its own flags, and which settings it takes as flags (`--config` comes with any). */
export interface HubCommandSpec extends Omit<CommandSpec, 'options'> {
  readonly options?: Readonly<Record<string, OptionSpec>>;
  /** settings: `all` (serve), `db` (commands that only open the database: `--db` and `--config`), or none. */
  readonly settings: 'all' | 'db' | 'none';
}

function placeholder(s: Setting): string {
  if (s.type === 'port' || s.type === 'count') return 'N';
  if (s.type === 'seconds') return 'SECONDS';
  if (typeof s.type === 'object' && 'oneOf' in s.type) return s.type.oneOf.join('|');
  return s.key === 'db' ? 'PATH' : s.key === 'kubeconfig' ? 'FILE' : 'TEXT';
}

function settingOption(s: Setting): OptionSpec {
  const doc = `${s.doc}\n(${envName(s.key)}; default ${show(DEFAULT_HUB_CONFIG[s.key])})`;
  return s.type === 'boolean'
    ? { type: 'boolean', inline: true, value: 'true|false', doc }
    : { type: 'string', value: placeholder(s), doc };
}

const CONFIG_OPTION: OptionSpec = { type: 'string', value: 'FILE', doc: 'JSON config file, snake_case keys ($SPAWNKEEPER_CONFIG)' };

/** commandSpec is a hub command's whole spec: its flags, `--config` and the settings flags it takes. */
export function commandSpec(command: HubCommandSpec): CommandSpec {
  const settings = SETTINGS.filter(
    (s) => s.where === 'all' && (command.settings === 'all' || (command.settings === 'db' && s.key === 'db')),
  );
  const options: Record<string, OptionSpec> = { ...command.options };
  if (command.settings !== 'none') options['config'] = CONFIG_OPTION;
  for (const s of settings) options[flagName(s.key).slice(2)] = settingOption(s);
  return { ...command, options };
}

const SETTINGS_ONLY: HubCommandSpec = { usage: 'spawnkeeper serve [options]', summary: 'run the hub', settings: 'all' };

/**
 * parseArgs reads a hub command's line (node's parseArgs, strict): `--flag value`, `--flag=value`,
 * bare boolean flags (`--in-cluster`, `--in-cluster=false`). Anything unknown is an error, never ignored.
 */
export function parseArgs(argv: readonly string[], command: HubCommandSpec = SETTINGS_ONLY): ParsedArgs {
  let parsed;
  try {
    parsed = parseCommand(commandSpec(command), argv);
  } catch (err) {
    if (err instanceof UsageError) throw new ConfigError(err.message);
    throw err;
  }
  const flags = new Map<keyof HubConfig, string>();
  for (const s of SETTINGS) {
    const value = parsed.values[flagName(s.key).slice(2)];
    if (value !== undefined) flags.set(s.key, String(value));
  }
  const options = new Map<string, string>();
  for (const name of Object.keys(command.options ?? {})) {
    const value = parsed.values[name];
    if (value !== undefined) options.set(`--${name}`, String(value));
  }
  const config = parsed.values['config'];
  return {
    flags,
    options,
    positionals: parsed.positionals,
    configPath: typeof config === 'string' ? config : undefined,
    help: parsed.help,
  };
}

/** ConfigSources are where settings come from; tests pass their own environment and files. */
export interface ConfigSources {
  readonly args: ParsedArgs;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly readFile?: (path: string) => string;
}

/** resolveConfig merges defaults, the JSON file, the environment and flags, each winning over the one before, and checks the result. */
export function resolveConfig(sources: ConfigSources): HubConfig {
  const config: Record<string, unknown> = {};
  const path = sources.args.configPath ?? sources.env['SPAWNKEEPER_CONFIG'];
  if (path !== undefined && path !== '') Object.assign(config, readConfigFile(path, sources.readFile));
  for (const s of SETTINGS) {
    if (s.where === 'file') continue;
    const raw = sources.env[envName(s.key)];
    if (raw !== undefined && raw !== '') config[s.key] = convert(s, raw, envName(s.key));
  }
  for (const [key, raw] of sources.args.flags) {
    const s = SETTINGS.find((x) => x.key === key);
    if (s !== undefined) config[key] = convert(s, raw, flagName(key));
  }
  return checkHubConfig(config as Partial<HubConfig>);
}

const HUB_SCHEMA = hubSchema((key) => key);
const FILE_SCHEMA = hubSchema(snake);

/** engineConfig is what the hub gives createSpawnkeeper: its `spawnkeeper` section over the hub settings it overlaps. */
export function engineConfig(config: HubConfig): SpawnkeeperConfigInput {
  return {
    ...config.spawnkeeper,
    namespace: config.namespace,
    instance: config.instance,
    reflector: { unhealthyAfterMs: config.unhealthyAfter * 1000, ...config.spawnkeeper.reflector },
    lease: {
      durationMs: config.leaseDuration * 1000,
      renewDeadlineMs: config.leaseRenewDeadline * 1000,
      retryPeriodMs: config.leaseRetryPeriod * 1000,
      ...config.spawnkeeper.lease,
    },
    retention: {
      maxAgeMs: config.historyMaxAge * 1000,
      lifecycles: config.historyLifecycles,
      intervalMs: config.historyRetentionInterval * 1000,
      ...config.spawnkeeper.retention,
    },
  };
}

/**
 * checkHubConfig completes a hub configuration with the defaults and checks all of it, the engine's
 * part included, or throws a ConfigError naming each bad path. It reads and writes nothing.
 */
export function checkHubConfig(partial: Partial<HubConfig>): HubConfig {
  const hub = validate(HUB_SCHEMA, { ...DEFAULT_HUB_CONFIG, ...partial }) as unknown as HubConfig;
  if (hub.kubeconfig !== '' && hub.inCluster) throw new ConfigError('give either kubeconfig or in_cluster, not both');
  if (hub.adminToken !== '' && hub.adminToken.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new ConfigError(`${envName('adminToken')} must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters (try: openssl rand -hex 32)`);
  }
  try {
    parseServices(hub.services, hub.loadRoles, hub.adminToken);
    parseProfiles(hub.profiles);
  } catch (err) {
    if (err instanceof ServiceConfigError || err instanceof ProfileError) throw new ConfigError(err.message);
    throw err;
  }
  parseSpawnkeeperConfig(engineConfig(hub), { prefix: 'spawnkeeper' });
  return hub;
}

function readConfigFile(path: string, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): Record<string, unknown> {
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    throw new ConfigError(`cannot read the config file ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`the config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new ConfigError(`the config file ${path} must hold a JSON object`);
  const checked = validate(FILE_SCHEMA, data, { source: path }) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) if (checked[snake(s.key)] !== undefined) out[s.key] = checked[snake(s.key)];
  return out;
}

/**
 * convert reads a string from the environment or a flag as the setting's type (a number, or a word for
 * true or false) and checks it; the error names the variable or flag.
 */
function convert(s: Setting, raw: string, where: string): unknown {
  let value: unknown = raw;
  if (s.type === 'boolean') {
    if (['true', '1', 'yes'].includes(raw.toLowerCase())) value = true;
    if (['false', '0', 'no'].includes(raw.toLowerCase())) value = false;
  } else if ((s.type === 'port' || s.type === 'count' || s.type === 'seconds') && /^-?\d+(\.\d+)?$/.test(raw)) value = Number(raw);
  const result = settingSchema(s);
  try {
    return validate(result, value);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const problems = err.problems.map((p) => ({ path: p.path === '' ? where : `${where}.${p.path}`, message: p.message }));
    throw new ConfigError(describeProblems(problems), problems);
  }
}
