import { request } from 'node:http';
import type { ClientRequest } from 'node:http';
import { performance } from 'node:perf_hooks';

interface WatchLine {
  readonly type: string;
  readonly object: { metadata?: { name?: string }; status?: { conditions?: Array<{ type?: string; status?: string }> } };
}

/**
 * PodWatch is the bench's own watch on the simulator: it notes when each pod was first seen
 * (created) and first seen ready, as the API server publishes them, independently of spawnkeeper's
 * reflector, so latencies are measured at the cluster's side of the wire.
 */
export class PodWatch {
  readonly created = new Map<string, number>();
  readonly ready = new Map<string, number>();
  private req: ClientRequest | undefined;

  /** open starts watching the namespace's pods and resolves once the API server has answered with headers. */
  static open(url: string, namespace = 'default'): Promise<PodWatch> {
    const watch = new PodWatch();
    return new Promise((resolve, reject) => {
      const req = request(`${url}/api/v1/namespaces/${namespace}/pods?watch=1&allowWatchBookmarks=false`, (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`pod watch answered ${String(res.statusCode)}`));
          return;
        }
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const now = performance.now();
          buffered += chunk;
          let nl = buffered.indexOf('\n');
          while (nl >= 0) {
            watch.note(JSON.parse(buffered.slice(0, nl)) as WatchLine, now);
            buffered = buffered.slice(nl + 1);
            nl = buffered.indexOf('\n');
          }
        });
        res.on('error', () => undefined);
        resolve(watch);
      });
      req.on('error', reject);
      req.end();
      watch.req = req;
    });
  }

  close(): void {
    this.req?.destroy();
  }

  private note(line: WatchLine, at: number): void {
    const name = line.object.metadata?.name;
    if (name === undefined || line.type === 'DELETED') return;
    if (!this.created.has(name)) this.created.set(name, at);
    const ready = line.object.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
    if (ready && !this.ready.has(name)) this.ready.set(name, at);
  }
}
