import { readFileSync } from 'node:fs';
import { ServiceConfigError, parseServices } from './auth/services.js';
import { ProfileError, parseProfiles } from './spawn-options.js';
import type { HubConfig, Setting, SettingType } from './settings.js';
import { DEFAULT_HUB_CONFIG, SETTINGS, envName, flagName, snake } from './settings.js';

/**
 * MIN_ADMIN_TOKEN_LENGTH: an operator-chosen admin token is stored as one unsalted SHA-256 digest
 * (looked up by it on every request), so it must carry its own strength: 32 characters at least.
 */
export const MIN_ADMIN_TOKEN_LENGTH = 32;

/** ConfigError is a bad setting from any source; the CLI prints it and exits with code 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** ParsedArgs are a command line split into settings flags, command-specific options and positionals. */
export interface ParsedArgs {
  readonly flags: Map<keyof HubConfig, string>;
  readonly options: Map<string, string>;
  readonly positionals: string[];
  readonly configPath: string | undefined;
  readonly help: boolean;
}

const BY_FLAG = new Map(SETTINGS.filter((s) => s.where === 'all').map((s) => [flagName(s.key), s]));

/**
 * parseArgs reads `--flag value`, `--flag=value` and bare boolean flags; `extra` names the options
 * a command adds (true: takes a value). Anything unknown is an error, never silently ignored.
 */
export function parseArgs(argv: readonly string[], extra: Readonly<Record<string, boolean>> = {}): ParsedArgs {
  const flags = new Map<keyof HubConfig, string>();
  const options = new Map<string, string>();
  const positionals: string[] = [];
  let configPath: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const takeValue = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new ConfigError(`${name} needs a value`);
      i++;
      return next;
    };
    if (name === '--help' || name === '-h') help = true;
    else if (name === '--config') configPath = takeValue();
    else if (name in extra) options.set(name, extra[name] === true ? takeValue() : (inline ?? 'true'));
    else {
      const setting = BY_FLAG.get(name);
      if (setting === undefined) throw new ConfigError(`unknown option ${name}`);
      flags.set(setting.key, setting.type === 'boolean' ? (inline ?? 'true') : takeValue());
    }
  }
  return { flags, options, positionals, configPath, help };
}

/** ConfigSources are where settings come from; tests pass their own environment and files. */
export interface ConfigSources {
  readonly args: ParsedArgs;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly readFile?: (path: string) => string;
}

/** resolveConfig merges defaults, the JSON file, the environment and flags, each winning over the one before. */
export function resolveConfig(sources: ConfigSources): HubConfig {
  const config: Record<string, unknown> = { ...DEFAULT_HUB_CONFIG };
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
  const hub = config as unknown as HubConfig;
  if (hub.kubeconfig !== '' && hub.inCluster) throw new ConfigError('give either kubeconfig or in_cluster, not both');
  if (hub.apiPageDefaultLimit < 1 || hub.apiPageMaxLimit < 1)
    throw new ConfigError('api_page_default_limit and api_page_max_limit must be at least 1');
  if (hub.adminToken !== '' && hub.adminToken.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new ConfigError(`${envName('adminToken')} must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters (try: openssl rand -hex 32)`);
  }
  if (hub.requestTimeout < 1) throw new ConfigError('request_timeout must be at least 1 second');
  try {
    parseServices(hub.services, hub.loadRoles, hub.adminToken);
    parseProfiles(hub.profiles);
  } catch (err) {
    if (err instanceof ServiceConfigError || err instanceof ProfileError) throw new ConfigError(err.message);
    throw err;
  }
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
  const out: Record<string, unknown> = {};
  for (const [fileKey, value] of Object.entries(data as Record<string, unknown>)) {
    const s = SETTINGS.find((x) => snake(x.key) === fileKey);
    if (s === undefined) throw new ConfigError(`unknown setting "${fileKey}" in ${path}`);
    out[s.key] = check(s, value, `"${fileKey}" in ${path}`);
  }
  return out;
}

/** convert parses a string from the environment or a flag into the setting's type. */
function convert(s: Setting, raw: string, where: string): unknown {
  if (s.type === 'boolean') {
    if (['true', '1', 'yes'].includes(raw.toLowerCase())) return true;
    if (['false', '0', 'no'].includes(raw.toLowerCase())) return false;
    throw new ConfigError(`${where} must be true or false, got "${raw}"`);
  }
  if (s.type === 'port' || s.type === 'count' || s.type === 'seconds') {
    if (!/^\d+(\.\d+)?$/.test(raw)) throw new ConfigError(`${where} must be a non-negative number, got "${raw}"`);
    return check(s, Number(raw), where);
  }
  return check(s, raw, where);
}

/** check validates a typed value (from the JSON file, or converted) against the setting. */
function check(s: Setting, value: unknown, where: string): unknown {
  const t: SettingType = s.type;
  const fail = (what: string): never => {
    throw new ConfigError(`${where} must be ${what}, got ${JSON.stringify(value)?.slice(0, 80) ?? String(value)}`);
  };
  if (t === 'string') return typeof value === 'string' ? value : fail('a string');
  if (t === 'boolean') return typeof value === 'boolean' ? value : fail('true or false');
  if (t === 'object') return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : fail('an object');
  if (t === 'list') return Array.isArray(value) ? value : fail('a list');
  if (t === 'port')
    return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535 ? value : fail('a port from 0 to 65535');
  if (t === 'count') return Number.isSafeInteger(value) && (value as number) >= 0 ? value : fail('a non-negative integer');
  if (t === 'seconds')
    return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 86_400 * 365 ? value : fail('a number of seconds');
  return typeof value === 'string' && t.oneOf.includes(value) ? value : fail(`one of ${t.oneOf.join(', ')}`);
}

/** configHelp is the settings part of `serve --help`, generated from the table. */
export function configHelp(): string {
  return SETTINGS.filter((s) => s.where !== 'file')
    .map((s) => {
      const flag = s.where === 'all' ? `${flagName(s.key)}${s.type === 'boolean' ? '' : ' V'}` : '(no flag)';
      const def = DEFAULT_HUB_CONFIG[s.key];
      return `  ${flag.padEnd(30)} ${s.doc} [${envName(s.key)}; default ${JSON.stringify(def)}]`;
    })
    .join('\n');
}
