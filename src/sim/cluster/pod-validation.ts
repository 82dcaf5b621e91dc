import type { Cause, NewMetaContext } from './object-meta.js';
import { checkEnvelope, isDns1123Label, isRecord, newObjectMeta } from './object-meta.js';
import { invalid } from '../api/status.js';
import type { Container, Pod, PodSpec } from './types.js';

export type NewPodContext = NewMetaContext;

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
    else if (!isDns1123Label(name))
      causes.push({
        field: `spec.containers[${i}].name`,
        message: `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'`,
      });
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
  const checked = checkEnvelope(body, { kind: 'Pod', apiVersion: 'v1', namespace: ctx.namespace });
  const causes: Cause[] = [];
  const metadata = newObjectMeta(checked, ctx, causes);
  const spec = checkSpec(checked['spec'], causes);
  if (causes.length > 0) throw invalid('Pod', metadata.name, causes);
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec, status: { phase: 'Pending', qosClass: 'BestEffort' } };
}
