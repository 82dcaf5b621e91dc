import { assign, setup } from 'xstate';

/**
 * The reflector's health, as its own machine: what it is doing (syncing, watching, backing off)
 * and whether it has gone too long without a successful list or watch event (unhealthy). Pure:
 * the reflector sends it facts with their time; the live actor's clock is injected.
 */
export interface ReflectorContext {
  /** lastSuccessAt: the time of the last successful list or watch event, 0 before the first. */
  lastSuccessAt: number;
  /** restarts counts watch or list restarts after errors, silences and 410s. */
  restarts: number;
  lastError: string | null;
  synced: boolean;
}

export type ReflectorEvent =
  | { type: 'list.started'; at: number }
  | { type: 'list.done'; at: number }
  | { type: 'watch.event'; at: number }
  | { type: 'failed'; at: number; error: string }
  | { type: 'expired'; at: number }
  | { type: 'retry'; at: number };

export const DEFAULT_UNHEALTHY_AFTER = 60_000;

export const reflectorMachine = setup({
  types: { context: {} as ReflectorContext, events: {} as ReflectorEvent },
  actions: {
    succeeded: assign({ lastSuccessAt: ({ event }) => event.at, lastError: null }),
    listed: assign({ lastSuccessAt: ({ event }) => event.at, lastError: null, synced: true }),
    failed: assign({
      restarts: ({ context }) => context.restarts + 1,
      lastError: ({ event }) => (event.type === 'failed' ? event.error : 'resource version expired'),
    }),
  },
  delays: { unhealthyAfter: DEFAULT_UNHEALTHY_AFTER },
}).createMachine({
  id: 'reflector',
  type: 'parallel',
  context: { lastSuccessAt: 0, restarts: 0, lastError: null, synced: false },
  states: {
    activity: {
      initial: 'syncing',
      states: {
        syncing: {
          on: { 'list.done': { target: 'watching', actions: 'listed' }, failed: { target: 'backing_off', actions: 'failed' } },
        },
        watching: {
          on: {
            'watch.event': { actions: 'succeeded' },
            'list.started': 'syncing',
            expired: { target: 'syncing', actions: 'failed' },
            failed: { target: 'backing_off', actions: 'failed' },
          },
        },
        backing_off: {
          on: { retry: 'syncing', 'list.started': 'syncing' },
        },
      },
    },
    health: {
      initial: 'healthy',
      states: {
        healthy: {
          tags: ['healthy'],
          on: { failed: 'degraded', expired: 'degraded' },
        },
        degraded: {
          // Errors are normal for a moment; unhealthy is a long time without any success.
          tags: ['healthy'],
          after: { unhealthyAfter: 'unhealthy' },
          on: { 'list.done': 'healthy', 'watch.event': 'healthy' },
        },
        unhealthy: {
          on: { 'list.done': 'healthy', 'watch.event': 'healthy' },
        },
      },
    },
  },
});

export type ReflectorMachine = typeof reflectorMachine;
