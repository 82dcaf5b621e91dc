import type { KindSpec } from './kinds.js';
import type { Cause } from './object-meta.js';
import { isRecord, sameJson } from './object-meta.js';
import { badRequest } from '../api/status.js';
import type { KubeObject } from './types.js';

const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
const VOLUME_MODES = ['Block', 'Filesystem'];
/** DEFAULT_STORAGE_CLASS is what the default-storage-class admission step writes into a claim that names none. */
export const DEFAULT_STORAGE_CLASS = 'standard';

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;
const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/**
 * parseQuantity reads a resource quantity (`10Gi`, `500M`, `1e9`) into its value; text that is no
 * quantity is a body the API server cannot decode, so it answers 400, as Kubernetes does.
 */
export function parseQuantity(text: unknown, field: string): number {
  const m = typeof text === 'string' ? QUANTITY.exec(text) : typeof text === 'number' ? QUANTITY.exec(String(text)) : null;
  if (m === null)
    throw badRequest(
      `PersistentVolumeClaim in version "v1" cannot be handled as a PersistentVolumeClaim: ${field}: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
    );
  const [, sign, digits, suffix] = m;
  const scale = suffix === undefined ? 1 : /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : (SUFFIX[suffix] ?? 1);
  return (sign === '-' ? -1 : 1) * Number(digits) * scale;
}

function checkSpec(raw: unknown, causes: Cause[]): Record<string, unknown> {
  const spec = isRecord(raw) ? raw : {};
  const modes = spec['accessModes'];
  if (!Array.isArray(modes) || modes.length === 0)
    causes.push({ field: 'spec.accessModes', message: 'Required value: at least 1 access mode is required' });
  else {
    for (const mode of modes) {
      if (typeof mode !== 'string' || !ACCESS_MODES.includes(mode))
        causes.push({
          field: 'spec.accessModes',
          message: `Unsupported value: "${String(mode)}": supported values: ${ACCESS_MODES.map((m) => `"${m}"`).join(', ')}`,
        });
    }
    if (modes.includes('ReadWriteOncePod') && modes.length > 1)
      causes.push({ field: 'spec.accessModes', message: 'Forbidden: may not use ReadWriteOncePod with other access modes' });
  }
  const resources = isRecord(spec['resources']) ? spec['resources'] : {};
  const requests = isRecord(resources['requests']) ? resources['requests'] : {};
  const storage = requests['storage'];
  if (storage === undefined || storage === null) causes.push({ field: 'spec.resources[storage]', message: 'Required value' });
  else if (parseQuantity(storage, 'spec.resources.requests.storage') <= 0)
    causes.push({ field: 'spec.resources[storage]', message: `Invalid value: "${String(storage)}": must be greater than zero` });
  const mode = spec['volumeMode'];
  if (mode !== undefined && mode !== null && (typeof mode !== 'string' || !VOLUME_MODES.includes(mode))) {
    causes.push({ field: 'spec.volumeMode', message: `Unsupported value: "${String(mode)}": supported values: "Block", "Filesystem"` });
  }
  const className = spec['storageClassName'];
  if (className !== undefined && className !== null && typeof className !== 'string')
    causes.push({ field: 'spec.storageClassName', message: 'must be a string' });
  return {
    ...spec,
    storageClassName: typeof className === 'string' ? className : DEFAULT_STORAGE_CLASS,
    volumeMode: typeof mode === 'string' ? mode : 'Filesystem',
  };
}

/**
 * PERSISTENT_VOLUME_CLAIMS serves core/v1 PersistentVolumeClaims. A claim is bound at once to a
 * simulated volume named after its uid (as a cluster with an Immediate-binding default class would
 * soon do); after creation only the storage request may change, and only upwards.
 */
export const PERSISTENT_VOLUME_CLAIMS: KindSpec = {
  group: '',
  version: 'v1',
  resource: 'persistentvolumeclaims',
  kind: 'PersistentVolumeClaim',
  singular: 'persistentvolumeclaim',
  shortNames: ['pvc'],
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  fieldLabels: [],
  returnDeletedObject: true,
  validate(body, metadata, _ctx, causes, previous) {
    const spec = checkSpec(body['spec'], causes);
    if (previous === undefined) {
      spec['volumeName'] ??= `pvc-${metadata.uid}`;
      const requests = isRecord(spec['resources']) && isRecord(spec['resources']['requests']) ? spec['resources']['requests'] : {};
      const status = { phase: 'Bound', accessModes: spec['accessModes'], capacity: { storage: requests['storage'] } };
      return { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata, spec, status };
    }
    const before = previous['spec'] as Record<string, unknown>;
    const { resources: newResources, ...rest }: Record<string, unknown> = {
      ...spec,
      volumeName: spec['volumeName'] ?? before['volumeName'],
    };
    const { resources: oldResources, ...kept }: Record<string, unknown> = before;
    if (!sameJson(rest, kept)) {
      causes.push({
        field: 'spec',
        message: 'Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
      });
    }
    const storageOf = (r: unknown): number =>
      isRecord(r) && isRecord(r['requests']) ? parseQuantity(r['requests']['storage'] ?? '0', 'spec.resources.requests.storage') : 0;
    if (storageOf(newResources) < storageOf(oldResources))
      causes.push({ field: 'spec.resources.requests.storage', message: 'Forbidden: field can not be less than previous value' });
    const claim: KubeObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata,
      spec: { ...before, resources: newResources },
      status: previous['status'],
    };
    return claim;
  },
};
