import { ADMIN_SCOPES, UnknownScopeError, parseScopes } from './scopes.js';

/** ServiceSpec is one entry of `services` in the configuration file, JupyterHub's `c.JupyterHub.services`. */
export interface ServiceSpec {
  readonly name: string;
  /** apiToken: the service's token, given in the file (JupyterHub's `api_token`); none: mint one with `spawnkeeper token --service`. */
  readonly apiToken: string | undefined;
  /** admin: the service gets JupyterHub's `admin` role, every admin scope. */
  readonly admin: boolean;
  readonly url: string;
  readonly info: Record<string, unknown>;
  readonly display: boolean;
  /** roles: the names of the roles from `load_roles` that list this service. */
  readonly roles: readonly string[];
  /** scopes: everything the service may do, from its roles (and `admin`), unexpanded. */
  readonly scopes: readonly string[];
}

/** RoleSpec is one entry of `load_roles`: a named set of scopes given to services. */
export interface RoleSpec {
  readonly name: string;
  readonly description: string;
  readonly scopes: readonly string[];
  readonly services: readonly string[];
}

/** MIN_SERVICE_TOKEN_LENGTH is as long as an admin token must be: a service's token may hold as much. */
export const MIN_SERVICE_TOKEN_LENGTH = 32;

/** OWN_TOKENS_NAME is how the hub's own tokens (no user, no service) identify themselves; no service may take it. */
export const OWN_TOKENS_NAME = 'spawnkeeper';

/** ServiceConfigError is a bad `services` or `load_roles` entry; the CLI turns it into exit code 2. */
export class ServiceConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServiceConfigError';
  }
}

const SERVICE_KEYS = new Set(['name', 'api_token', 'admin', 'url', 'info', 'display']);
/** UNSUPPORTED_SERVICE_KEYS are JupyterHub service keys for things spawnkeeper does not do, each with why. */
const UNSUPPORTED_SERVICE_KEYS: Readonly<Record<string, string>> = {
  command: 'spawnkeeper does not start service processes: run the service yourself with its api_token',
  environment: 'spawnkeeper does not start service processes',
  cwd: 'spawnkeeper does not start service processes',
  user: 'spawnkeeper does not start service processes',
  oauth_client_id: 'spawnkeeper has no OAuth provider; services authenticate with their api_token',
  oauth_redirect_uri: 'spawnkeeper has no OAuth provider',
  oauth_no_confirm: 'spawnkeeper has no OAuth provider',
  oauth_client_allowed_scopes: 'spawnkeeper has no OAuth provider',
  oauth_roles: 'spawnkeeper has no OAuth provider',
};
const ROLE_KEYS = new Set(['name', 'description', 'scopes', 'services']);
const NAME = /^[^/\s\p{Cc}]{1,255}$/u;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(v: unknown, where: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new ServiceConfigError(`${where} must be a list of strings`);
  return v as string[];
}

function parseRole(raw: unknown, i: number): RoleSpec {
  if (!isObject(raw)) throw new ServiceConfigError(`load_roles[${i}] must be an object`);
  const name = raw['name'];
  if (typeof name !== 'string' || name === '') throw new ServiceConfigError(`load_roles[${i}].name must be a non-empty string`);
  for (const key of Object.keys(raw)) {
    if (key === 'users' || key === 'groups')
      throw new ServiceConfigError(
        `role ${name}: spawnkeeper gives roles to services only; give a user's token its scopes when you mint it`,
      );
    if (!ROLE_KEYS.has(key)) throw new ServiceConfigError(`role ${name}: unknown key "${key}"`);
  }
  const scopes = stringList(raw['scopes'], `role ${name}: scopes`);
  try {
    parseScopes(scopes);
  } catch (err) {
    if (err instanceof UnknownScopeError) throw new ServiceConfigError(`role ${name}: ${err.message}`);
    throw err;
  }
  const description = raw['description'] ?? '';
  if (typeof description !== 'string') throw new ServiceConfigError(`role ${name}: description must be a string`);
  return { name, description, scopes, services: stringList(raw['services'], `role ${name}: services`) };
}

