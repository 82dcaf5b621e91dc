// A TypeScript project that installed spawnkeeper: typechecked by the package test against the
// declarations in the tarball (and by this checkout's typecheck against the sources).
import { createSpawnkeeper, kubeConfigFor, openDatabase } from 'spawnkeeper';
import type { ServerStatus, Spawnkeeper } from 'spawnkeeper';
import { startSimulator } from 'spawnkeeper/sim';
import type { Simulator } from 'spawnkeeper/sim';

export async function startAndStop(db: string): Promise<readonly ServerStatus[]> {
  const sim: Simulator = await startSimulator({ kubelet: { scheduleMs: 5, createMs: 5, readyMs: 5 } });
  const sk: Spawnkeeper = await createSpawnkeeper({ db: openDatabase(db, { durability: 'normal' }), cluster: kubeConfigFor(sim.url) });
  try {
    const started = await sk.start('alice');
    const stopped = await sk.stop('alice');
    return [started, stopped];
  } finally {
    await sk.close();
    await sim.close();
  }
}
