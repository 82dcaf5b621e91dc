import { badRequest, invalid } from './status.js';
import type { Container, Pod, PodSpec } from './types.js';
import { rfc3339 } from './types.js';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** isDns1123Subdomain is the rule for pod and namespace-scoped object names. */
export function isDns1123Subdomain(name: string): boolean {
  return name.length <= 253 && DNS1123_SUBDOMAIN.test(name);
}

export interface NewPodContext {
  namespace: string;
  now: number;
  uid: () => string;
  /** suffix draws the random tail of a generateName. */
  suffix: () => string;
}

type Cause = { field: string; message: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkStringMap(value: unknown, field: string, causes: Cause[], keyRule?: RegExp, valueRule?: RegExp): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) {
    causes.push({ field, message: 'must be a map of strings' });
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') causes.push({ field: `${field}[${k}]`, message: 'must be a string' });
    else if (keyRule && (k.length > 317 || !keyRule.test(k))) causes.push({ field, message: `Invalid value: "${k}": name part must consist of alphanumeric characters, '-', '_' or '.'` });
    else if (valueRule && (v.length > 63 || !valueRule.test(v))) causes.push({ field: `${field}[${k}]`, message: `Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'` });
    else out[k] = v;
  }
  return out;
}

function checkContainers(value: unknown, causes: Cause[]): Container[] {
  if (!Array.isArray(value) || value.length === 0) {
    causes.push({ field: 'spec.containers', message: 'Required value' });
    return [];
  }
  const seen = new Set<string>();
  return value.map((raw: unknown, i): Container => {
    const c = isRecord(raw) ? raw : {};
    const name = typeof c['name'] === 'string' ? c['name'] : '';
    const image = typeof c['image'] === 'string' ? c['image'] : '';
    if (name === '') causes.push({ field: `spec.containers[${i}].name`, message: 'Required value' });
    else if (name.length > 63 || !DNS1123_LABEL.test(name)) causes.push({ field: `spec.containers[${i}].name`, message: `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'` });
    else if (seen.has(name)) causes.push({ field: `spec.containers[${i}].name`, message: `Duplicate value: "${name}"` });
    seen.add(name);
    if (image.trim() === '') causes.push({ field: `spec.containers[${i}].image`, message: 'Required value' });
    const tagged = /:[^/]+$/.test(image) && !image.endsWith(':latest');
    return {
      imagePullPolicy: tagged ? 'IfNotPresent' : 'Always',
      resources: {},
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      ...c,
      name,
      image,
    };
  });
}

function checkSpec(value: unknown, causes: Cause[]): PodSpec {
  const spec = isRecord(value) ? value : {};
  if (!isRecord(value)) causes.push({ field: 'spec', message: 'Required value' });
  const grace = spec['terminationGracePeriodSeconds'];
  if (grace !== undefined && (typeof grace !== 'number' || !Number.isInteger(grace) || grace < 0)) {
    causes.push({ field: 'spec.terminationGracePeriodSeconds', message: 'must be a non-negative integer' });
  }
  const nodeName = spec['nodeName'];
  if (nodeName !== undefined && typeof nodeName !== 'string') causes.push({ field: 'spec.nodeName', message: 'must be a string' });
  return {
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: 'ClusterFirst',
    schedulerName: 'default-scheduler',
    serviceAccountName: 'default',
    securityContext: {},
    enableServiceLinks: true,
    priority: 0,
    tolerations: [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ],
    ...spec,
    containers: checkContainers(spec['containers'], causes),
  };
}

/**
 * newPod validates a create body and fills what the API server fills (uid, timestamps, defaults,
 * Pending status), answering 400 for a body that is not a Pod and 422 for an invalid Pod, as
 * Kubernetes does.
 */
export function newPod(body: unknown, ctx: NewPodContext): Pod {
  if (!isRecord(body)) throw badRequest('the object provided is unrecognized (must be of type Pod)');
  if (body['kind'] !== undefined && body['kind'] !== 'Pod') throw badRequest(`the kind of the provided object (${String(body['kind'])}) does not match the expected kind (Pod)`);
  if (body['apiVersion'] !== undefined && body['apiVersion'] !== 'v1') throw badRequest(`the API version in the data (${String(body['apiVersion'])}) does not match the expected API version (v1)`);
  const meta = isRecord(body['metadata']) ? body['metadata'] : {};
  const ns = meta['namespace'];
  if (ns !== undefined && ns !== '' && ns !== ctx.namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');

  const causes: Cause[] = [];
  let name = typeof meta['name'] === 'string' ? meta['name'] : '';
  const generateName = typeof meta['generateName'] === 'string' ? meta['generateName'] : '';
  if (name === '' && generateName !== '') name = generateName.slice(0, 58) + ctx.suffix();
  if (name === '') causes.push({ field: 'metadata.name', message: 'Required value: name or generateName is required' });
  else if (!isDns1123Subdomain(name)) {
    causes.push({ field: 'metadata.name', message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character` });
  }
  const labels = checkStringMap(meta['labels'], 'metadata.labels', causes, LABEL_KEY, LABEL_VALUE);
  const annotations = checkStringMap(meta['annotations'], 'metadata.annotations', causes);
  const finalizers = meta['finalizers'];
  if (finalizers !== undefined && (!Array.isArray(finalizers) || finalizers.some((f) => typeof f !== 'string' || f === ''))) {
    causes.push({ field: 'metadata.finalizers', message: 'must be a list of non-empty strings' });
  }
  const spec = checkSpec(body['spec'], causes);
  if (causes.length > 0) throw invalid('Pod', name, causes);

  const { uid: _u, resourceVersion: _r, creationTimestamp: _c, deletionTimestamp: _d, deletionGracePeriodSeconds: _g, ...rest } = meta;
  const metadata: Pod['metadata'] = {
    ...rest,
    name,
    namespace: ctx.namespace,
    uid: ctx.uid(),
    resourceVersion: '',
    creationTimestamp: rfc3339(ctx.now),
  };
  if (labels !== undefined) metadata.labels = labels;
  if (annotations !== undefined) metadata.annotations = annotations;
  if (Array.isArray(finalizers) && finalizers.length > 0) metadata.finalizers = finalizers as string[];
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec, status: { phase: 'Pending', qosClass: 'BestEffort' } };
}
