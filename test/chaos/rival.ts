import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiProxy, kubeconfigFor } from '../support/api-proxy.js';
import { HubProcess, freePort } from './hub-process.js';
import { mulberry32 } from './workload.js';

/** RivalPlan is one "second hub" fault: when a competing hub starts, and how long it lives before its SIGKILL. */
export interface RivalPlan {
  readonly atMs: number;
  readonly lifeMs: number;
}

/** rivalTimes spreads `n` competing hubs over the first 70% of a run by the seed. */
export function rivalTimes(seed: number, durationMs: number, n: number): RivalPlan[] {
  const random = mulberry32(seed ^ 0x72697661);
  return Array.from({ length: n }, () => ({ atMs: random() * durationMs * 0.7, lifeMs: 3_000 + random() * 5_000 })).sort(
    (a, b) => a.atMs - b.atMs,
  );
}

/**
 * Rivals is the chaos run's "second hub" fault: a hub with its own database and the same instance
 * (a second Deployment by mistake, a copied volume) started on the same cluster and SIGKILLed later.
 * It reaches the API server through a recording proxy, so the run can check that it never created,
 * deleted or changed a pod and that it answered 503 while the real hub held the Lease.
 */
export class Rivals {
  started = 0;
  /** healthy: rivals that answered /hub/health 200, believing they held the lease. */
  healthy = 0;
  private constructor(
    private readonly proxy: ApiProxy,
    private readonly o: { dir: string; config: string; token: string; kubeconfig: string },
  ) {}

  static async start(o: { simUrl: string; dir: string; config: string; token: string }): Promise<Rivals> {
    const proxy = await ApiProxy.start(o.simUrl);
    const kubeconfig = join(o.dir, 'rival.kubeconfig.json');
    writeFileSync(kubeconfig, kubeconfigFor(proxy.url));
    return new Rivals(proxy, { ...o, kubeconfig });
  }

  /** run starts and kills each planned rival at its time from `began`. */
  async run(plan: readonly RivalPlan[], began: number): Promise<void> {
    for (const [i, p] of plan.entries()) {
      const wait = began + p.atMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const { dir, config, token, kubeconfig } = this.o;
      const rival = new HubProcess({
        port: await freePort(),
        db: join(dir, `rival-${i}.db`),
        kubeconfig,
        config,
        token,
        logFile: join(dir, `rival-${i}.log`),
      });
      try {
        await rival.start();
        this.started++;
        const lived = Date.now() + p.lifeMs;
        while (Date.now() < lived) {
          const status = await fetch(`${rival.url}/hub/health`, { signal: AbortSignal.timeout(2_000) }).then(
            (r) => r.status,
            () => 0,
          );
          if (status === 200) this.healthy++;
          await new Promise((r) => setTimeout(r, 500));
        }
      } finally {
        await rival.kill();
        rival.close();
      }
    }
  }

  /** problems: every write a rival made to the cluster, and every time one thought it held the lease. */
  problems(): string[] {
    const writes = this.proxy.seen.filter((s) => s.method !== 'GET' && /\/pods(\/|$)/.test(s.path));
    const out = writes.slice(0, 10).map((w) => `a second hub that did not hold the lease called ${w.method} ${w.path}`);
    if (this.healthy > 0) out.push(`a second hub answered /hub/health 200 ${this.healthy} time(s) while the hub held the lease`);
    return out;
  }

  close(): Promise<void> {
    return this.proxy.close();
  }
}
