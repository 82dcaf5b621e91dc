import { badRequest } from '../api/status.js';
import type { ObjectMeta } from './types.js';
import { rfc3339 } from './types.js';

/**
 * The object-meta checks are what the API server does to every object before its kind's own rules:
 * the envelope (kind, apiVersion, namespace) answers 400, the metadata (name, labels, annotations,
 * finalizers) adds causes to a 422, and the server's own fields are filled in.
 */

export type Cause = { field: string; message: string };

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** NameRule is the shape a kind demands of its names: most kinds a DNS-1123 subdomain, Services a DNS-1035 label. */
export type NameRule = 'dns1123Subdomain' | 'dns1035Label';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isDns1123Label(text: string): boolean {
  return text.length <= 63 && DNS1123_LABEL.test(text);
}

export function isDns1123Subdomain(text: string): boolean {
  return text.length <= 253 && DNS1123_SUBDOMAIN.test(text);
}

/** nameProblem returns the API server's complaint about a name, or undefined when the name is fine. */
export function nameProblem(name: string, rule: NameRule): string | undefined {
  if (rule === 'dns1035Label') {
    if (name.length <= 63 && DNS1035_LABEL.test(name)) return undefined;
    return `Invalid value: "${name}": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`;
  }
  if (isDns1123Subdomain(name)) return undefined;
  return `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`;
}

/** checkStringMap checks a map of strings (labels, annotations, a selector), with optional key and value rules. */
export function checkStringMap(
  value: unknown,
  field: string,
  causes: Cause[],
  keyRule?: RegExp,
  valueRule?: RegExp,
): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) {
    causes.push({ field, message: 'must be a map of strings' });
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') causes.push({ field: `${field}[${k}]`, message: 'must be a string' });
    else if (keyRule && (k.length > 317 || !keyRule.test(k)))
      causes.push({ field, message: `Invalid value: "${k}": name part must consist of alphanumeric characters, '-', '_' or '.'` });
    else if (valueRule && (v.length > 63 || !valueRule.test(v)))
      causes.push({
        field: `${field}[${k}]`,
        message: `Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'`,
      });
    else out[k] = v;
  }
  return out;
}

/** checkLabels checks a label map (metadata.labels, a Service's selector) with the label rules. */
export function checkLabels(value: unknown, field: string, causes: Cause[]): Record<string, string> | undefined {
  return checkStringMap(value, field, causes, LABEL_KEY, LABEL_VALUE);
}

export interface Envelope {
  kind: string;
  /** `v1` for the core group, else `group/version`. */
  apiVersion: string;
  namespace: string;
}

/** checkEnvelope answers 400 for a body that is not an object of this kind, version and namespace. */
export function checkEnvelope(body: unknown, envelope: Envelope): Record<string, unknown> {
  const { kind, apiVersion, namespace } = envelope;
  if (!isRecord(body)) throw badRequest(`the object provided is unrecognized (must be of type ${kind})`);
  if (body['kind'] !== undefined && body['kind'] !== kind)
    throw badRequest(`the kind of the provided object (${String(body['kind'])}) does not match the expected kind (${kind})`);
  if (body['apiVersion'] !== undefined && body['apiVersion'] !== apiVersion)
    throw badRequest(`the API version in the data (${String(body['apiVersion'])}) does not match the expected API version (${apiVersion})`);
  const meta = isRecord(body['metadata']) ? body['metadata'] : {};
  const ns = meta['namespace'];
  if (ns !== undefined && ns !== '' && ns !== namespace)
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  return body;
}

export interface NewMetaContext {
  namespace: string;
  now: number;
  uid: () => string;
  /** suffix draws the random tail of a generateName. */
  suffix: () => string;
}

/**
 * newObjectMeta checks a new object's metadata (adding causes) and returns it with the server's
 * fields set: the name (drawn from generateName when absent), namespace, uid, creationTimestamp; a
 * client's uid, resourceVersion or deletion fields are dropped, as the API server drops them.
 */
