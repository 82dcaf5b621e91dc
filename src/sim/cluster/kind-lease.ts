import type { KindSpec } from './kinds.js';
import type { Cause } from './object-meta.js';
import { isRecord } from './object-meta.js';
import { badRequest } from '../api/status.js';

/** MICRO_TIME is the API server's RFC3339Micro: exactly six digits of fraction; anything else cannot be decoded (400). */
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

function checkSpec(raw: unknown, causes: Cause[]): Record<string, unknown> {
  if (raw !== undefined && raw !== null && !isRecord(raw))
    throw badRequest('Lease in version "v1" cannot be handled as a Lease: spec must be an object');
  const spec: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(isRecord(raw) ? raw : {})) if (v !== null) spec[k] = v;
  for (const field of ['acquireTime', 'renewTime']) {
    const value = spec[field];
    if (value !== undefined && (typeof value !== 'string' || !MICRO_TIME.test(value))) {
      throw badRequest(
        `Lease in version "v1" cannot be handled as a Lease: parsing time ${JSON.stringify(value)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse`,
      );
    }
  }
  const duration = spec['leaseDurationSeconds'];
  if (duration !== undefined && (!Number.isInteger(duration) || (duration as number) <= 0)) {
    causes.push({ field: 'spec.leaseDurationSeconds', message: `Invalid value: ${JSON.stringify(duration)}: must be greater than 0` });
  }
  const transitions = spec['leaseTransitions'];
  if (transitions !== undefined && (!Number.isInteger(transitions) || (transitions as number) < 0)) {
    causes.push({
      field: 'spec.leaseTransitions',
      message: `Invalid value: ${JSON.stringify(transitions)}: must be greater than or equal to 0`,
    });
  }
  if (spec['holderIdentity'] !== undefined && typeof spec['holderIdentity'] !== 'string')
    causes.push({ field: 'spec.holderIdentity', message: 'must be a string' });
  return spec;
}

/**
 * LEASES serves coordination.k8s.io/v1 Leases, what leader election writes. The generic registry
 * gives them what election relies on: 409 AlreadyExists on a second create, 409 Conflict on an
 * update with a stale resourceVersion, a Success Status on delete; here are their own rules:
 * MicroTime times, a positive duration, non-negative transitions.
 */
export const LEASES: KindSpec = {
  group: 'coordination.k8s.io',
  version: 'v1',
  resource: 'leases',
  kind: 'Lease',
  singular: 'lease',
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  fieldLabels: [],
  returnDeletedObject: false,
  validate(body, metadata, _ctx, causes) {
    return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec: checkSpec(body['spec'], causes) };
  },
};
