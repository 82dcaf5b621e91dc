// A project that installed spawnkeeper from its tarball, run by plain node (no TypeScript loader):
// the simulator from `spawnkeeper/sim`, the engine from `spawnkeeper`, one server started and
// stopped. Prints one JSON line with what it saw.
/* global process, console */
import { createSpawnkeeper, kubeConfigFor, VERSION } from 'spawnkeeper';
import { startSimulator } from 'spawnkeeper/sim';

const sim = await startSimulator({ kubelet: { scheduleMs: 5, createMs: 5, readyMs: 5, stopMs: 5 } });
const sk = await createSpawnkeeper({ db: process.argv[2] ?? 'consumer.db', cluster: kubeConfigFor(sim.url) });
try {
  await sk.start('alice');
  const running = await sk.waitFor('alice', '', (s) => s.state === 'running', 30_000);
  await sk.stop('alice');
  const stopped = await sk.waitFor('alice', '', (s) => s.state === 'stopped', 30_000);
  const steps = sk.history('alice').map((e) => e.type);
  console.log(JSON.stringify({ version: VERSION, running: running.state, stopped: stopped.state, steps }));
} finally {
  await sk.close();
  await sim.close();
}
