import type { KindSpec } from './kinds.js';
import type { Cause } from './object-meta.js';
import { isRecord, sameJson } from './object-meta.js';
import { badRequest } from '../api/status.js';
import type { KubeObject } from './types.js';

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const MAX_SECRET_BYTES = 1024 * 1024;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** REQUIRED_KEYS are the data keys a typed Secret must carry (any one of them for basic-auth). */
const REQUIRED_KEYS: Record<string, { keys: readonly string[]; anyOf?: boolean }> = {
  'kubernetes.io/tls': { keys: ['tls.crt', 'tls.key'] },
  'kubernetes.io/dockerconfigjson': { keys: ['.dockerconfigjson'] },
  'kubernetes.io/dockercfg': { keys: ['.dockercfg'] },
  'kubernetes.io/ssh-auth': { keys: ['ssh-privatekey'] },
  'kubernetes.io/basic-auth': { keys: ['username', 'password'], anyOf: true },
};

function configKeyProblem(key: string): string | undefined {
  if (key.length <= 253 && CONFIG_KEY.test(key) && key !== '.' && key !== '..' && !key.startsWith('..')) return undefined;
  return `Invalid value: "${key}": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`;
}

/**
 * readData decodes `data` (base64 strings; anything else is a body the server cannot decode, 400)
 * and merges `stringData` over it, as the API server does on the way in; stringData is never stored.
 */
function readData(body: Record<string, unknown>, causes: Cause[]): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const data = body['data'];
  if (data !== undefined && data !== null) {
    if (!isRecord(data)) throw badRequest('Secret in version "v1" cannot be handled as a Secret: data must be a map of base64 strings');
    for (const [key, value] of Object.entries(data)) {
      if (typeof value !== 'string' || !BASE64.test(value))
        throw badRequest(`Secret in version "v1" cannot be handled as a Secret: illegal base64 data in data[${key}]`);
      out.set(key, Buffer.from(value, 'base64'));
    }
  }
  const stringData = body['stringData'];
  if (stringData !== undefined && stringData !== null) {
    if (!isRecord(stringData))
      throw badRequest('Secret in version "v1" cannot be handled as a Secret: stringData must be a map of strings');
    for (const [key, value] of Object.entries(stringData)) {
      if (typeof value !== 'string')
        throw badRequest(`Secret in version "v1" cannot be handled as a Secret: stringData[${key}] must be a string`);
      out.set(key, Buffer.from(value, 'utf8'));
    }
  }
  let total = 0;
  for (const [key, value] of out) {
    const problem = configKeyProblem(key);
    if (problem !== undefined) causes.push({ field: `data[${key}]`, message: problem });
    total += value.length;
  }
  if (total > MAX_SECRET_BYTES) causes.push({ field: 'data', message: `Too long: must have at most ${MAX_SECRET_BYTES} bytes` });
  return out;
}

function checkType(type: string, data: Map<string, Buffer>, metadata: KubeObject['metadata'], causes: Cause[]): void {
  const rule = REQUIRED_KEYS[type];
  if (rule !== undefined) {
    const missing = rule.keys.filter((k) => !data.has(k));
    if (rule.anyOf === true ? missing.length === rule.keys.length : missing.length > 0)
      for (const k of missing) causes.push({ field: `data[${k}]`, message: 'Required value' });
  }
  for (const key of ['.dockerconfigjson', '.dockercfg']) {
    const raw = data.get(key);
    if (rule?.keys.includes(key) !== true || raw === undefined) continue;
    try {
      JSON.parse(raw.toString('utf8'));
    } catch (err) {
      causes.push({
        field: `data[${key}]`,
        message: `Invalid value: "<secret contents redacted>": ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  }
  if (type === 'kubernetes.io/service-account-token' && metadata.annotations?.['kubernetes.io/service-account.name'] === undefined) {
    causes.push({ field: 'metadata.annotations[kubernetes.io/service-account.name]', message: 'Required value' });
  }
}

/** SECRETS serves core/v1 Secrets: data as base64, stringData folded in, typed secrets' keys required, `immutable` kept. */
export const SECRETS: KindSpec = {
  group: '',
  version: 'v1',
  resource: 'secrets',
  kind: 'Secret',
  singular: 'secret',
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  fieldLabels: ['type'],
  returnDeletedObject: false,
  validate(body, metadata, _ctx, causes, previous) {
    const data = readData(body, causes);
    const rawType = body['type'];
    if (rawType !== undefined && rawType !== null && typeof rawType !== 'string')
      throw badRequest('Secret in version "v1" cannot be handled as a Secret: type must be a string');
    const type = typeof rawType === 'string' && rawType !== '' ? rawType : 'Opaque';
    checkType(type, data, metadata, causes);
    const immutable = body['immutable'];
    if (immutable !== undefined && immutable !== null && typeof immutable !== 'boolean')
      throw badRequest('Secret in version "v1" cannot be handled as a Secret: immutable must be a boolean');
    const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata };
    if (data.size > 0)
      secret['data'] = Object.fromEntries([...data].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v.toString('base64')]));
    if (typeof immutable === 'boolean') secret['immutable'] = immutable;
    secret['type'] = type;
    if (previous !== undefined) {
      if (previous['type'] !== type) causes.push({ field: 'type', message: `Invalid value: "${type}": field is immutable` });
      if (previous['immutable'] === true) {
        if (!sameJson(previous['data'] ?? {}, secret['data'] ?? {}))
          causes.push({ field: 'data', message: 'Forbidden: field is immutable when `immutable` is set' });
        if (immutable !== true) causes.push({ field: 'immutable', message: 'Forbidden: field is immutable when `immutable` is set' });
      }
    }
    return secret;
  },
};