function parseService(raw: unknown, i: number, roles: readonly RoleSpec[]): ServiceSpec {
  if (!isObject(raw)) throw new ServiceConfigError(`services[${i}] must be an object`);
  const name = raw['name'];
  if (typeof name !== 'string' || !NAME.test(name))
    throw new ServiceConfigError(`services[${i}].name must be 1–255 characters without '/', white space or control characters`);
  if (name === OWN_TOKENS_NAME)
    throw new ServiceConfigError(`service name "${OWN_TOKENS_NAME}" is reserved: the hub's own tokens identify as it`);
  for (const key of Object.keys(raw)) {
    const why = UNSUPPORTED_SERVICE_KEYS[key];
    if (why !== undefined) throw new ServiceConfigError(`service ${name}: "${key}" is not supported: ${why}`);
    if (!SERVICE_KEYS.has(key)) throw new ServiceConfigError(`service ${name}: unknown key "${key}"`);
  }
  const token = raw['api_token'];
  if (token !== undefined && (typeof token !== 'string' || token.length < MIN_SERVICE_TOKEN_LENGTH)) {
    throw new ServiceConfigError(
      `service ${name}: api_token must be a string of at least ${MIN_SERVICE_TOKEN_LENGTH} characters (try: openssl rand -hex 32)`,
    );
  }
  const admin = raw['admin'] ?? false;
  if (typeof admin !== 'boolean') throw new ServiceConfigError(`service ${name}: admin must be true or false`);
  const url = raw['url'] ?? '';
  if (typeof url !== 'string') throw new ServiceConfigError(`service ${name}: url must be a string`);
  const info = raw['info'] ?? {};
  if (!isObject(info)) throw new ServiceConfigError(`service ${name}: info must be an object`);
  const display = raw['display'] ?? true;
  if (typeof display !== 'boolean') throw new ServiceConfigError(`service ${name}: display must be true or false`);
  const mine = roles.filter((r) => r.services.includes(name));
  const scopes = [...new Set([...(admin ? ADMIN_SCOPES : []), ...mine.flatMap((r) => r.scopes)])];
  return { name, apiToken: token, admin, url, info, display, roles: [...(admin ? ['admin'] : []), ...mine.map((r) => r.name)], scopes };
}

/**
 * parseServices checks `services` and `load_roles` from the configuration file and joins them: each
 * service with the scopes of the roles that name it. A role naming an unknown service, two services
 * of one name or one token, and keys for features spawnkeeper lacks are errors, never ignored.
 */
export function parseServices(services: unknown, loadRoles: unknown, adminToken = ''): ServiceSpec[] {
  if (!Array.isArray(services)) throw new ServiceConfigError('services must be a list');
  if (!Array.isArray(loadRoles)) throw new ServiceConfigError('load_roles must be a list');
  const roles = loadRoles.map(parseRole);
  const roleNames = new Set<string>();
  for (const r of roles) {
    if (roleNames.has(r.name)) throw new ServiceConfigError(`two roles are named ${r.name}`);
    roleNames.add(r.name);
  }
  const specs = services.map((s, i) => parseService(s, i, roles));
  const names = new Set<string>();
  const tokens = new Set<string>(adminToken === '' ? [] : [adminToken]);
  for (const s of specs) {
    if (names.has(s.name)) throw new ServiceConfigError(`two services are named ${s.name}`);
    names.add(s.name);
    if (s.apiToken !== undefined) {
      if (tokens.has(s.apiToken))
        throw new ServiceConfigError(`service ${s.name}: its api_token is already another service's or the admin token`);
      tokens.add(s.apiToken);
    }
  }
  for (const r of roles) {
    const unknown = r.services.find((n) => !names.has(n));
    if (unknown !== undefined) throw new ServiceConfigError(`role ${r.name} names service ${unknown}, which is not in services`);
  }
  return specs;
}

/** ServiceRegistry is the configured services, by name, in the order of the file. */
export class ServiceRegistry {
  private readonly byName: ReadonlyMap<string, ServiceSpec>;

  constructor(readonly specs: readonly ServiceSpec[]) {
    this.byName = new Map(specs.map((s) => [s.name, s]));
  }

  get(name: string): ServiceSpec | undefined {
    return this.byName.get(name);
  }

  list(): readonly ServiceSpec[] {
    return this.specs;
  }
}
