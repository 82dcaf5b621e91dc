/**
 * The simulator's public names: start it, steer it, and the shapes it speaks; everything else in
 * src/sim is internal.
 */
export { startSimulator } from './simulator.js';
export type { Simulator, SimulatorOptions } from './simulator.js';
export type { ClusterControl, FaultControl, KubeletControl } from './controls.js';
export type { RequestStats } from './requests.js';
export { runSimCli, parseSimArgs, SimUsageError, SIM_USAGE } from './cli.js';
export { startControlServer } from './control-server.js';
export type { ControlServer } from './control-server.js';
export { CONTROL_ACTIONS } from './control-actions.js';
export type { ControlAction } from './control-actions.js';
export type { SimArgs, SimCliIo } from './cli.js';
export { ManualClock, realClock } from './clock.js';
export type { SimClock } from './clock.js';
export { DEFAULT_KUBELET_DELAYS } from './kubelet.js';
export type { KubeletDelays } from './kubelet.js';
export { STUCK_FINALIZER } from './failure-modes.js';
export type { FailureMode, FailureRule, PodMatcher } from './failure-modes.js';
export { ALL_SCHEDULED_FAULTS, planFaults } from './fault-schedule.js';
export type { FaultEpisode, FaultScheduleOptions, ScheduledFaultKind } from './fault-schedule.js';
export { API_VERBS } from './faults.js';
export type { Abandoned, FaultRecord, Verb } from './faults.js';
export { LOOPBACK } from './listener.js';
export type { KubeStatus } from './status.js';
export type { ContainerStatus, KubeEvent, KubeObject, ObjectMeta, Pod, PodCondition, PodStatus } from './types.js';
export { KindTable, apiVersionOf } from './kinds.js';
export type { Collection, KindContext, KindSpec, KindVerb } from './kinds.js';
export { SERVED_KINDS } from './served-kinds.js';
export type { Cause } from './object-meta.js';
