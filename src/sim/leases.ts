import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HandlerContext } from './handlers.js';
import { mediaType, parseJson, readBody, sendJson } from './http-util.js';
import { isDns1123Subdomain } from './pod-validation.js';
import { ApiError, badRequest, invalid, statusObject, unsupportedMediaType } from './status.js';
import type { KubeObject } from './types.js';
import { rfc3339 } from './types.js';

/**
 * Leases (coordination.k8s.io/v1) are what leader election writes: the simulator stores them in the
 * same store as pods, so they share its resourceVersion counter, its watches and its faults, and it
 * applies the API server's rules for them: optimistic concurrency on update (a stale
 * resourceVersion gets 409 Conflict), 409 AlreadyExists on create, MicroTime timestamps.
 */

export const LEASE_GROUP = 'coordination.k8s.io';
const QUALIFIED = `leases.${LEASE_GROUP}`;

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
  [field: string]: unknown;
}

export interface Lease extends KubeObject {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  spec: LeaseSpec;
}

/** MICRO_TIME is the API server's RFC3339Micro: exactly six digits of fraction; anything else is a 400. */
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

export interface LeaseContext extends HandlerContext {
  namespaces: Set<string>;
  leaseUid: () => string;
}

function leaseError(code: number, reason: string, message: string, name: string): ApiError {
  return new ApiError(statusObject(code, reason, message, { name, group: LEASE_GROUP, kind: 'leases' }));
}

function notFound(name: string): ApiError {
  return leaseError(404, 'NotFound', `${QUALIFIED} "${name}" not found`, name);
}

