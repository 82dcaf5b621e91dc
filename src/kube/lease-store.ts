import { V1MicroTime } from '@kubernetes/client-node';
import type { CoordinationV1Api, V1Lease } from '@kubernetes/client-node';
import { statusOf, withSignal } from './pod-client.js';

/** LeaseRecord is what leader election reads and writes of a Lease, times as ms since the epoch. */
export interface LeaseRecord {
  /** holder: the identity holding the lease, '' when released. */
  readonly holder: string;
  readonly durationSeconds: number;
  readonly acquireTime: number | undefined;
  readonly renewTime: number | undefined;
  readonly transitions: number;
  /** resourceVersion: what an update must match (the optimistic lock); '' for a record not yet stored. */
  readonly resourceVersion: string;
}

/** LeaseConflictError: another writer got there first (409); the attempt is lost, nothing is wrong. */
export class LeaseConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseConflictError';
  }
}

/** LeaseStore is the narrow role the elector needs of the cluster: one Lease, read, created and updated. */
export interface LeaseStore {
  readonly namespace: string;
  readonly name: string;
  /** get answers the Lease, or undefined when it does not exist. */
  get(signal: AbortSignal): Promise<LeaseRecord | undefined>;
  /** create stores a new Lease; LeaseConflictError when one exists. */
  create(record: LeaseRecord, signal: AbortSignal): Promise<LeaseRecord>;
  /** update replaces the Lease if its resourceVersion is still `record.resourceVersion`; LeaseConflictError otherwise. */
  update(record: LeaseRecord, signal: AbortSignal): Promise<LeaseRecord>;
}

function time(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(String(value));
  return Number.isFinite(ms) ? ms : undefined;
}

function toRecord(lease: V1Lease): LeaseRecord {
  const spec = lease.spec ?? {};
  return {
    holder: spec.holderIdentity ?? '',
    durationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTime: time(spec.acquireTime),
    renewTime: time(spec.renewTime),
    transitions: spec.leaseTransitions ?? 0,
    resourceVersion: lease.metadata?.resourceVersion ?? '',
  };
}

/**
 * KubeLeaseStore keeps one coordination.k8s.io/v1 Lease through client-node; times go out as
 * MicroTime (six digits of fraction, what the API server parses), every call honours its signal.
 */
export class KubeLeaseStore implements LeaseStore {
  constructor(
    private readonly api: CoordinationV1Api,
    readonly namespace: string,
    readonly name: string,
  ) {}

  private body(record: LeaseRecord): V1Lease {
    const micro = (ms: number | undefined) => (ms === undefined ? undefined : new V1MicroTime(ms));
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.name,
        namespace: this.namespace,
        ...(record.resourceVersion === '' ? {} : { resourceVersion: record.resourceVersion }),
      },
      spec: {
        holderIdentity: record.holder,
        leaseDurationSeconds: record.durationSeconds,
        ...(record.acquireTime === undefined ? {} : { acquireTime: micro(record.acquireTime) }),
        ...(record.renewTime === undefined ? {} : { renewTime: micro(record.renewTime) }),
        leaseTransitions: record.transitions,
      },
    };
  }

  async get(signal: AbortSignal): Promise<LeaseRecord | undefined> {
    try {
      return toRecord(await this.api.readNamespacedLease({ name: this.name, namespace: this.namespace }, withSignal(signal)));
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async create(record: LeaseRecord, signal: AbortSignal): Promise<LeaseRecord> {
    try {
      return toRecord(
        await this.api.createNamespacedLease(
          { namespace: this.namespace, body: this.body({ ...record, resourceVersion: '' }) },
          withSignal(signal),
        ),
      );
    } catch (err) {
      if (statusOf(err) === 409) throw new LeaseConflictError(`lease ${this.name} was created by another holder first`);
      throw err;
    }
  }

  async update(record: LeaseRecord, signal: AbortSignal): Promise<LeaseRecord> {
    try {
      return toRecord(
        await this.api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body: this.body(record) }, withSignal(signal)),
      );
    } catch (err) {
      if (statusOf(err) === 409) throw new LeaseConflictError(`lease ${this.name} was changed by another holder first`);
      throw err;
    }
  }
}
