import type { PodFact } from '../../machines/pod-fact.js';

/**
 * PodClient is the narrow role the runtime's effects need from a cluster. Every call must be
 * idempotent: create answers the existing pod when it is ours (409 adopted), delete answers an
 * absent pod when it is already gone (404). Failures throw PodApiError. A pod that has ended (phase
 * Failed or Succeeded: with restartPolicy OnFailure nothing restarts it) is a past life of the
 * server, never adopted by a new start: create deletes it and fails with a 409 `AlreadyExists`, so
 * the start retries and makes a fresh pod once it is gone.
 */
export interface PodClient {
  create(server: string, signal: AbortSignal): Promise<PodFact>;
  read(server: string, signal: AbortSignal): Promise<PodFact>;
  delete(server: string, options: { force: boolean }, signal: AbortSignal): Promise<PodFact>;
}

/** PodApiError is a failed cluster call; `reason` is a Kubernetes Status reason or `Foreign`. */
export class PodApiError extends Error {
  readonly code: number | undefined;
  readonly reason: string | undefined;

  constructor(message: string, options: { code?: number; reason?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'PodApiError';
    this.code = options.code;
    this.reason = options.reason;
  }
}
