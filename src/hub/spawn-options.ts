import type { ServerSpec, TemplateOverrides } from '../kube/spec.js';
import { SpecError, checkOverrides, mergeOverrides } from '../kube/spec.js';
import type { SpawnRequest } from '../spawnkeeper.js';

/** Profile is one entry of the `profiles` setting, as KubeSpawner's profile_list: a named set of template overrides. */
export interface Profile {
  readonly slug: string;
  readonly displayName: string;
  readonly description: string;
  readonly default: boolean;
  readonly overrides: TemplateOverrides;
}

/** ProfileError is a bad `profiles` setting; the config turns it into a ConfigError. */
export class ProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProfileError';
  }
}

/** SpawnOptionsError is a start request body that cannot start a server: 400 (or 403 for `forbidden`), naming the field. */
export class SpawnOptionsError extends Error {
  constructor(
    message: string,
    readonly forbidden = false,
  ) {
    super(message);
    this.name = 'SpawnOptionsError';
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const SLUG = /^[A-Za-z0-9][-_.A-Za-z0-9]{0,62}$/;
const PROFILE_KEYS = ['slug', 'display_name', 'description', 'default', 'overrides'];

/**
 * parseProfiles checks the `profiles` setting: each `{slug, display_name, description?, default?,
 * overrides}` with a unique slug and overrides of the pod template's fields; at most one default.
 */
export function parseProfiles(raw: readonly unknown[]): Profile[] {
  const profiles = raw.map((entry, i): Profile => {
    const where = `profiles[${i}]`;
    if (!isObject(entry)) throw new ProfileError(`${where} must be an object`);
    for (const k of Object.keys(entry))
      if (!PROFILE_KEYS.includes(k)) throw new ProfileError(`${where}.${k} is not a profile field (known: ${PROFILE_KEYS.join(', ')})`);
    const slug = entry['slug'];
    if (typeof slug !== 'string' || !SLUG.test(slug))
      throw new ProfileError(`${where}.slug must be 1–63 letters, digits, '-', '_' or '.', starting with a letter or digit`);
    const display = entry['display_name'] ?? slug;
    const description = entry['description'] ?? '';
    if (typeof display !== 'string') throw new ProfileError(`${where}.display_name must be a string`);
    if (typeof description !== 'string') throw new ProfileError(`${where}.description must be a string`);
    if (entry['default'] !== undefined && typeof entry['default'] !== 'boolean')
      throw new ProfileError(`${where}.default must be true or false`);
    let overrides: TemplateOverrides;
    try {
      overrides = checkOverrides(entry['overrides'] ?? {}, `${where}.overrides`);
    } catch (err) {
      if (err instanceof SpecError) throw new ProfileError(err.message);
      throw err;
    }
    return { slug, displayName: display, description, default: entry['default'] === true, overrides };
  });
  const seen = new Set<string>();
  for (const p of profiles) {
    if (seen.has(p.slug)) throw new ProfileError(`profiles: the slug "${p.slug}" is used twice`);
    seen.add(p.slug);
  }
  if (profiles.filter((p) => p.default).length > 1) throw new ProfileError('profiles: at most one profile may be the default');
  return profiles;
}

/** RESERVED_KEY is the top-level key of a start body that holds spawnkeeper's own options; it is never stored as a user option. */
export const RESERVED_KEY = 'spawnkeeper';
const OPTION_KEYS = ['env', 'resources', 'port', 'args'];
const RESOURCE_KEYS = ['cpu_limit', 'cpu_guarantee', 'mem_limit', 'mem_guarantee'];
/** ENV_NAME: a variable name that is also a valid Secret key (what envFrom turns into a variable): never `.` or `..`. */
const ENV_NAME = /^[A-Za-z_][-._A-Za-z0-9]{0,252}$/;
/** MAX_ENV_BYTES bounds the environment of one server (a Secret holds at most 1 MiB). */
export const MAX_ENV_BYTES = 64 * 1024;
const MAX_ARGS = 256;

/** StartOptions are a start body taken apart: the user options to store and what the spawn asks for. */
export interface StartOptions {
  readonly userOptions: Record<string, unknown>;
  /** request: the spawn's spec and environment, undefined when the body asks for nothing beyond the template. */
  readonly request: SpawnRequest | undefined;
}

const bad = (message: string): never => {
  throw new SpawnOptionsError(message);
};

/** cpu turns a number of cores into a quantity in millicores (`0.5` → `500m`). */
function cpu(v: unknown, field: string): string {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 1e6) bad(`${field} must be a number of CPU cores above 0`);
  return `${Math.max(1, Math.round((v as number) * 1000))}m`;
}

/** memory turns a whole number of bytes into a quantity. */
function memory(v: unknown, field: string): string {
  if (!Number.isSafeInteger(v) || (v as number) <= 0) bad(`${field} must be a whole number of bytes above 0`);
  return String(v);
}

/**
 * readStartOptions takes a start body apart: `spawnkeeper` (env, resources, port, args; only for
 * callers allowed to, `mayConfigure`) and `profile`, chosen from `profiles` (the default one when
 * none is named). It throws SpawnOptionsError naming the field; it changes nothing.
 */
export function readStartOptions(body: Record<string, unknown>, profiles: readonly Profile[], mayConfigure: boolean): StartOptions {
  const { [RESERVED_KEY]: own, ...userOptions } = body;
  let overrides: TemplateOverrides = {};
  let env: Record<string, string> | undefined;
  if (own !== undefined) {
    if (!mayConfigure)
      throw new SpawnOptionsError(
        `only a token with the admin:servers scope may send "${RESERVED_KEY}" (a server's environment and resources)`,
        true,
      );
    if (!isObject(own)) bad(`"${RESERVED_KEY}" must be an object with env, resources, port and args`);
    const o = own as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (!OPTION_KEYS.includes(k)) bad(`"${RESERVED_KEY}.${k}" is not known (known: ${OPTION_KEYS.join(', ')})`);
    if (o['env'] !== undefined) env = readEnv(o['env']);
    if (o['resources'] !== undefined) overrides = { resources: readResources(o['resources']) };
    if (o['port'] !== undefined) {
      const port = o['port'];
      if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535)
        bad(`"${RESERVED_KEY}.port" must be a port from 1 to 65535`);
      overrides.port = port as number;
    }
    if (o['args'] !== undefined) {
      const args = o['args'];
      if (!Array.isArray(args) || args.length > MAX_ARGS || !args.every((a) => typeof a === 'string'))
        bad(`"${RESERVED_KEY}.args" must be a list of at most ${MAX_ARGS} strings`);
      overrides.args = args as string[];
    }
  }
  const profile = chooseProfile(userOptions['profile'], profiles);
  if (profile === undefined && own === undefined) return { userOptions, request: undefined };
  const spec: ServerSpec = {
    ...(profile === undefined ? {} : { profile: profile.slug }),
    overrides: mergeOverrides(profile?.overrides ?? {}, overrides),
    envNames: Object.keys(env ?? {}).sort(),
  };
  return { userOptions, request: { spec, env } };
}

