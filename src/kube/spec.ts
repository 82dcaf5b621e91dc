import { createHash, randomBytes } from 'node:crypto';
import type { V1Toleration, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { namePart, parseServerKey } from './names.js';

/** Resources are Kubernetes quantities, e.g. { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } }. */
export interface Resources {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

/**
 * StorageTemplate is the per-user volume claim ensured before each pod (KubeSpawner's
 * storage_pvc_ensure): created if missing, never deleted by spawnkeeper, mounted at mountPath.
 */
export interface StorageTemplate {
  /** claimName: the claim's name; `{username}` and `{servername}` (`--name` for a named server, '' for the default) are expanded. */
  claimName?: string | undefined;
  /** capacity: the requested size, a Kubernetes quantity (`10Gi`). */
  capacity: string;
  /** storageClass: the claim's class; unset, the cluster's default class. */
  storageClass?: string | undefined;
  /** accessModes (default ReadWriteOnce). */
  accessModes?: string[] | undefined;
  /** mountPath in the notebook container (z2jh's homeMountPath, `/home/jovyan`). */
  mountPath?: string | undefined;
}

export const DEFAULT_STORAGE = {
  claimName: 'claim-{username}{servername}',
  accessModes: ['ReadWriteOnce'],
  mountPath: '/home/jovyan',
} as const;

/** storageOf is a storage setting with its defaults filled in. */
export function storageOf(s: StorageTemplate): Required<Omit<StorageTemplate, 'storageClass'>> & Pick<StorageTemplate, 'storageClass'> {
  return {
    claimName: s.claimName ?? DEFAULT_STORAGE.claimName,
    capacity: s.capacity,
    storageClass: s.storageClass,
    accessModes: s.accessModes ?? [...DEFAULT_STORAGE.accessModes],
    mountPath: s.mountPath ?? DEFAULT_STORAGE.mountPath,
  };
}

/** TemplateOverrides are the pod template fields a profile (or a start request) may set. */
export interface TemplateOverrides {
  image?: string;
  command?: string[];
  args?: string[];
  port?: number;
  /** env: plain (not secret) environment, written into the pod spec. */
  env?: Record<string, string>;
  resources?: Resources;
  nodeSelector?: Record<string, string>;
  tolerations?: V1Toleration[];
  volumes?: V1Volume[];
  volumeMounts?: V1VolumeMount[];
  /** storage: the per-user claim, or null for none. */
  storage?: StorageTemplate | null;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  serviceAccountName?: string;
}

/**
 * ServerSpec is what one spawn asked for beyond the configured template: the chosen profile's
 * overrides and the start request's own resources, port and args, folded into one set of
 * overrides, and whether the pod gets a Secret of environment. It holds no secret.
 */
export interface ServerSpec {
  profile?: string | undefined;
  overrides: TemplateOverrides;
  /** envNames: the names of the variables in the server's Secret (the values are not here). */
  envNames: string[];
}

/** SpecError is a template or override that cannot make a pod; its message names the field. */
export class SpecError extends Error {
  constructor(
    message: string,
    /** where: the path of the bad value, e.g. `profiles[0].overrides.volumes[1].name`. */
    readonly where = '',
    /** what the value must be, e.g. `a string`. */
    readonly what = '',
  ) {
    super(message);
    this.name = 'SpecError';
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const fail = (where: string, what: string): never => {
  throw new SpecError(`${where} must be ${what}`, where, what);
};

function stringMap(v: unknown, where: string): Record<string, string> {
  if (!isObject(v) || !Object.values(v).every((x) => typeof x === 'string')) fail(where, 'an object of strings');
  return v as Record<string, string>;
}

function stringList(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) fail(where, 'a list of strings');
  return v as string[];
}

function objectList<T>(v: unknown, where: string, need: readonly string[]): T[] {
  if (!Array.isArray(v)) fail(where, 'a list of objects');
  (v as unknown[]).forEach((item, i) => {
    if (!isObject(item)) fail(`${where}[${i}]`, 'an object');
    for (const field of need) if (typeof (item as Record<string, unknown>)[field] !== 'string') fail(`${where}[${i}].${field}`, 'a string');
  });
  return v as T[];
}

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

function resources(v: unknown, where: string): Resources {
  if (!isObject(v)) return fail(where, 'an object with requests and limits');
  const out: Resources = {};
  for (const [k, x] of Object.entries(v)) {
    if (k !== 'requests' && k !== 'limits') fail(`${where}.${k}`, 'absent (only requests and limits are known)');
    const map = stringMap(x, `${where}.${k}`);
    for (const [name, q] of Object.entries(map)) if (!QUANTITY.test(q)) fail(`${where}.${k}.${name}`, 'a Kubernetes quantity');
    out[k as 'requests' | 'limits'] = map;
  }
  return out;
}

function storage(v: unknown, where: string): StorageTemplate | null {
  if (v === null) return null;
  if (!isObject(v)) return fail(where, 'an object (claimName, capacity, storageClass, accessModes, mountPath) or null');
  const known = ['claimName', 'capacity', 'storageClass', 'accessModes', 'mountPath'];
  for (const k of Object.keys(v)) if (!known.includes(k)) fail(`${where}.${k}`, `absent (known: ${known.join(', ')})`);
  const out: StorageTemplate = { capacity: '' };
  if (typeof v['capacity'] !== 'string' || !QUANTITY.test(v['capacity'])) fail(`${where}.capacity`, 'a Kubernetes quantity such as "10Gi"');
  out.capacity = v['capacity'] as string;
  if (v['claimName'] !== undefined) {
    if (typeof v['claimName'] !== 'string' || !/^[a-z0-9.{}-]+$/.test(v['claimName'].replace(/\{(username|servername)\}/g, 'x')))
      fail(`${where}.claimName`, 'lowercase letters, digits, "-", "." and the placeholders {username} and {servername}');
    out.claimName = v['claimName'] as string;
  }
  if (v['storageClass'] !== undefined) {
    if (typeof v['storageClass'] !== 'string') fail(`${where}.storageClass`, 'a string');
    out.storageClass = v['storageClass'] as string;
  }
  if (v['accessModes'] !== undefined) out.accessModes = stringList(v['accessModes'], `${where}.accessModes`);
  if (v['mountPath'] !== undefined) {
    if (typeof v['mountPath'] !== 'string' || !v['mountPath'].startsWith('/')) fail(`${where}.mountPath`, 'an absolute path');
    out.mountPath = v['mountPath'] as string;
  }
  return out;
}

const CHECKS: Record<keyof TemplateOverrides, (v: unknown, where: string) => unknown> = {
  image: (v, w) => (typeof v === 'string' && v !== '' ? v : fail(w, 'a non-empty string')),
  command: stringList,
  args: stringList,
  port: (v, w) => (Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535 ? v : fail(w, 'a port from 1 to 65535')),
  env: stringMap,
  resources,
  nodeSelector: stringMap,
  tolerations: (v, w) => objectList(v, w, []),
  volumes: (v, w) => objectList(v, w, ['name']),
  volumeMounts: (v, w) => objectList(v, w, ['name', 'mountPath']),
  storage,
  labels: stringMap,
  annotations: stringMap,
  serviceAccountName: (v, w) => (typeof v === 'string' ? v : fail(w, 'a string')),
};

/** OVERRIDE_KEYS are the template fields a profile may override. */
export const OVERRIDE_KEYS = Object.keys(CHECKS) as Array<keyof TemplateOverrides>;

/**
 * checkOverrides validates template fields (a profile's, or the configured template's own) and
 * returns them typed; `extra` names keys the caller handles itself. Unknown keys are an error.
 */
export function checkOverrides(raw: unknown, where: string, extra: readonly string[] = []): TemplateOverrides {
  if (!isObject(raw)) return fail(where, 'an object');
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (extra.includes(k)) continue;
    const check = CHECKS[k as keyof TemplateOverrides];
    if (check === undefined) fail(`${where}.${k}`, `absent (known: ${OVERRIDE_KEYS.join(', ')})`);
    out[k] = check(v, `${where}.${k}`);
  }
  return out as TemplateOverrides;
}

/**
 * mergeOverrides lays `top` over `base`: a field `top` sets replaces the one of `base`, except
 * resources, merged per requests and limits by resource name.
 */
export function mergeOverrides<T extends TemplateOverrides>(base: T, top: TemplateOverrides): T {
  const out: T = { ...base, ...top };
  if (base.resources !== undefined && top.resources !== undefined) {
    out.resources = {
      ...((base.resources.requests ?? top.resources.requests) === undefined
        ? {}
        : { requests: { ...base.resources.requests, ...top.resources.requests } }),
      ...((base.resources.limits ?? top.resources.limits) === undefined
        ? {}
        : { limits: { ...base.resources.limits, ...top.resources.limits } }),
    };
  }
  return out;
}

/** claimNameOf expands a claim name template for one server: `claim-{username}{servername}` → `claim-alice--lab`. */
export function claimNameOf(template: string, key: string): string {
  const { user, name } = parseServerKey(key);
  return template.replace(/\{username\}/g, namePart(user)).replace(/\{servername\}/g, name === '' ? '' : `--${namePart(name)}`);
}

/** secretNameOf is the name of the Secret holding a server's environment: its pod's name and `-env`. */
export function secretNameOf(podName: string): string {
  return `${podName}-env`;
}

/** specDigest is the salted digest a start event carries in place of its spec: it names, and reveals nothing of, the values. */
export function specDigest(spec: string, env: string | null): string {
  const salt = randomBytes(16).toString('hex');
  return `sha256:${createHash('sha256')
    .update(`${salt}\0${spec}\0${env ?? ''}`)
    .digest('hex')
    .slice(0, 32)}`;
}
