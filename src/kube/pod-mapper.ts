import type { PodFact } from '../../machines/pod-fact.js';
import { ANNOTATION_KEY, LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_SERVER, MANAGED_BY, keyHash } from './names.js';

/** PodShapeError: an object from the API that is not a pod we can read; it is logged and skipped. */
export class PodShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PodShapeError';
  }
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** ownerKey returns the server key a pod belongs to when it carries our labels for `instance`, else undefined. */
export function ownerKey(pod: unknown, instance: string): string | undefined {
  if (!isObject(pod) || !isObject(pod['metadata'])) return undefined;
  const meta = pod['metadata'];
  const labels = isObject(meta['labels']) ? meta['labels'] : {};
  const annotations = isObject(meta['annotations']) ? meta['annotations'] : {};
  if (labels[LABEL_MANAGED_BY] !== MANAGED_BY || labels[LABEL_INSTANCE] !== instance) return undefined;
  const key = str(annotations[ANNOTATION_KEY]);
  // The label is what the selector matched; the annotation must agree with it, or the pod is not one we made.
  if (key === undefined || labels[LABEL_SERVER] !== keyHash(key)) return undefined;
  return key;
}

/** isOurs: a pod carries spawnkeeper's labels for this instance (the only pods ever touched). */
export function isOurs(pod: unknown, instance: string): boolean {
  return ownerKey(pod, instance) !== undefined;
}

/**
 * podFact reads the level facts of a pod object: phase, readiness, termination and the reason a
 * container waits or ended. It throws PodShapeError for objects without the fields it needs.
 */
export function podFact(pod: unknown): PodFact & { exists: true } {
  if (!isObject(pod) || !isObject(pod['metadata'])) throw new PodShapeError('object has no metadata');
  const meta = pod['metadata'];
  const uid = str(meta['uid']);
  const resourceVersion = str(meta['resourceVersion']);
  if (uid === undefined || uid === '') throw new PodShapeError('pod has no metadata.uid');
  if (resourceVersion === undefined || resourceVersion === '') throw new PodShapeError('pod has no metadata.resourceVersion');
  const status = isObject(pod['status']) ? pod['status'] : {};
  const phase = str(status['phase']) ?? 'Pending';
  const deleting = meta['deletionTimestamp'] !== undefined && meta['deletionTimestamp'] !== null;
  const conditions = Array.isArray(status['conditions']) ? status['conditions'].filter(isObject) : [];
  const readyCondition = conditions.find((c) => c['type'] === 'Ready');
  const ready = readyCondition?.['status'] === 'True' && !deleting;
  let reason: string | undefined;
  let exitCode: number | undefined;
  const containers = Array.isArray(status['containerStatuses']) ? status['containerStatuses'].filter(isObject) : [];
  for (const c of containers) {
    const state = isObject(c['state']) ? c['state'] : {};
    const waiting = isObject(state['waiting']) ? state['waiting'] : undefined;
    const terminated = isObject(state['terminated']) ? state['terminated'] : undefined;
    if (terminated !== undefined) {
      reason ??= str(terminated['reason']);
      if (typeof terminated['exitCode'] === 'number') exitCode ??= terminated['exitCode'];
    } else if (waiting !== undefined) {
      reason ??= str(waiting['reason']);
    }
  }
  const scheduled = conditions.find((c) => c['type'] === 'PodScheduled');
  if (reason === undefined && scheduled?.['status'] === 'False') reason = str(scheduled['reason']);
  if (reason === undefined || phase === 'Failed') reason = str(status['reason']) ?? reason;
  const ip = str(status['podIP']);
  return { exists: true, uid, resourceVersion, phase, ready, deleting, reason, exitCode, ...(ip === undefined || ip === '' ? {} : { ip }) };
}
