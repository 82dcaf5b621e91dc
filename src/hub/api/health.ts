import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import type { Spawnkeeper, SpawnkeeperHealth } from '../../spawnkeeper.js';

/** HealthReport is the body of /hub/health: healthy or not, why, and the numbers behind it. */
export interface HealthReport extends Omit<SpawnkeeperHealth, 'reflector' | 'failure'> {
  readonly status: 'ok' | 'unhealthy';
  readonly reason: string | null;
  readonly unhealthySince: string | null;
  readonly reflector: Omit<SpawnkeeperHealth['reflector'], 'sinceLastSuccessMs'> & { sinceLastSuccessMs: number | null };
}

/** HealthOptions inject the clock and what to do on prolonged unhealth, so tests need not exit. */
export interface HealthOptions {
  clock: Clock;
  /** exitAfterMs: unhealthy this long without a break calls `onExit` (0: never), so an orchestrator restarts the hub. */
  exitAfterMs: number;
  onExit: (reason: string) => void;
  logger?: Logger | undefined;
}

/**
 * HealthMonitor turns the engine's health into /hub/health's answer. Unlike JupyterHub's, which is
 * always 200, it says 503 when the hub can no longer keep servers in agreement with the cluster: it
 * does not hold the Lease (its effects wait), the reflector has gone past its unhealthy threshold,
 * or the runtime stopped after a failed commit.
 */
export class HealthMonitor {
  private unhealthySince: number | null = null;
  /** unhealthySinceMono is the same moment on the monotonic clock: the exit rule measures on it, so a wall-clock step neither fires nor delays it. */
  private unhealthySinceMono: number | null = null;
  private timer: ReturnType<Clock['setTimeout']> | undefined;
  private exited = false;

  constructor(
    private readonly sk: Spawnkeeper,
    private readonly options: HealthOptions,
  ) {}

  /** check reads the health now; it also notes when unhealth began, for the exit rule. */
  check(): HealthReport {
    const { failure, ...h } = this.sk.health();
    const now = this.options.clock.now();
    let reason: string | null = null;
    if (failure !== null) reason = failure;
    else if (!h.lease.acting) reason = h.lease.reason;
    else if (!h.reflector.healthy) {
      const since = Number.isFinite(h.reflector.sinceLastSuccessMs)
        ? `for ${Math.round(h.reflector.sinceLastSuccessMs / 1000)} s`
        : 'since the hub started';
      reason = `the pod reflector has had no successful list or watch ${since}${h.reflector.lastError === null ? '' : ` (last error: ${h.reflector.lastError})`}`;
    }
    if (reason === null) {
      this.unhealthySince = null;
      this.unhealthySinceMono = null;
    } else if (this.unhealthySince === null) {
      this.unhealthySince = now;
      this.unhealthySinceMono = this.options.clock.monotonic();
    }
    const sinceMs = h.reflector.sinceLastSuccessMs;
    return {
      ...h,
      healthy: reason === null,
      status: reason === null ? 'ok' : 'unhealthy',
      reason,
      unhealthySince: this.unhealthySince === null ? null : new Date(this.unhealthySince).toISOString(),
      reflector: { ...h.reflector, sinceLastSuccessMs: Number.isFinite(sinceMs) ? sinceMs : null },
    };
  }

  /** start checks periodically when an exit on prolonged unhealth is configured. */
  start(): void {
    const { exitAfterMs, clock } = this.options;
    if (exitAfterMs <= 0) return;
    const interval = Math.max(10, Math.min(1_000, exitAfterMs / 4));
    const tick = () => {
      const report = this.check();
      if (this.unhealthySinceMono !== null && clock.monotonic() - this.unhealthySinceMono >= exitAfterMs && !this.exited) {
        this.exited = true;
        this.options.logger?.fatal({ reason: report.reason }, 'unhealthy for too long; exiting so the hub is restarted');
        this.options.onExit(report.reason ?? 'unhealthy');
        return;
      }
      this.timer = clock.setTimeout(tick, interval);
    };
    this.timer = clock.setTimeout(tick, interval);
  }

  close(): void {
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