export function newObjectMeta(
  body: Record<string, unknown>,
  ctx: NewMetaContext,
  causes: Cause[],
  rule: NameRule = 'dns1123Subdomain',
): ObjectMeta {
  const meta = isRecord(body['metadata']) ? body['metadata'] : {};
  let name = typeof meta['name'] === 'string' ? meta['name'] : '';
  const generateName = typeof meta['generateName'] === 'string' ? meta['generateName'] : '';
  if (name === '' && generateName !== '') name = generateName.slice(0, 58) + ctx.suffix();
  if (name === '') causes.push({ field: 'metadata.name', message: 'Required value: name or generateName is required' });
  else {
    const problem = nameProblem(name, rule);
    if (problem !== undefined) causes.push({ field: 'metadata.name', message: problem });
  }
  const labels = checkLabels(meta['labels'], 'metadata.labels', causes);
  const annotations = checkStringMap(meta['annotations'], 'metadata.annotations', causes);
  const finalizers = meta['finalizers'];
  if (finalizers !== undefined && (!Array.isArray(finalizers) || finalizers.some((f) => typeof f !== 'string' || f === ''))) {
    causes.push({ field: 'metadata.finalizers', message: 'must be a list of non-empty strings' });
  }
  const { uid: _u, resourceVersion: _r, creationTimestamp: _c, deletionTimestamp: _d, deletionGracePeriodSeconds: _g, ...rest } = meta;
  const metadata: ObjectMeta = {
    ...rest,
    name,
    namespace: ctx.namespace,
    uid: ctx.uid(),
    resourceVersion: '',
    creationTimestamp: rfc3339(ctx.now),
  };
  if (labels !== undefined) metadata.labels = labels;
  else delete metadata.labels;
  if (annotations !== undefined) metadata.annotations = annotations;
  else delete metadata.annotations;
  if (Array.isArray(finalizers) && finalizers.length > 0) metadata.finalizers = finalizers as string[];
  else delete metadata.finalizers;
  return metadata;
}

/**
 * revisedObjectMeta checks the metadata of a full replacement and returns what is stored: labels,
 * annotations, finalizers and other client fields from the body; name, namespace, uid, creation
 * and deletion stamps from the stored object, which a client cannot change.
 */
export function revisedObjectMeta(body: Record<string, unknown>, previous: ObjectMeta, causes: Cause[]): ObjectMeta {
  const meta = isRecord(body['metadata']) ? body['metadata'] : {};
  const labels = checkLabels(meta['labels'], 'metadata.labels', causes);
  const annotations = checkStringMap(meta['annotations'], 'metadata.annotations', causes);
  const finalizers = meta['finalizers'];
  if (
    finalizers !== undefined &&
    finalizers !== null &&
    (!Array.isArray(finalizers) || finalizers.some((f) => typeof f !== 'string' || f === ''))
  ) {
    causes.push({ field: 'metadata.finalizers', message: 'must be a list of non-empty strings' });
  }
  const kept = Array.isArray(finalizers) ? (finalizers as string[]) : [];
  if (previous.deletionTimestamp !== undefined && kept.some((f) => !(previous.finalizers ?? []).includes(f))) {
    causes.push({ field: 'metadata.finalizers', message: 'Forbidden: no new finalizers can be added if the object is being deleted' });
  }
  const { resourceVersion: _r, ...rest } = meta;
  const metadata: ObjectMeta = {
    ...rest,
    name: previous.name,
    namespace: previous.namespace,
    uid: previous.uid,
    resourceVersion: previous.resourceVersion,
    creationTimestamp: previous.creationTimestamp,
  };
  for (const field of ['generateName', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const) {
    if (previous[field] === undefined) delete metadata[field];
    else (metadata as Record<string, unknown>)[field] = previous[field];
  }
  if (labels !== undefined) metadata.labels = labels;
  else delete metadata.labels;
  if (annotations !== undefined) metadata.annotations = annotations;
  else delete metadata.annotations;
  if (kept.length > 0) metadata.finalizers = kept;
  else delete metadata.finalizers;
  return metadata;
}

/** canonical orders object keys recursively, so two objects compare equal whatever order their fields came in. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (!isRecord(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .filter((k) => value[k] !== undefined)
      .map((k) => [k, canonical(value[k])]),
  );
}

/** sameJson tells whether two values serialize to the same JSON, ignoring key order. */
export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}
