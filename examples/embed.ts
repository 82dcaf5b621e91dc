// spawnkeeper embedded in a plain node:http server: POST /alice starts alice's server, DELETE /alice
// stops it, GET /alice shows it. Add your own authentication before exposing anything like this.
import { createServer } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { createSpawnkeeper, kubeConfigFor } from 'spawnkeeper';

const api = process.env['KUBE_API_URL']; // e.g. the simulator's URL; otherwise ~/.kube/config or in-cluster
const cluster = api === undefined ? new KubeConfig() : kubeConfigFor(api);
if (api === undefined) cluster.loadFromDefault();
const sk = await createSpawnkeeper({ db: process.env['DB'] ?? 'spawnkeeper.db', cluster });

const server = createServer((req, res) => {
  const user = decodeURIComponent((req.url ?? '/').slice(1));
  const act = req.method === 'POST' ? sk.start(user) : req.method === 'DELETE' ? sk.stop(user) : Promise.resolve(sk.get(user));
  act.then(
    (s) => res.writeHead(s === undefined ? 404 : 200, { 'Content-Type': 'application/json' }).end(JSON.stringify(s ?? null)),
    (err: Error) => res.writeHead(400, { 'Content-Type': 'text/plain' }).end(err.message),
  );
});
server.listen(Number(process.env['PORT'] ?? 8000), '127.0.0.1', () =>
  console.log(`listening on http://127.0.0.1:${(server.address() as { port: number }).port}`),
);
process.once('SIGTERM', () => server.close(() => void sk.close()));
