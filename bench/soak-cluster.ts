// The soak's cluster: an in-process PodClient in virtual time whose kubelet delays are drawn from a seeded stream.
import type { PodFact } from '../machines/pod-fact.js';
import type { PodClient } from '../src/runtime/pod-client.js';
import type { Random } from '../src/sim/cluster/prng.js';

/** Fates of a spawn, as the soak draws them. */
export interface KubeletMix {
  /** slowShare of spawns wait for an image pull or a node: 60–240 s (default 5 %). */
  slowShare: number;
  /** failShare of pods fail before they serve (default 1 %). */
  failShare: number;
}

interface Pod {
  uid: string;
  rv: number;
  phase: 'Pending' | 'Running' | 'Failed';
  ready: boolean;
  deleting: boolean;
}

interface Due {
  at: number;
  key: string;
  uid: string;
  change: 'ready' | 'fail' | 'gone';
}

/**
 * SoakCluster answers at once (no network: the soak measures what spawnkeeper writes and asks, not
 * loopback HTTP) and tells every change of a pod to `watch`, as the reflector's watch would. It counts
 * the calls the runtime makes, by verb. A normal spawn's pod is ready after a log-normal delay (median
 * 4 s, most within 2–10 s); slow ones after 60–240 s; failing ones fail after 5–30 s. A deleted pod
 * is gone 1–3 s later (its grace period).
 */
export class SoakCluster implements PodClient {
  readonly requests = { create: 0, get: 0, delete: 0 };
  private readonly pods = new Map<string, Pod>();
  private readonly heap: Due[] = [];
  private rv = 1;
  private uids = 0;

  constructor(
    private readonly now: () => number,
    private readonly random: Random,
    private readonly watch: (key: string, fact: PodFact) => void,
    private readonly mix: KubeletMix = { slowShare: 0.05, failShare: 0.01 },
  ) {}

  create(key: string): Promise<PodFact> {
    this.requests.create++;
    let pod = this.pods.get(key);
    if (pod === undefined) {
      pod = { uid: `uid-${++this.uids}`, rv: ++this.rv, phase: 'Pending', ready: false, deleting: false };
      this.pods.set(key, pod);
      const draw = this.random();
      if (draw < this.mix.failShare) this.schedule(key, pod.uid, 'fail', 5_000 + this.random() * 25_000);
      else if (draw < this.mix.failShare + this.mix.slowShare) this.schedule(key, pod.uid, 'ready', 60_000 + this.random() * 180_000);
      else this.schedule(key, pod.uid, 'ready', Math.min(60_000, 4_000 * Math.exp(0.5 * gaussian(this.random))));
      this.watch(key, factOf(pod));
    }
    return Promise.resolve(factOf(pod));
  }

  read(key: string): Promise<PodFact> {
    this.requests.get++;
    const pod = this.pods.get(key);
    return Promise.resolve(pod === undefined ? { exists: false } : factOf(pod));
  }

  delete(key: string): Promise<PodFact> {
    this.requests.delete++;
    const pod = this.pods.get(key);
    if (pod === undefined) return Promise.resolve({ exists: false });
    if (!pod.deleting) {
      Object.assign(pod, { deleting: true, ready: false, rv: ++this.rv });
      this.schedule(key, pod.uid, 'gone', 1_000 + this.random() * 2_000);
      this.watch(key, factOf(pod));
    }
    return Promise.resolve(factOf(pod));
  }

  /** advance applies every change due by `now`, in time order, telling the watch of each. */
  advance(): void {
    const now = this.now();
    for (let next = this.heap[0]; next !== undefined && next.at <= now; next = this.heap[0]) {
      this.pop();
      const pod = this.pods.get(next.key);
      if (pod === undefined || pod.uid !== next.uid) continue;
      if (next.change === 'gone') {
        this.pods.delete(next.key);
        this.watch(next.key, { exists: false, uid: pod.uid, resourceVersion: String(++this.rv) });
        continue;
      }
      if (pod.deleting) continue;
      if (next.change === 'ready') Object.assign(pod, { phase: 'Running', ready: true, rv: ++this.rv });
      else Object.assign(pod, { phase: 'Failed', ready: false, rv: ++this.rv });
      this.watch(next.key, factOf(pod));
    }
  }

  get size(): number {
    return this.pods.size;
  }

  private schedule(key: string, uid: string, change: Due['change'], afterMs: number): void {
    const due: Due = { at: this.now() + afterMs, key, uid, change };
    const h = this.heap;
    h.push(due);
    for (let i = h.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if ((h[parent] as Due).at <= due.at) break;
      h[i] = h[parent] as Due;
      h[parent] = due;
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop() as Due;
    if (h.length === 0) return;
    h[0] = last;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && (h[l] as Due).at < (h[m] as Due).at) m = l;
      if (r < h.length && (h[r] as Due).at < (h[m] as Due).at) m = r;
      if (m === i) break;
      h[i] = h[m] as Due;
      h[m] = last;
      i = m;
    }
  }
}

/** gaussian draws a standard normal number (Box–Muller). */
export function gaussian(random: Random): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function factOf(pod: Pod): PodFact {
  return { exists: true, uid: pod.uid, resourceVersion: String(pod.rv), phase: pod.phase, ready: pod.ready, deleting: pod.deleting };
}
