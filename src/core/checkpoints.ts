/**
 * Checkpoints are event rows that carry a whole snapshot; replay starts from the last one instead of
 * from a new server. Two things write them: a machine upgrade (the snapshot carried to a new machine
 * version) and retention (a server's older events folded into the snapshot they led to). The store
 * counts them and the runtime replays from them, so their names live here, below both.
 */

/** UPGRADED is the checkpoint that records a snapshot carried to a new machine version. */
export const UPGRADED = 'machine.upgraded';

/** CHECKPOINT is the checkpoint retention writes in place of the events it folded. */
export const CHECKPOINT = 'history.checkpoint';

/** CHECKPOINT_TYPES are the event types whose payload carries a snapshot replay restores. */
export const CHECKPOINT_TYPES: readonly string[] = [UPGRADED, CHECKPOINT];

/** isCheckpoint tells whether an event of this type carries the snapshot replay starts from. */
export function isCheckpoint(type: string): boolean {
  return type === UPGRADED || type === CHECKPOINT;
}
