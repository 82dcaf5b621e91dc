import type { SimClock } from './clock.js';
import type { Random } from './prng.js';
import { hex, uuid } from './prng.js';
import type { ClusterStore } from './store.js';
import type { KubeEvent, Pod } from './types.js';
import { rfc3339 } from './types.js';

export interface EventRecorderOptions {
  store: ClusterStore;
  clock: SimClock;
  random: Random;
  /** How many Event objects to keep; older ones are deleted, as the real event TTL does. */
  maxEvents: number;
}

/**
 * EventRecorder writes core/v1 Events about pods (Scheduled, Pulling, Started, Killing, BackOff …),
 * the stream a hub reads to show spawn progress; a repeat of the same reason and message bumps
 * `count` on the existing Event instead of adding one, as the real recorder does.
 */
export class EventRecorder {
  private readonly byKey = new Map<string, { namespace: string; name: string }>();

  constructor(private readonly options: EventRecorderOptions) {}

  record(
    pod: Pod,
    type: KubeEvent['type'],
    reason: string,
    message: string,
    component: 'default-scheduler' | 'kubelet' | 'node-controller' | 'taint-eviction-controller',
  ): void {
    const { store, clock } = this.options;
    const now = rfc3339(clock.now());
    const key = `${pod.metadata.uid}\u0000${reason}\u0000${message}`;
    const known = this.byKey.get(key);
    if (known !== undefined && store.get('events', known.namespace, known.name) !== undefined) {
      store.modify('events', known.namespace, known.name, (draft) => {
        const event = draft as KubeEvent;
        event.count += 1;
        event.lastTimestamp = now;
      });
      return;
    }
    const name = `${pod.metadata.name}.${hex(this.options.random, 16)}`;
    const event: KubeEvent = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: pod.metadata.namespace, uid: uuid(this.options.random), resourceVersion: '', creationTimestamp: now },
      involvedObject: {
        kind: 'Pod',
        namespace: pod.metadata.namespace,
        name: pod.metadata.name,
        uid: pod.metadata.uid,
        apiVersion: 'v1',
        resourceVersion: pod.metadata.resourceVersion,
        ...(component === 'kubelet' && reason !== 'Killing' ? { fieldPath: `spec.containers{${pod.spec.containers[0]?.name ?? ''}}` } : {}),
      },
      reason,
      message,
      type,
      source: component === 'kubelet' ? { component, host: pod.spec.nodeName ?? '' } : { component },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      reportingComponent: component,
      reportingInstance: component === 'kubelet' ? (pod.spec.nodeName ?? '') : '',
    };
    store.create('events', event);
    this.byKey.set(key, { namespace: event.metadata.namespace, name });
    this.evictOldest();
  }

  private evictOldest(): void {
    const { store, maxEvents } = this.options;
    while (this.byKey.size > maxEvents) {
      const first = this.byKey.entries().next();
      if (first.done === true) return;
      const [key, ref] = first.value;
      this.byKey.delete(key);
      if (store.get('events', ref.namespace, ref.name) !== undefined) store.remove('events', ref.namespace, ref.name);
    }
  }
}
