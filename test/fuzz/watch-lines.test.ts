import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LABEL_MANAGED_BY, LABEL_SERVER } from '../../src/kube/names.js';
import { Live, eventually } from '../support/live.js';
import { internals } from '../../src/spawnkeeper.js';

/**
 * Watch-line fuzzing: random and mutated lines served by the simulator on the reflector's real watch
 * (garbage, invalid JSON, wrong types, foreign or forged labels, missing metadata, stale versions,
 * enormous objects). The reflector skips and goes on; no server changes, since none of them is a
 * valid newer observation; and afterwards real changes still arrive.
 */

const LINES = Number(process.env['FUZZ_WATCH_LINES'] ?? 10_000);
const SEED = Number(process.env['FUZZ_SEED'] ?? 20171229);
const BATCH = 50;

type Json = Record<string, unknown>;

function poisoned(base: Json): fc.Arbitrary<unknown> {
  const clone = () => structuredClone(base) as Json & { metadata: Json & { labels: Json } };
  const poison: Array<fc.Arbitrary<unknown>> = [
    fc
      .string({ maxLength: 20 })
      .filter((v) => v !== 'spawnkeeper')
      .map((v) => {
        const p = clone();
        p.metadata.labels[LABEL_MANAGED_BY] = v;
        return p;
      }),
    fc.string({ maxLength: 30 }).map((v) => {
      const p = clone();
      p.metadata.labels[LABEL_SERVER] = `forged${v}`;
      return p;
    }),
    fc.constantFrom(undefined, null, 7, '', [], {}).map((v) => {
      const p = clone();
      p.metadata['uid'] = v;
      return p;
    }),
    fc.constantFrom(undefined, null, 42, '', {}).map((v) => {
      const p = clone();
      p.metadata['resourceVersion'] = v;
      return p;
    }),
    fc
      .anything()
      .filter((v) => typeof v !== 'object' || v === null || Array.isArray(v))
      .map((v) => {
        const p = clone() as Json;
        p['metadata'] = v;
        return p;
      }),
    fc.constantFrom('1', '2', '10').map((rv) => {
      const p = clone();
      p.metadata['resourceVersion'] = rv;
      return p;
    }), // valid but stale
  ];
  const extra = fc.record({
    path: fc.constantFrom('status', 'spec', 'status.phase', 'status.conditions', 'metadata.annotations', 'kind'),
    value: fc.anything({ maxDepth: 3 }),
  });
  return fc.tuple(fc.oneof(...poison), fc.array(extra, { maxLength: 3 })).map(([obj, extras]) => {
    for (const { path, value } of extras) {
      const parts = path.split('.');
      let target = obj as Json;
      for (const part of parts.slice(0, -1))
        target = (typeof target[part] === 'object' && target[part] !== null ? target[part] : (target[part] = {})) as Json;
      target[parts.at(-1) as string] = value;
    }
    return obj;
  });
}

function lineArb(base: Json): fc.Arbitrary<string> {
  const event = (object: fc.Arbitrary<unknown>) =>
    fc
      .tuple(fc.constantFrom('ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR', 'SURPRISE', 7, null), object)
      .map(([type, o]) => JSON.stringify({ type, object: o }));
  return fc.oneof(
    { weight: 6, arbitrary: event(poisoned(base)) },
    { weight: 2, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.anything().map((v) => JSON.stringify(v) ?? 'undefined') },
    { weight: 1, arbitrary: event(poisoned(base)).map((l) => l.slice(0, Math.max(1, l.length >> 1))) },
    { weight: 1, arbitrary: event(fc.anything({ maxDepth: 4 })).filter((l) => !l.includes('"metadata"')) },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 100_000, max: 2_000_000 }).map((n) => {
        const p = structuredClone(base) as Json & { metadata: Json & { labels: Json; annotations?: Json } };
        p.metadata.labels[LABEL_MANAGED_BY] = 'someone-else';
        p.metadata.annotations = { huge: 'x'.repeat(n) };
        return JSON.stringify({ type: 'MODIFIED', object: p });
      }),
    },
  );
}

/** assertQuietly runs fc.assert but keeps a failure's report short: these inputs can be megabytes. */
async function assertQuietly<T>(property: fc.IAsyncProperty<T>, params: fc.Parameters<T>): Promise<void> {
  const details = await fc.check(property, params);
  if (details.failed) {
    const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(
      `property failed (seed ${details.seed}, path ${details.counterexamplePath}): ${error.slice(0, 500)}; counterexample ${JSON.stringify(details.counterexample).slice(0, 1_000)}`,
    );
  }
}

describe('fuzz: watch lines', () => {
  it(`no malformed, foreign, forged or stale watch line changes a server or stops the reflector (${LINES} lines, seed ${SEED})`, async () => {
    const live = await Live.start();
    try {
      await live.sk.start('ada');
      const ada = await live.settled('ada');
      await live.sk.start('bea');
      await live.sk.stop('bea');
      await live.settled('bea');
      const base = live.pod(ada.podName) as unknown as Json;
      const seqs = () =>
        live.sk
          .list()
          .map((s) => `${s.key}:${s.seq}:${s.detail}`)
          .join(' ');
      const before = seqs();
      let sent = 0;
      await assertQuietly(
        fc.asyncProperty(fc.array(lineArb(base), { minLength: BATCH, maxLength: BATCH }), async (lines) => {
          await eventually('a watch to be open', () => live.sim.cluster.openWatches() > 0, 5_000);
          const { bookmarks } = internals(live.sk).reflector.stats;
          const restarts = live.sk.health().reflector.restarts;
          const rv = String(live.sim.cluster.resourceVersion());
          const sentinel = JSON.stringify({
            type: 'BOOKMARK',
            object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: rv } },
          });
          live.sim.faults.injectWatchLines([...lines, sentinel]);
          sent += lines.length;
          await eventually(
            'the batch to be read',
            () => internals(live.sk).reflector.stats.bookmarks > bookmarks || live.sk.health().reflector.restarts > restarts,
            5_000,
          );
          expect(seqs()).toBe(before);
        }),
        { numRuns: Math.ceil(LINES / BATCH), seed: SEED },
      );
      console.log(
        `fuzz: ${sent} watch lines, ${internals(live.sk).reflector.stats.skipped} skipped as malformed, ${live.sk.health().reflector.restarts} reflector restarts`,
      );
      expect(sent).toBeGreaterThanOrEqual(LINES);
      // The reflector still brings real changes.
      await live.sk.stop('ada');
      await live.sk.start('cal');
      expect((await live.settled('ada')).state).toBe('stopped');
      expect((await live.settled('cal')).state).toBe('running');
      expect(live.sk.health().healthy).toBe(true);
    } finally {
      await live.close();
    }
  }, 600_000);
});
