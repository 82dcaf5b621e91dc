import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimClock } from './clock.js';
import { realClock, TimerSet } from './clock.js';
import type { ClusterControl, FaultControl, KubeletControl } from './controls.js';
import { clusterControl, faultControl, kubeletControl } from './controls.js';
import { EventRecorder } from './event-recorder.js';
import { FailureRules } from './failure-modes.js';
import { FaultSchedule } from './fault-schedule.js';
import { FaultInjector } from './faults.js';
import { sendError } from './http-util.js';
import type { KubeletDelays } from './kubelet.js';
import { DEFAULT_KUBELET_DELAYS } from './kubelet.js';
import { Kubelet } from './kubelet-disruptions.js';
import type { Lease } from './leases.js';
import { Listener, LOOPBACK } from './listener.js';
import { NodePool } from './node-pool.js';
import { PodRegistry } from './pod-registry.js';
import { alnum, streamFor, uuid } from './prng.js';
import type { RouteContext } from './routes.js';
import { resolve } from './routes.js';
import { injected } from './status.js';
import { ClusterStore } from './store.js';
import type { KubeEvent, Pod } from './types.js';
import { WatchRegistry } from './watch-stream.js';

export interface SimulatorOptions {
  /** The port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** Only loopback is allowed; the option exists so a caller can say so explicitly. */
  host?: typeof LOOPBACK;
  /** The namespace that exists from the start besides `default`, and the control API's default. */
  namespace?: string;
  /** Seeds uids, names and every fault and failure-rule decision. */
  seed?: number;
  clock?: SimClock;
  kubelet?: Partial<KubeletDelays>;
  nodes?: readonly string[];
  /** Changes kept for watches to resume from; older versions get 410 Expired. Default 1000. */
  historyLimit?: number;
  startResourceVersion?: number;
  /** Request bodies above this get 413. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Interval of BOOKMARK events on watches that allow them. Default 60 s. */
  bookmarkIntervalMs?: number;
  /** How long a watch without timeoutSeconds stays open. Default 30 min. */
  defaultWatchTimeoutMs?: number;
  /** Event objects kept before the oldest are deleted. Default 5000. */
  maxEvents?: number;
  /** Hears of errors inside the simulator's own timers and listeners; default: a process warning. */
  onError?: (err: unknown) => void;
}

function warn(err: unknown): void {
  process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'SimulatorWarning');
}

/** Simulator is a running simulated API server with its cluster, and the handles to steer it. */
export interface Simulator {
  readonly url: string;
  readonly port: number;
  readonly host: typeof LOOPBACK;
  readonly namespace: string;
  readonly seed: number;
  readonly faults: FaultControl;
  readonly kubelet: KubeletControl;
  readonly cluster: ClusterControl;
  /** pods returns copies of the current pods, of one namespace or all. */
  pods(namespace?: string): Pod[];
  /** events returns copies of the current Event objects, of one namespace or all. */
  events(namespace?: string): KubeEvent[];
  /** leases returns copies of the current Lease objects, of one namespace or all. */
  leases(namespace?: string): Lease[];
  close(): Promise<void>;
}

/**
 * startSimulator starts a simulated Kubernetes API server on 127.0.0.1 with a simulated scheduler,
 * kubelet and fault injector, and resolves once it listens.
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  if (options.host !== undefined && options.host !== LOOPBACK) throw new Error(`the simulator listens on ${LOOPBACK} only, not ${String(options.host)}`);
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port: ${port}`);
  const seed = (options.seed ?? 1) >>> 0;
  const namespace = options.namespace ?? 'default';
  const clock = options.clock ?? realClock;
  const onError = options.onError ?? warn;
  const timers = new TimerSet(clock, onError);
  const startedAt = clock.now();
  const store = new ClusterStore({ historyLimit: options.historyLimit ?? 1000, startResourceVersion: options.startResourceVersion ?? 1000, onListenerError: onError });
  const namespaces = new Set(['default', 'kube-system', namespace]);
  const ids = streamFor(seed, 'ids');
  const rules = new FailureRules(streamFor(seed, 'kubelet/rules'));
  const nodes = new NodePool(options.nodes ?? ['sim-node-1']);
  const delays: KubeletDelays = { ...DEFAULT_KUBELET_DELAYS, ...options.kubelet };
  const registry = new PodRegistry({ store, clock, namespaces, uid: () => uuid(ids), suffix: () => alnum(ids, 5), admit: (pod) => rules.admit(pod) });
  const recorder = new EventRecorder({ store, clock, random: streamFor(seed, 'events'), maxEvents: options.maxEvents ?? 5000 });
  const kubelet = new Kubelet({ store, registry, recorder, clock, timers, nodes, rules, delays });
  kubelet.start();

  const watches = new WatchRegistry();
  const server = createServer();
  const listener = new Listener(server);
  const faults = new FaultInjector(seed, { watches, listener, timers, now: () => clock.now() });
  const schedule = new FaultSchedule(faults, timers);
  const leaseIds = streamFor(seed, 'lease-ids');
  const ctx: RouteContext = {
    store, registry, watches, faults, timers, namespaces, startedAt, now: () => clock.now(), leaseUid: () => uuid(leaseIds),
    maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
    defaultWatchTimeoutMs: options.defaultWatchTimeoutMs ?? 30 * 60_000,
    serverAddress: () => `${LOOPBACK}:${listener.port()}`,
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(ctx, req, res).catch((err: unknown) => sendError(res, err));
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  const bound = await listener.listen(port);
  const copy = <T>(items: T[]): T[] => structuredClone(items);
  let closed: Promise<void> | undefined;
  return {
    url: `http://${LOOPBACK}:${bound}`,
    port: bound,
    host: LOOPBACK,
    namespace,
    seed,
    faults: faultControl(faults, schedule, seed),
    kubelet: kubeletControl(kubelet, rules, nodes, delays, namespace),
    cluster: clusterControl(store, registry, watches, namespaces, namespace),
    pods: (ns) => copy(store.list('pods', ns) as Pod[]),
    events: (ns) => copy(store.list('events', ns) as KubeEvent[]),
    leases: (ns) => copy(store.list('leases', ns) as Lease[]),
    close: () => {
      closed ??= (async () => {
        schedule.stop();
        kubelet.stop();
        timers.clear();
        await listener.close();
      })();
      return closed;
    },
  };
}

/** handle resolves the route, lets the fault injector delay or fail the call, then runs it. */
async function handle(ctx: RouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://simulator.invalid');
  const route = resolve(ctx, req.method ?? 'GET', url.pathname, url.searchParams);
  if (route.verb !== 'health') {
    const fault = ctx.faults.onRequest(route.verb);
    if (fault.delayMs > 0) await new Promise<void>((done) => ctx.timers.after(fault.delayMs, done));
    if (fault.status !== undefined) throw injected(fault.status);
  }
  await route.run(req, res, url.searchParams);
}
