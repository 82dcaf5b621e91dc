/**
 * XState names the timer of a delayed transition `xstate.after.<delay>.<state node id>`, and its
 * event type is the same string: the runtime stores timers under it, the history and the dashboard
 * show it to people. This is the one place that reads it.
 */
const AFTER = 'xstate.after.';

export interface TimerId {
  /** delay is the delay's name, e.g. `startTimeout`. */
  readonly delay: string;
  /** state is the id of the state node that armed it, e.g. `server.spawn_pending`. */
  readonly state: string;
  /** path is the state below the machine's root, e.g. `spawn_pending`. */
  readonly path: string;
}

/** parseTimerId reads a timer id or delayed event type; undefined for anything else. */
export function parseTimerId(id: string): TimerId | undefined {
  if (!id.startsWith(AFTER)) return undefined;
  const [delay = '', ...state] = id.slice(AFTER.length).split('.');
  return { delay, state: state.join('.'), path: state.slice(1).join('.') };
}
