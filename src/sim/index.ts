/**
 * The simulator's public names: start it, steer it, and the shapes it speaks; everything else in
 * src/sim is internal.
 */
export { startSimulator } from './simulator.js';
export type { Simulator, SimulatorOptions } from './simulator.js';
export type { ClusterControl, FaultControl, KubeletControl } from './faults/controls.js';
export type { RequestStats } from './api/requests.js';
export { runSimCli, parseSimArgs, SimUsageError, SIM_USAGE } from './cli.js';
export { startControlServer } from './faults/control-server.js';
export type { ControlServer } from './faults/control-server.js';
export { CONTROL_ACTIONS } from './faults/control-actions.js';
export type { ControlAction } from './faults/control-actions.js';
export type { SimArgs, SimCliIo } from './cli.js';
export { ManualClock, realClock } from './cluster/clock.js';
export type { SimClock } from './cluster/clock.js';
export { DEFAULT_KUBELET_DELAYS } from './cluster/kubelet-core.js';
export type { KubeletDelays } from './cluster/kubelet-core.js';
export { BUILTIN_SERVER, DEFAULT_CONTAINER_PORT } from './cluster/processes.js';
export type { ProcessKubeletOptions } from './cluster/processes.js';
export { STUCK_FINALIZER } from './faults/failure-modes.js';
export type { FailureMode, FailureRule, PodMatcher } from './faults/failure-modes.js';
export { ALL_SCHEDULED_FAULTS, planFaults } from './faults/fault-schedule.js';
export type { FaultEpisode, FaultScheduleOptions, ScheduledFaultKind } from './faults/fault-schedule.js';
export { API_VERBS } from './faults/faults.js';
export type { Abandoned, FaultRecord, Verb } from './faults/faults.js';
export { LOOPBACK } from './api/listener.js';
export type { KubeStatus } from './api/status.js';
export type { ContainerStatus, KubeEvent, KubeObject, ObjectMeta, Pod, PodCondition, PodStatus } from './cluster/types.js';
export { KindTable, apiVersionOf } from './cluster/kinds.js';
export type { Collection, KindContext, KindSpec, KindVerb } from './cluster/kinds.js';
export { SERVED_KINDS } from './api/served-kinds.js';
export type { Cause } from './cluster/object-meta.js';
