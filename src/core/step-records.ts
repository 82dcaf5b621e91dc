import type { EffectAction, EffectParams } from '../../machines/server.machine.js';

/**
 * The records one step of a server's machine produces, as data: shared by the runtime that makes
 * them and the store that keeps them (which sits below the runtime and must not import it).
 */

/** TimerArm is a delayed event the step asked for: the runtime stores it with its due time. */
export interface TimerArm {
  readonly id: string;
  readonly event: { type: string };
  readonly delay: number;
}

export interface EffectRequest {
  readonly kind: EffectAction;
  readonly params: EffectParams;
}

export interface OrphanRecord {
  readonly uid: string | null;
  readonly reason: string;
}

/** TimerChange is one arm or cancel, kept in the order the machine produced them. */
export type TimerChange = { readonly arm: TimerArm } | { readonly cancel: string };
