// The public surface for scenario scripts: what a scenario needs to build stacks, act on them,
// observe them and say what it expects. Import from here only. (The CLI's plumbing is not here.)

export { ErrorCodes, HuntError, isHuntError } from './errors.ts';
export type { NemesisSpec } from './nemesis/nemesis.ts';
export { LiveDetection } from './observe/detection.ts';
export type { Incident } from './observe/incidents.ts';
export { EC_P256, parseKeySpec, RSA_2048, RSA_4096 } from './pki/key-spec.ts';
export type { ChaosProxy, ToxicSpec } from './proxy/chaos-proxy.ts';
export { Run } from './run/run.ts';
export {
  dependingOn,
  type Expectation,
  eachStep,
  noIncident,
  oneIncidentPerNode,
} from './runner/expectations.ts';
export { choice, integer } from './runner/params.ts';
export { defineScenario, type Scenario, type ScenarioContext, type StartOptions } from './runner/scenario.ts';
export type {
  StartedTarget,
  SystemUnderTest,
  TargetBuilder,
  TargetNode,
  TargetSelection,
} from './seam/target.ts';
export type { IcingaApiClient } from './systems/icinga/api/icinga-api.ts';
export {
  type RenewalOptions,
  type RenewalSummary,
  renewCertificates,
} from './systems/icinga/certificate-renewals.ts';
export {
  type ContextSwapOptions,
  type ContextSwapSummary,
  ContextSwaps,
  swapContexts,
} from './systems/icinga/context-swaps.ts';
export { oneIncidentPerMaster } from './systems/icinga/expectations.ts';
export { type HandshakeMeasures, measureHandshakes } from './systems/icinga/handshake-measures.ts';
export { icinga } from './systems/icinga/icinga-system.ts';
export { type JsonRpcIdentity, openJsonRpc } from './systems/icinga/jsonrpc-client.ts';
export {
  DIRECTOR_PACKAGE,
  type DirectorDeployOptions,
  type DirectorDeploySummary,
  deployLikeDirector,
} from './systems/icinga/reload/director-deploy.ts';
export {
  reloadStorm,
  type StormOptions,
  type StormSummary,
  storm,
} from './systems/icinga/reload/reload-storm.ts';
export type { Schedule } from './systems/icinga/reload/schedule.ts';
export { IcingaStack, StartedIcingaStack } from './systems/icinga/stack/icinga-stack.ts';
export { CERT_FAULT_TRIGGER } from './systems/icinga/stack/node-starter.ts';
export { type ObserverOptions, StackObserver } from './systems/icinga/stack-observer.ts';
export type { LoadGenerator, LoadOptions } from './systems/stunnel/load-generator.ts';
export { stunnel } from './systems/stunnel/stunnel-system.ts';
export { StartedStunnel, StunnelTarget } from './systems/stunnel/stunnel-target.ts';