/** chooseProfile: the named profile, else the default one (or the first); with no profiles configured, `profile` is a plain user option. */
function chooseProfile(raw: unknown, profiles: readonly Profile[]): Profile | undefined {
  if (profiles.length === 0) return undefined;
  if (raw === undefined) return profiles.find((p) => p.default) ?? profiles[0];
  if (typeof raw !== 'string') return bad('"profile" must be the slug of a profile (a string)');
  const found = profiles.find((p) => p.slug === raw);
  if (found !== undefined) return found;
  return bad(`unknown profile ${JSON.stringify((raw as string).slice(0, 80))}; valid profiles: ${profiles.map((p) => p.slug).join(', ')}`);
}

function readEnv(raw: unknown): Record<string, string> {
  if (!isObject(raw)) return bad(`"${RESERVED_KEY}.env" must be an object of strings`);
  for (const [name, value] of Object.entries(raw)) {
    if (!ENV_NAME.test(name))
      bad(
        `"${RESERVED_KEY}.env" has an invalid name ${JSON.stringify(name.slice(0, 80))}: a letter or '_', then letters, digits, '-', '_' or '.'`,
      );
    if (typeof value !== 'string') bad(`"${RESERVED_KEY}.env.${name}" must be a string`);
  }
  if (Buffer.byteLength(JSON.stringify(raw)) > MAX_ENV_BYTES) bad(`"${RESERVED_KEY}.env" may be at most ${MAX_ENV_BYTES} bytes of JSON`);
  return raw as Record<string, string>;
}

function readResources(raw: unknown): NonNullable<TemplateOverrides['resources']> {
  if (!isObject(raw)) return bad(`"${RESERVED_KEY}.resources" must be an object (${RESOURCE_KEYS.join(', ')})`);
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    const field = `"${RESERVED_KEY}.resources.${k}"`;
    if (k === 'cpu_limit') limits['cpu'] = cpu(v, field);
    else if (k === 'cpu_guarantee') requests['cpu'] = cpu(v, field);
    else if (k === 'mem_limit') limits['memory'] = memory(v, field);
    else if (k === 'mem_guarantee') requests['memory'] = memory(v, field);
    else bad(`${field} is not known (known: ${RESOURCE_KEYS.join(', ')})`);
  }
  return {
    ...(Object.keys(requests).length === 0 ? {} : { requests }),
    ...(Object.keys(limits).length === 0 ? {} : { limits }),
  };
}
