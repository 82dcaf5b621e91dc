/**
 * Gate says whether the hub may change the cluster now. The runtime's effects and the orphan
 * sweeper consult it before each call: while it is shut, effects wait in the outbox and commands
 * are still committed. The Kubernetes Lease is the production gate (src/kube/lease.ts).
 */
export interface Gate {
  /** acting: true only while this hub holds the right to act; read before every call. */
  readonly acting: boolean;
  /** onOpen tells `listener` each time the gate opens again, so waiting work can start; it returns the unsubscribe. */
  onOpen(listener: () => void): () => void;
}

/** OPEN_GATE is always open: a runtime built without a lease (tests, a model cluster) acts at once. */
export const OPEN_GATE: Gate = { acting: true, onOpen: () => () => undefined };
