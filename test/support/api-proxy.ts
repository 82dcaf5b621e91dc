import { request as httpRequest, createServer } from 'node:http';
import type { ClientRequest, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Seen is one request that reached the proxy: what a hub asked of the API server, and when. */
export interface Seen {
  readonly method: string;
  readonly path: string;
  /** query: the request's query string, without `?`. */
  readonly query: string;
  readonly at: number;
  /** status of the answer passed back, undefined when none was (cut, or still held). */
  status?: number;
}

/**
 * Rule holds back matching requests: with `delayMs`, the request reaches the API server at once and
 * its answer `delayMs` later; with `hang`, it never reaches the API server (a partition of those calls).
 */
export type Rule = { readonly method?: string; readonly path: RegExp } & ({ readonly delayMs: number } | { readonly hang: true });

/**
 * ApiProxy stands between one hub and the simulated API server, so a test can see every call that
 * hub made, cut it off alone (a partition: requests hang, open watches die) and delay its answers,
 * while other hubs keep their own way to the same cluster.
 */
export class ApiProxy {
  readonly seen: Seen[] = [];
  private partitioned = false;
  private rules: Rule[] = [];
  private readonly open = new Set<{ req: IncomingMessage; res: ServerResponse; upstream?: ClientRequest }>();
  private readonly held = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    private readonly target: URL,
  ) {}

  static async start(target: string): Promise<ApiProxy> {
    const server = createServer();
    const proxy = new ApiProxy(server, new URL(target));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => proxy.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** count says how many calls matched since `since` (ms since the epoch). */
  count(method: string, path: RegExp, since = 0): number {
    return this.seen.filter((s) => s.method === method && path.test(s.path) && s.at >= since).length;
  }

  /** partition cuts the hub off: open calls and watches end, new calls hang unanswered until `heal`. */
  partition(): void {
    this.partitioned = true;
    for (const c of this.open) {
      c.upstream?.destroy();
      c.res.destroy();
    }
    this.open.clear();
  }

  heal(): void {
    this.partitioned = false;
    for (const res of this.held) res.destroy();
    this.held.clear();
  }

  /** hold adds a rule; the first rule that matches a request decides. */
  hold(rule: Rule): void {
    this.rules.push(rule);
  }

  clearRules(): void {
    this.rules = [];
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const [path = '/', query = ''] = (req.url ?? '/').split('?');
    const entry: Seen = { method: req.method ?? 'GET', path, query, at: Date.now() };
    this.seen.push(entry);
    const rule = this.rules.find((r) => (r.method === undefined || r.method === entry.method) && r.path.test(entry.path));
    if (this.partitioned || (rule !== undefined && 'hang' in rule)) {
      this.held.add(res);
      res.once('close', () => this.held.delete(res));
      return;
    }
    const delayMs = rule !== undefined && 'delayMs' in rule ? rule.delayMs : 0;
    const call: { req: IncomingMessage; res: ServerResponse; upstream?: ClientRequest } = { req, res };
    this.open.add(call);
    res.once('close', () => this.open.delete(call));
    const upstream = httpRequest(
      {
        host: this.target.hostname,
        port: this.target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: this.target.host },
      },
      (answer) => {
        const pass = () => {
          if (res.destroyed) return;
          entry.status = answer.statusCode;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        };
        if (delayMs > 0) setTimeout(pass, delayMs);
        else pass();
      },
    );
    call.upstream = upstream;
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }

  async close(): Promise<void> {
    this.heal();
    this.partition();
    this.partitioned = false;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** kubeconfigFor is a kubeconfig file's text for a plain-HTTP API server (the simulator or a proxy). */
export function kubeconfigFor(server: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'sim',
    clusters: [{ name: 'sim', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'sim', user: {} }],
    contexts: [{ name: 'sim', context: { cluster: 'sim', user: 'sim', namespace: 'default' } }],
  });
}