function conflict(name: string, why: string): ApiError {
  return leaseError(409, 'Conflict', `Operation cannot be fulfilled on ${QUALIFIED} "${name}": ${why}`, name);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** checkLease turns a request body into a Lease or throws the Status the API server would send. */
function checkLease(body: unknown, namespace: string): Lease {
  if (!isRecord(body)) throw badRequest('the body must be a Lease object');
  if (body['kind'] !== undefined && body['kind'] !== 'Lease') throw badRequest(`the kind of the object must be Lease, not ${JSON.stringify(body['kind'])}`);
  if (body['apiVersion'] !== undefined && body['apiVersion'] !== `${LEASE_GROUP}/v1`) throw badRequest(`the apiVersion must be ${LEASE_GROUP}/v1`);
  const meta = isRecord(body['metadata']) ? body['metadata'] : {};
  const name = typeof meta['name'] === 'string' ? meta['name'] : '';
  if (meta['namespace'] !== undefined && meta['namespace'] !== '' && meta['namespace'] !== namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  const spec = body['spec'] === undefined || body['spec'] === null ? {} : body['spec'];
  if (!isRecord(spec)) throw badRequest('spec must be an object');
  for (const field of ['acquireTime', 'renewTime']) {
    const value = spec[field];
    if (value !== undefined && value !== null && (typeof value !== 'string' || !MICRO_TIME.test(value))) {
      throw badRequest(`Lease in version "v1" cannot be handled as a Lease: parsing time ${JSON.stringify(value)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse`);
    }
  }
  const causes: Array<{ field: string; message: string }> = [];
  if (name === '') causes.push({ field: 'metadata.name', message: 'Required value: name or generateName is required' });
  else if (!isDns1123Subdomain(name)) causes.push({ field: 'metadata.name', message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'` });
  const duration = spec['leaseDurationSeconds'];
  if (duration !== undefined && duration !== null && (!Number.isInteger(duration) || (duration as number) <= 0)) {
    causes.push({ field: 'spec.leaseDurationSeconds', message: `Invalid value: ${JSON.stringify(duration)}: must be greater than 0` });
  }
  const transitions = spec['leaseTransitions'];
  if (transitions !== undefined && transitions !== null && (!Number.isInteger(transitions) || (transitions as number) < 0)) {
    causes.push({ field: 'spec.leaseTransitions', message: `Invalid value: ${JSON.stringify(transitions)}: must be greater than or equal to 0` });
  }
  const holder = spec['holderIdentity'];
  if (holder !== undefined && holder !== null && typeof holder !== 'string') causes.push({ field: 'spec.holderIdentity', message: 'must be a string' });
  if (causes.length > 0) throw invalid('Lease', name, causes);
  const labels = isRecord(meta['labels']) ? (meta['labels'] as Record<string, string>) : undefined;
  const annotations = isRecord(meta['annotations']) ? (meta['annotations'] as Record<string, string>) : undefined;
  const kept: LeaseSpec = {};
  for (const [k, v] of Object.entries(spec)) if (v !== null) kept[k] = v;
  return {
    apiVersion: `${LEASE_GROUP}/v1`,
    kind: 'Lease',
    metadata: {
      name,
      namespace,
      uid: typeof meta['uid'] === 'string' ? meta['uid'] : '',
      resourceVersion: typeof meta['resourceVersion'] === 'string' ? meta['resourceVersion'] : '',
      creationTimestamp: '',
      ...(labels === undefined ? {} : { labels }),
      ...(annotations === undefined ? {} : { annotations }),
    },
    spec: kept,
  };
}

async function readLease(ctx: LeaseContext, namespace: string, req: IncomingMessage): Promise<Lease> {
  const type = mediaType(req);
  if (type !== '' && type !== 'application/json') throw unsupportedMediaType(type);
  if (!ctx.namespaces.has(namespace)) throw new ApiError(statusObject(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' }));
  return checkLease(parseJson(await readBody(req, ctx.maxBodyBytes)), namespace);
}

/** createLease is POST: 201 with the stored Lease, 409 AlreadyExists when the name is taken. */
export async function createLease(ctx: LeaseContext, namespace: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const lease = await readLease(ctx, namespace, req);
  if (lease.metadata.resourceVersion !== '') throw badRequest('resourceVersion should not be set on objects to be created');
  const name = lease.metadata.name;
  if (ctx.store.get('leases', namespace, name) !== undefined) throw leaseError(409, 'AlreadyExists', `${QUALIFIED} "${name}" already exists`, name);
  lease.metadata.uid = ctx.leaseUid();
  lease.metadata.creationTimestamp = rfc3339(ctx.now());
  sendJson(res, 201, ctx.store.create('leases', lease));
}

/**
 * updateLease is PUT: the body's resourceVersion, when given, must be the stored one (409 Conflict
 * otherwise, the optimistic lock leader election relies on); without one the update is unconditional,
 * as the API server allows for leases. A missing lease is 404: PUT does not create one.
 */
export async function updateLease(ctx: LeaseContext, namespace: string, name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const lease = await readLease(ctx, namespace, req);
  if (lease.metadata.name !== name) throw badRequest(`the name of the object (${lease.metadata.name}) does not match the name on the URL (${name})`);
  const current = ctx.store.get('leases', namespace, name);
  if (current === undefined) throw notFound(name);
  const { uid, resourceVersion } = lease.metadata;
  if (uid !== '' && uid !== current.metadata.uid) throw conflict(name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata.uid}`);
  if (resourceVersion !== '' && resourceVersion !== current.metadata.resourceVersion) {
    throw conflict(name, 'the object has been modified; please apply your changes to the latest version and try again');
  }
  const stored = ctx.store.modify('leases', namespace, name, (draft) => {
    const { labels, annotations } = lease.metadata;
    if (labels === undefined) delete draft.metadata.labels;
    else draft.metadata.labels = labels;
    if (annotations === undefined) delete draft.metadata.annotations;
    else draft.metadata.annotations = annotations;
    draft['spec'] = lease.spec;
  });
  sendJson(res, 200, stored);
}

export function getLease(ctx: LeaseContext, namespace: string, name: string, res: ServerResponse): void {
  const lease = ctx.store.get('leases', namespace, name);
  if (lease === undefined) throw notFound(name);
  sendJson(res, 200, lease);
}

/** deleteLease removes a Lease at once (no graceful deletion) and answers a Success Status, as the API server does. */
export function deleteLease(ctx: LeaseContext, namespace: string, name: string, res: ServerResponse): void {
  if (ctx.store.get('leases', namespace, name) === undefined) throw notFound(name);
  const gone = ctx.store.remove('leases', namespace, name);
  sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: LEASE_GROUP, kind: 'leases', uid: gone.metadata.uid } });
}
