import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Gate } from '../runtime/gate.js';
import type { EventStore } from '../store/event-store.js';
import type { CachedPod } from './reflector.js';
import { sleep } from '../core/clock.js';
import type { OurSecret } from './server-objects.js';

/** SweepTarget is what the sweeper needs of the pod client: deletion of one exact pod of ours. */
export interface SweepTarget {
  deleteExact(key: string, uid: string | null, signal?: AbortSignal): Promise<'gone' | 'deleting' | 'replaced'>;
}

/** DEFAULT_SWEEPER_TIMINGS: a sweep a minute; a pod of ours without a server is left alone 5 minutes first. */
export const DEFAULT_SWEEPER_TIMINGS = { intervalMs: 60_000, graceMs: 300_000 } as const;

/** SecretSweepTarget lists this instance's server Secrets and deletes exactly one as listed. */
export interface SecretSweepTarget {
  listSecrets(signal?: AbortSignal): Promise<OurSecret[]>;
  deleteSecret(secret: OurSecret, signal?: AbortSignal): Promise<'gone' | 'changed'>;
}

export interface SweeperOptions {
  store: Pick<EventStore, 'orphans' | 'removeOrphan'>;
  pods: SweepTarget;
  /** secrets: the server Secrets to sweep (a Secret of a server that is not active, and has no pod, is deleted). */
  secrets?: SecretSweepTarget;
  /** secretIntervalMs between sweeps of Secrets (default 5 min): a Secret is left behind rarely, and a list of them is not free. */
  secretIntervalMs?: number;
  /** ourPods lists the pods with our labels the reflector knows of. */
  ourPods: () => Iterable<CachedPod>;
  /** stateOf is the state of the server a key names, undefined when no server has that key. */
  stateOf: (key: string) => string | undefined;
  clock: Clock;
  logger?: Logger | undefined;
  /** gate: nothing is deleted while it is shut (the Lease is not held); the sweep ends at once. */
  gate?: Gate;
  /** intervalMs between sweeps (default 60 s). */
  intervalMs?: number;
  /** callTimeoutMs bounds each deletion; a timed-out one is aborted and tried again at the next sweep (default 10 s). */
  callTimeoutMs?: number;
  /**
   * graceMs: a pod of ours with no server is left alone this long after the reflector first saw it
   * (default 5 min). It is measured on the monotonic clock, not from the pod's creationTimestamp: that
   * is the API server's wall clock, and neither its skew nor a step of ours may shorten the grace.
   */
  graceMs?: number;
}

export interface SweepReport {
  orphans: number;
  deleted: number;
  cleared: number;
  failed: number;
  /** secrets: server Secrets deleted because their server is stopped, failed or unknown. */
  secrets: number;
}

/**
 * OrphanSweeper retries deletion of pods the machines handed on (orphan rows) and of pods with our
 * labels that no server owns, after a grace so a pod being created is not mistaken for one. It only
 * ever deletes a pod of ours, and for an orphan row only the pod with the recorded uid; while the
 * gate is shut it deletes nothing.
 */
