import type { AnyEventObject } from 'xstate';
import { serverMachine } from '../../../machines/server.machine.js';
import type { ServerSnapshot } from '../../runtime/step.js';
import { initialSnapshot } from '../../runtime/step.js';
import type { Spawnkeeper } from '../../spawnkeeper.js';
import { internals } from '../../spawnkeeper.js';
import { machineConfig } from '../cli/export-machine.js';

/**
 * The runtime steps machines with the pure transition(), not live actors, so nothing reaches the
 * Stately inspector by itself: attachInspector sends each server's registration (with the machine's
 * definition), every committed event and every snapshot through the inspector's manual calls.
 */

/** InspectedRef stands in for a live actor: the runtime steps snapshots, so there is none to pass. */
export interface InspectedRef {
  readonly sessionId: string;
  readonly id: string;
  readonly logic: { config: object };
  send(event: AnyEventObject): void;
  getSnapshot(): unknown;
}

/** InspectionSink is what we need of @statelyai/inspect's inspector: its three manual calls. */
export interface InspectionSink {
  /** actor registers an actor; the inspector reads the definition from `logic.config` of the ref it is given. */
  actor(actor: InspectedRef, snapshot?: object): void;
  event(actor: string, event: AnyEventObject): void;
  snapshot(actor: string, snapshot: object, info?: { event?: AnyEventObject }): void;
}

const SECRET = /token|secret|password|authorization/i;

/** sanitize drops anything that looks like a credential from what leaves the process. */
export function sanitize<T>(value: T): T {
  if (Array.isArray(value)) return value.map(sanitize) as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET.test(k) ? '[redacted]' : sanitize(v)])) as T;
  }
  return value;
}

/** actorId names a server's actor in the inspector. */
export function actorId(key: string): string {
  return `server:${key}`;
}

function inspected(snapshot: ServerSnapshot) {
  return { status: snapshot.status, value: snapshot.value, context: sanitize(snapshot.context) };
}

/** logic is the server machine as the inspector draws it: the definition `export-machine` prints. */
const logic = { config: machineConfig(serverMachine) };

/** attachInspector registers every server and forwards each committed step; it returns a detach function. */
export function attachInspector(sk: Spawnkeeper, inspector: InspectionSink): () => void {
  const { runtime } = internals(sk);
  const registered = new Set<string>();
  const register = (key: string, snapshot: ServerSnapshot) => {
    if (registered.has(key)) return;
    registered.add(key);
    const ref: InspectedRef = {
      sessionId: actorId(key),
      id: actorId(key),
      logic,
      send: () => undefined,
      getSnapshot: () => runtime.get(key)?.snapshot,
    };
    inspector.actor(ref, inspected(snapshot));
  };
  for (const view of runtime.list()) register(view.key, view.snapshot);
  const off = runtime.subscribe((step) => {
    register(step.key, initialSnapshot(serverMachine)); // a server new in this step starts where every server starts
    const event = sanitize(step.event) as AnyEventObject;
    inspector.event(actorId(step.key), event);
    inspector.snapshot(actorId(step.key), inspected(step.snapshot), { event });
  });
  return off;
}
