// spawnkeeper's public names, in one place.
export type { PodFact, PresentPod, AbsentPod } from '../machines/pod-fact.js';
export { isNewer, isRunning, failureOf, FATAL_WAITING_REASONS } from '../machines/pod-fact.js';
export type { ServerContext, ServerEvent, ServerDelays, ServerMachine, EffectError, EffectParams } from '../machines/server.machine.js';
export { serverMachine, configureServerMachine, DEFAULT_DELAYS, MACHINE_VERSION } from '../machines/server.machine.js';
export type { Clock, TimerHandle } from './runtime/clock.js';
export { systemClock, ManualClock } from './runtime/clock.js';
export type { PodClient } from './runtime/pod-client.js';
export { PodApiError } from './runtime/pod-client.js';
export type { RuntimeOptions, ServerView, Committed } from './runtime/runtime.js';
export { Runtime, RuntimeFailedError } from './runtime/runtime.js';
export type { HistoryEntry, ReplayCheck } from './runtime/replay.js';
export { replay, checkReplay, history, summarize } from './runtime/replay.js';
export type { LivenessReport } from './runtime/liveness.js';
export { analyzeLiveness, missingTimeouts } from './runtime/liveness.js';
export type { OpenOptions, Durability } from './store/database.js';
export { openDatabase, DatabaseRefusedError, APPLICATION_ID } from './store/database.js';
export type { EventStore, StepRecord, ServerRow, EventRow, OrphanRow } from './store/event-store.js';
export { SqliteEventStore } from './store/event-store.js';
