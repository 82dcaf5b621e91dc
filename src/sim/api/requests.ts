import type { ServerResponse } from 'node:http';
import type { Verb } from '../faults/faults.js';

/** RequestStats tell how many API calls the simulator is handling, so a test can bound a client's concurrency. */
export interface RequestStats {
  /** open is how many calls of these verbs (all by default) are being handled now. */
  open(verbs?: readonly Verb[]): number;
  /** recordPeak records from now on the most calls of these verbs open at once; the returned function reads it. */
  recordPeak(verbs: readonly Verb[]): () => number;
  /** abandoned counts delayed calls whose client had gone when their delay ended (dropped or run, as the fault said). */
  abandoned(): number;
}

/**
 * RequestLedger counts the calls in progress by verb: a call opens when it is routed and closes when
 * its response ends or its connection goes, whichever comes first.
 */
export class RequestLedger implements RequestStats {
  private readonly counts = new Map<Verb, number>();
  private readonly peaks: Array<{ verbs: readonly Verb[]; peak: number }> = [];
  private abandonedCount = 0;

  /** track counts one call of `verb` until its response closes. */
  track(verb: Verb, res: ServerResponse): void {
    this.counts.set(verb, (this.counts.get(verb) ?? 0) + 1);
    for (const p of this.peaks) p.peak = Math.max(p.peak, this.open(p.verbs));
    res.once('close', () => this.counts.set(verb, (this.counts.get(verb) ?? 1) - 1));
  }

  abandon(): void {
    this.abandonedCount++;
  }

  open(verbs?: readonly Verb[]): number {
    let n = 0;
    for (const [verb, count] of this.counts) if (verbs === undefined || verbs.includes(verb)) n += count;
    return n;
  }

  recordPeak(verbs: readonly Verb[]): () => number {
    const entry = { verbs, peak: this.open(verbs) };
    this.peaks.push(entry);
    return () => entry.peak;
  }

  abandoned(): number {
    return this.abandonedCount;
  }
}

/**
 * clientGone tells whether the client of a response went away before it was answered (it aborted,
 * or its connection broke).
 */
export function clientGone(res: ServerResponse): boolean {
  return !res.writableEnded && (res.destroyed || res.socket === null || res.socket.destroyed);
}
