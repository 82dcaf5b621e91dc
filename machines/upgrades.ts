/**
 * Upgrades carry a server's stored snapshot from one MACHINE_VERSION to the next, as data: they read
 * and write the persisted JSON only, so they are pure and can be tested on recorded snapshots. The
 * runtime applies them at start and records the result as a `machine.upgraded` event holding the new
 * snapshot, from which replay starts (a history is never replayed on a machine that did not write it).
 */

export interface PersistedSnapshot {
  status: string;
  value: unknown;
  historyValue: Record<string, unknown>;
  context: Record<string, unknown>;
  children: Record<string, unknown>;
}

export type Upgrade = (snapshot: PersistedSnapshot) => PersistedSnapshot;

/** UPGRADES[n] carries a snapshot written by version n to version n + 1. */
export const UPGRADES: Readonly<Record<number, Upgrade>> = {
  // 1 → 2: running became `running.ready` (beside the new `running.unready`), and the context
  // learned whether its pod fact is certain (every fact version 1 kept was ordered: certain) and
  // which uid is known deleted (the one its absence names, if any).
  1: (s) => {
    const { pod, ...rest } = s.context;
    const gone =
      typeof pod === 'object' && pod !== null && (pod as { exists?: unknown }).exists === false
        ? ((pod as { uid?: string }).uid ?? null)
        : null;
    return {
      ...s,
      value: s.value === 'running' ? { running: 'ready' } : s.value,
      context: { pod, certain: true, gone, ...rest },
    };
  },
  // 2 → 3: the context learned whether news was heard since the awaited call was issued. Nothing
  // recorded says so, so an answer still awaited is taken as possibly older than what is known: it
  // stands only where it is ordered after it.
  2: (s) => {
    const { pod, certain, gone, ...rest } = s.context;
    return { ...s, context: { pod, certain, gone, heard: true, ...rest } };
  },
};

/** MachineVersionError: a snapshot written by a version this machine cannot read, with both named. */
export class MachineVersionError extends Error {
  constructor(
    readonly found: number,
    readonly expected: number,
    what: string,
  ) {
    super(
      found > expected
        ? `${what} was written by machine version ${found}, newer than this spawnkeeper's ${expected}: run the newer spawnkeeper`
        : `${what} was written by machine version ${found} and this spawnkeeper (machine version ${expected}) has no upgrade from it`,
    );
    this.name = 'MachineVersionError';
  }
}

/** upgrade carries a persisted snapshot from version `from` to `to` through every registered step, or throws MachineVersionError. */
export function upgrade(persisted: string, from: number, to: number, what = 'a snapshot'): string {
  if (from > to) throw new MachineVersionError(from, to, what);
  let snapshot = JSON.parse(persisted) as PersistedSnapshot;
  for (let v = from; v < to; v++) {
    const step = UPGRADES[v];
    if (step === undefined) throw new MachineVersionError(from, to, what);
    snapshot = step(snapshot);
  }
  return JSON.stringify(snapshot);
}
