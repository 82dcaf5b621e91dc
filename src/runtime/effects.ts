import type { PodFact } from '../../machines/pod-fact.js';
import type { EffectError, EffectParams, PodOp, ServerEvent } from '../../machines/server.machine.js';
import type { Clock } from '../core/clock.js';
import { RuntimeClosedError } from './errors.js';
import type { Gate } from './gate.js';
import { OPEN_GATE } from './gate.js';
import type { PodClient } from './pod-client.js';
import { PodApiError } from './pod-client.js';

export interface EffectJob {
  readonly outboxId: number;
  readonly key: string;
  readonly kind: string;
  readonly params: EffectParams;
}

export type ResultHandler = (key: string, event: ServerEvent, outboxId: number) => void;

const OPS: Record<string, PodOp> = { createPod: 'create', readPod: 'read', deletePod: 'delete' };

/**
 * EffectRunner runs outbox effects through the PodClient: in order for each server (a delete
 * queued after a create runs after it), servers in parallel up to `concurrency`, each call bounded
 * by `timeoutMs`, none started while the gate is shut. Every outcome, success or failure, comes back
 * as a `pod.result` event.
 * A call that times out is aborted and its server hears of the timeout at once, but the call keeps
 * its slot, and its server's next effect waits, until it has settled: calls in flight never exceed
 * `concurrency`, even under an API server too slow to answer, and a server's calls never overlap.
 */
export class EffectRunner {
  private readonly queues = new Map<string, EffectJob[]>();
  private readonly ready: string[] = [];
  private running = 0;
  private closed = false;
  private readonly controllers = new Set<AbortController>();
  private readonly gate: Gate;
  private readonly offGate: () => void;
  /** stats count the calls that timed out. */
  readonly stats = { timedOut: 0 };

  constructor(
    private readonly options: {
      pods: PodClient;
      clock: Clock;
      timeoutMs: number;
      concurrency: number;
      onResult: ResultHandler;
      onError?: (job: EffectJob, err: unknown) => void;
      /** gate: no effect starts while it is shut; queued ones start when it opens (default: always open). */
      gate?: Gate;
    },
  ) {
    this.gate = options.gate ?? OPEN_GATE;
    this.offGate = this.gate.onOpen(() => this.pump());
  }

  /** pending counts effects queued or running. */
  get pending(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  /** inFlight counts calls started and not yet settled, timed-out ones included. */
  get inFlight(): number {
    return this.running;
  }

  /** lingering counts calls that timed out and have not settled yet: each still holds its slot. */
  get lingering(): number {
    let n = 0;
    for (const c of this.controllers) if (c.signal.aborted) n++;
    return n;
  }

  /** startable counts effects that could start now (not waiting behind a running one of their server). */
  get startable(): number {
    return this.running < this.options.concurrency && this.gate.acting ? this.ready.length : 0;
  }

  /** has tells whether a server has an effect queued or running. */
  has(key: string): boolean {
    return this.queues.has(key);
  }

  enqueue(job: EffectJob): void {
    if (this.closed) return;
    const queue = this.queues.get(job.key);
    if (queue === undefined) {
      this.queues.set(job.key, [job]);
      this.ready.push(job.key);
      this.pump();
    } else {
      queue.push(job);
    }
  }

  /** close drops queued effects and aborts running ones; their outbox rows stay for the next start. */
  close(): void {
    this.closed = true;
    this.offGate();
    for (const c of this.controllers) c.abort(new RuntimeClosedError());
    this.queues.clear();
    this.ready.length = 0;
  }

  private pump(): void {
    while (!this.closed && this.running < this.options.concurrency && this.ready.length > 0 && this.gate.acting) {
      const key = this.ready.shift() as string;
      const job = this.queues.get(key)?.[0];
      if (job === undefined) continue;
      this.running++;
      const release = () => {
        this.running--;
        if (this.closed) return;
        const queue = this.queues.get(key);
        queue?.shift();
        if (queue !== undefined && queue.length > 0) this.ready.push(key);
        else this.queues.delete(key);
        this.pump();
      };
      // An aborted call's connection closes on the way out; the next call waits one turn of the event
      // loop, so an API server on a kept-alive connection is not handed it before that close.
      void this.run(job).then(
        (aborted) => (aborted ? setImmediate(release) : release()),
        (err: unknown) => {
          release();
          throw err;
        },
      );
    }
  }

  /**
   * run makes one call; it resolves when the call has settled, which for a timed-out call is after
   * its server was told, with whether the call was aborted.
   */
  private async run(job: EffectJob): Promise<boolean> {
    const op = OPS[job.kind];
    const controller = new AbortController();
    this.controllers.add(controller);
    const { clock, timeoutMs } = this.options;
    let told = false;
    const tell = (outcome: { pod: PodFact } | { err: unknown }): void => {
      if (told) return;
      told = true;
      if ('err' in outcome) this.options.onError?.(job, outcome.err);
      const event: ServerEvent =
        'pod' in outcome
          ? { type: 'pod.result', ref: job.params.ref, op: op ?? 'read', pod: outcome.pod }
          : { type: 'pod.result', ref: job.params.ref, op: op ?? 'read', error: toEffectError(outcome.err) };
      if (!this.closed) this.options.onResult(job.key, event, job.outboxId);
    };
    const timer = clock.setTimeout(() => {
      this.stats.timedOut++;
      const err = new PodApiError(`${op ?? job.kind} timed out after ${timeoutMs} ms`);
      tell({ err }); // the server hears of the timeout now, not when the call settles
      controller.abort(err);
    }, timeoutMs);
    try {
      if (op === undefined) throw new Error(`unknown effect ${job.kind}`);
      tell({ pod: await this.call(op, job, controller.signal) });
    } catch (err) {
      tell({ err });
    } finally {
      clock.clearTimeout(timer);
      this.controllers.delete(controller);
    }
    return controller.signal.aborted;
  }

  private call(op: PodOp, job: EffectJob, signal: AbortSignal): Promise<PodFact> {
    const { pods } = this.options;
    if (op === 'create') return pods.create(job.key, signal);
    if (op === 'read') return pods.read(job.key, signal);
    return pods.delete(job.key, { force: job.params.force === true }, signal);
  }
}

/** toEffectError keeps what the machine may decide on: the code, the reason and a short message. */
export function toEffectError(err: unknown): EffectError {
  if (err instanceof PodApiError) return { code: err.code, reason: err.reason, message: err.message.slice(0, 300) };
  const message = err instanceof Error ? err.message : String(err);
  return { message: message.slice(0, 300) };
}