export class OrphanSweeper {
  last: SweepReport = { orphans: 0, deleted: 0, cleared: 0, failed: 0, secrets: 0 };
  /** secretsSweptAt: when Secrets were last swept (monotonic ms). */
  private secretsSweptAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly o: SweeperOptions) {}

  async start(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.sweep(signal);
      await sleep(this.o.clock, this.o.intervalMs ?? DEFAULT_SWEEPER_TIMINGS.intervalMs, signal);
    }
  }

  async sweep(signal?: AbortSignal): Promise<SweepReport> {
    const report: SweepReport = { orphans: 0, deleted: 0, cleared: 0, failed: 0, secrets: 0 };
    const acting = () => this.o.gate?.acting !== false;
    for (const orphan of this.o.store.orphans()) {
      if (!acting()) return report;
      const state = this.o.stateOf(orphan.key);
      // With no uid recorded, the pod there now may be the server's new one: touch it only while the server is idle.
      if (orphan.uid === '' && state !== undefined && state !== 'stopped' && state !== 'failed') {
        report.orphans++;
        continue;
      }
      try {
        const outcome = await this.deleteExact(orphan.key, orphan.uid === '' ? null : orphan.uid, signal);
        if (outcome === 'deleting') {
          report.orphans++;
          report.deleted++;
        } else {
          this.o.store.removeOrphan(orphan.sid, orphan.uid);
          report.cleared++;
        }
      } catch (err) {
        report.orphans++;
        report.failed++;
        this.o.logger?.warn({ err, server: orphan.key }, 'could not delete an orphan pod');
      }
    }
    const now = this.o.clock.monotonic();
    for (const pod of [...this.o.ourPods()]) {
      if (!acting()) return report;
      if (this.o.stateOf(pod.key) !== undefined || now - pod.seenAt < (this.o.graceMs ?? DEFAULT_SWEEPER_TIMINGS.graceMs)) continue;
      report.orphans++;
      try {
        if ((await this.deleteExact(pod.key, pod.fact.uid, signal)) === 'deleting') report.deleted++;
      } catch (err) {
        report.failed++;
        this.o.logger?.warn({ err, pod: pod.name }, 'could not delete a pod no server owns');
      }
    }
    if (acting() && now - this.secretsSweptAt >= (this.o.secretIntervalMs ?? 300_000)) {
      this.secretsSweptAt = now;
      report.secrets = await this.sweepSecrets(signal);
    }
    this.last = report;
    return report;
  }

  /**
   * sweepSecrets deletes the Secret of a server that is stopped, failed or unknown and has no pod the
   * reflector knows of: one the delete effect could not remove. It deletes the Secret as listed
   * (uid and resourceVersion), so one a new start has just created or replaced is left alone.
   */
  async sweepSecrets(signal?: AbortSignal): Promise<number> {
    const target = this.o.secrets;
    let deleted = 0;
    if (target === undefined) return deleted;
    const withPods = new Set([...this.o.ourPods()].map((p) => p.key));
    let secrets: OurSecret[];
    try {
      secrets = await this.bounded((s) => target.listSecrets(s), signal);
    } catch (err) {
      this.o.logger?.warn({ err }, 'could not list server secrets');
      return deleted;
    }
    for (const secret of secrets) {
      const state = this.o.stateOf(secret.key);
      if ((state !== undefined && state !== 'stopped' && state !== 'failed') || withPods.has(secret.key)) continue;
      if (this.o.gate?.acting === false) return deleted;
      try {
        if ((await this.bounded((s) => target.deleteSecret(secret, s), signal)) === 'gone') deleted++;
      } catch (err) {
        this.o.logger?.warn({ err, secret: secret.name }, 'could not delete a server secret');
      }
    }
    return deleted;
  }

  /** bounded runs one call, aborted at the call timeout or when the sweeper stops. */
  private async bounded<T>(call: (signal: AbortSignal) => Promise<T>, stop: AbortSignal | undefined): Promise<T> {
    const ms = this.o.callTimeoutMs ?? 10_000;
    const timeout = new AbortController();
    const timer = this.o.clock.setTimeout(() => timeout.abort(new Error(`a sweeper call timed out after ${ms} ms`)), ms);
    try {
      return await call(stop === undefined ? timeout.signal : AbortSignal.any([timeout.signal, stop]));
    } finally {
      this.o.clock.clearTimeout(timer);
    }
  }

  /** deleteExact is one deletion, aborted at its timeout or when the sweeper stops. */
  private deleteExact(key: string, uid: string | null, stop: AbortSignal | undefined): Promise<'gone' | 'deleting' | 'replaced'> {
    return this.bounded((signal) => this.o.pods.deleteExact(key, uid, signal), stop);
  }
}
