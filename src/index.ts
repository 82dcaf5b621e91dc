// spawnkeeper's public names, in one place.
export type { PodFact, PresentPod, AbsentPod } from '../machines/pod-fact.js';
export { relation, isRunning, failureOf, FATAL_WAITING_REASONS } from '../machines/pod-fact.js';
export type { ServerContext, ServerEvent, ServerDelays, ServerMachine, EffectError, EffectParams } from '../machines/server.machine.js';
export { serverMachine, configureServerMachine, DEFAULT_DELAYS, MACHINE_VERSION } from '../machines/server.machine.js';
export { InvalidDelayError } from '../machines/server.machine.js';
export type { Backoff } from '../machines/backoff.js';
export type { Clock, TimerHandle } from './core/clock.js';
export { systemClock, ManualClock } from './core/clock.js';
export type { Gate } from './runtime/gate.js';
export { OPEN_GATE } from './runtime/gate.js';
export type { PodClient } from './runtime/pod-client.js';
export { PodApiError } from './runtime/pod-client.js';
export type { RuntimeOptions, ServerView, Committed } from './runtime/runtime.js';
export { Runtime, RuntimeFailedError } from './runtime/runtime.js';
export { RuntimeClosedError } from './runtime/errors.js';
export type { HistoryEntry, ReplayCheck } from './runtime/replay.js';
export { replay, checkReplay, history, summarize } from './runtime/replay.js';
export type { LivenessReport } from './runtime/liveness.js';
export { analyzeLiveness, missingTimeouts } from './runtime/liveness.js';
export type { OpenOptions, Durability } from './store/database.js';
export { openDatabase, databaseLock, DatabaseRefusedError, APPLICATION_ID } from './store/database.js';
export type { DatabaseLock, LockHolder } from './store/lock.js';
export { DatabaseLockedError } from './store/lock.js';
export type { LeaseStatus, LeaseTimings } from './kube/lease.js';
export { LeaseElector, DEFAULT_LEASE_TIMINGS, checkLeaseTimings } from './kube/lease.js';
export { ANNOTATION_LEASE_TRANSITIONS, ANNOTATION_LEASE_HOLDER } from './kube/fence.js';
export type { EventStore, StepRecord, ServerRow, EventRow, OrphanRow } from './store/event-store.js';
export { SqliteEventStore, armedTimers } from './store/event-store.js';
export type {
  Spawnkeeper,
  SpawnkeeperConfig,
  SpawnkeeperConfigInput,
  SpawnkeeperOptions,
  SpawnkeeperHealth,
  SpawnkeeperStats,
  HistoryStats,
  SpawnRequest,
  ServerStatus,
  ServerTimer,
  TopState,
} from './spawnkeeper.js';
export {
  createSpawnkeeper,
  kubeConfigFor,
  DEFAULT_CONFIG,
  SPAWNKEEPER_SCHEMA,
  parseSpawnkeeperConfig,
  WaitTimeoutError,
} from './spawnkeeper.js';
export type { ConfigProblem } from './core/schema.js';
export * from './hub/index.js';
