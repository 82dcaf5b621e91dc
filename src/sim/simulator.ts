import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimClock } from './cluster/clock.js';
import { realClock, TimerSet } from './cluster/clock.js';
import type { ClusterControl, FaultControl, KubeletControl } from './faults/controls.js';
import { clusterControl, faultControl, kubeletControl } from './faults/controls.js';
import { EventRecorder } from './cluster/event-recorder.js';
import { FailureRules } from './faults/failure-modes.js';
import { FaultSchedule } from './faults/fault-schedule.js';
import { FaultInjector } from './faults/faults.js';
import { replayable, sendError } from './api/http-util.js';
import type { KubeletDelays } from './cluster/kubelet-core.js';
import { DEFAULT_KUBELET_DELAYS } from './cluster/kubelet-core.js';
import { Kubelet } from './cluster/kubelet.js';
import type { ProcessKubeletOptions } from './cluster/processes.js';
import { ProcessRunner } from './cluster/processes.js';
import type { KindSpec } from './cluster/kinds.js';
import { KindTable } from './cluster/kinds.js';
import { Listener, LOOPBACK } from './api/listener.js';
import { NodePool } from './cluster/node-pool.js';
import { ObjectRegistry } from './cluster/object-registry.js';
import { PodRegistry } from './cluster/pod-registry.js';
import { alnum, streamFor, uuid } from './cluster/prng.js';
import type { RouteContext } from './api/routes.js';
import type { RequestStats } from './api/requests.js';
import { clientGone, RequestLedger } from './api/requests.js';
import { resolve } from './api/routes.js';
import { SERVED_KINDS } from './api/served-kinds.js';
import { injected } from './api/status.js';
import { ClusterStore } from './cluster/store.js';
import type { KubeEvent, KubeObject, Pod } from './cluster/types.js';
import { WatchRegistry } from './api/watch-stream.js';

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
  /**
   * Runs every pod's container as a real local process on 127.0.0.1 with its own port (the process
   * kubelet; see docs/simulator.md); absent, containers are simulated. Needs the real clock.
   */
  processes?: ProcessKubeletOptions;
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
  /** More rows for the kinds table, served besides the built-in ones (for a test or an embedder's own kind). */
  kinds?: readonly KindSpec[];
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
  /** requests counts the API calls being handled, by verb. */
  readonly requests: RequestStats;
  /** pods returns copies of the current pods, of one namespace or all. */
  pods(namespace?: string): Pod[];
  /** events returns copies of the current Event objects, of one namespace or all. */
  events(namespace?: string): KubeEvent[];
  /** objects returns copies of the current objects of any served resource (`secrets`, `services` …), of one namespace or all. */
  objects(resource: string, namespace?: string): KubeObject[];
  close(): Promise<void>;
}

/**
 * startSimulator starts a simulated Kubernetes API server on 127.0.0.1 with a simulated scheduler,
 * kubelet and fault injector, and resolves once it listens.
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  if (options.host !== undefined && options.host !== LOOPBACK)
    throw new Error(`the simulator listens on ${LOOPBACK} only, not ${String(options.host)}`);
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port: ${port}`);
  const seed = (options.seed ?? 1) >>> 0;
  const namespace = options.namespace ?? 'default';
  const clock = options.clock ?? realClock;
  const onError = options.onError ?? warn;
  const timers = new TimerSet(clock, onError);
  const startedAt = clock.now();
  const store = new ClusterStore({
    historyLimit: options.historyLimit ?? 1000,
    startResourceVersion: options.startResourceVersion ?? 1000,
    onListenerError: onError,
  });
  const namespaces = new Set(['default', 'kube-system', namespace]);
  const ids = streamFor(seed, 'ids');
  const rules = new FailureRules(streamFor(seed, 'kubelet/rules'));
  const nodes = new NodePool(options.nodes ?? ['sim-node-1']);
  const delays: KubeletDelays = { ...DEFAULT_KUBELET_DELAYS, ...options.kubelet };
  const registry = new PodRegistry({
    store,
    clock,
    namespaces,
    uid: () => uuid(ids),
    suffix: () => alnum(ids, 5),
    admit: (pod) => rules.admit(pod),
  });
  const objects = new ObjectRegistry({ store, clock, namespaces, uid: () => uuid(ids), suffix: () => alnum(ids, 5) });
  const kinds = new KindTable([...SERVED_KINDS, ...(options.kinds ?? [])]);
  const recorder = new EventRecorder({ store, clock, random: streamFor(seed, 'events'), maxEvents: options.maxEvents ?? 5000 });
  if (options.processes !== undefined && clock !== realClock)
    throw new Error('the process kubelet runs real processes: it needs the real clock');
  const processes = options.processes === undefined ? undefined : new ProcessRunner(options.processes);
  const kubelet = new Kubelet({
    store,
    registry,
    recorder,
    clock,
    timers,
    nodes,
    rules,
    delays,
    ...(processes === undefined ? {} : { processes }),
  });
  kubelet.start();

  const watches = new WatchRegistry();
  const server = createServer();
  const listener = new Listener(server);
  const faults = new FaultInjector(seed, { watches, listener, timers, monotonic: () => clock.monotonic(), now: () => clock.now() });
  const requests = new RequestLedger();
  const schedule = new FaultSchedule(faults, timers);
  const ctx: RouteContext = {
    store,
    registry,
    objects,
    kinds,
    watches,
    faults,
    timers,
    namespaces,
    startedAt,
    monotonic: () => clock.monotonic(),
    maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
    defaultWatchTimeoutMs: options.defaultWatchTimeoutMs ?? 30 * 60_000,
    serverAddress: () => `${LOOPBACK}:${listener.port()}`,
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(ctx, requests, req, res).catch((err: unknown) => sendError(res, err));
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
    kubelet: kubeletControl({ kubelet, rules, nodes, delays, namespace, faults }),
    cluster: clusterControl({ store, registry, watches, kubelet, namespaces, namespace, faults }),
    requests,
    pods: (ns) => copy(store.list('pods', ns) as Pod[]),
    events: (ns) => copy(store.list('events', ns) as KubeEvent[]),
    objects: (resource, ns) => copy(store.list(resource, ns)),
    close: () => {
      closed ??= (async () => {
        schedule.stop();
        kubelet.stop();
        timers.clear();
        await processes?.stopAll();
        await listener.close();
      })();
      return closed;
    },
  };
}

const WRITES: ReadonlySet<string> = new Set(['create', 'delete', 'patch']);

/**
 * handle resolves the route, lets the fault injector delay or fail the call, then runs it. When the
 * client of a delayed call gave up meanwhile, a read is not run, and a write lands anyway or is
 * dropped as the fault says (an API server had accepted it, or still held it in its queue).
 */
async function handle(ctx: RouteContext, requests: RequestLedger, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://simulator.invalid');
  const route = resolve(ctx, req.method ?? 'GET', url.pathname, url.searchParams);
  let request = req;
  if (route.verb !== 'health') {
    requests.track(route.verb, res);
    const fault = ctx.faults.onRequest(route.verb);
    if (fault.delayMs > 0) {
      const write = WRITES.has(route.verb);
      if (write && fault.abandoned === 'run') request = await replayable(req, ctx.maxBodyBytes);
      await new Promise<void>((done) => ctx.timers.after(fault.delayMs, done));
      if (clientGone(res)) {
        requests.abandon();
        if (!write || fault.abandoned !== 'run') return;
      }
    }
    if (fault.status !== undefined) throw injected(fault.status);
  }
  await route.run(request, res, url.searchParams);
}
