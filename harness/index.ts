// The public surface for scenario scripts: what a scenario needs to build stacks, act on them,
// observe them and say what it expects. Import from here only. (The CLI's plumbing is not here.)
export type { IcingaApiClient } from './api/icinga-api.ts';
export { ErrorCodes, HuntError, isHuntError } from './errors.ts';
export {
  type RenewalOptions,
  type RenewalSummary,
  renewCertificates,
} from './icinga/certificate-renewals.ts';
export {
  type ContextSwapOptions,
  type ContextSwapSummary,
  ContextSwaps,
  swapContexts,
} from './icinga/context-swaps.ts';
export { type HandshakeMeasures, measureHandshakes } from './icinga/handshake-measures.ts';
export { icinga } from './icinga/icinga-system.ts';
export { type JsonRpcIdentity, openJsonRpc } from './icinga/jsonrpc-client.ts';
export { type ObserverOptions, StackObserver } from './icinga/stack-observer.ts';
export type { NemesisSpec } from './nemesis/nemesis.ts';
export { LiveDetection } from './observe/detection.ts';
export type { Incident } from './observe/incidents.ts';
export { EC_P256, parseKeySpec, RSA_2048, RSA_4096 } from './pki/key-spec.ts';
export type { ChaosProxy, ToxicSpec } from './proxy/chaos-proxy.ts';
export {
  DIRECTOR_PACKAGE,
  type DirectorDeployOptions,
  type DirectorDeploySummary,
  deployLikeDirector,
} from './reload/director-deploy.ts';
export { reloadStorm, type StormOptions, type StormSummary, storm } from './reload/reload-storm.ts';
export type { Schedule } from './reload/schedule.ts';
export { Run } from './run/run.ts';
export {
  dependingOn,
  type Expectation,
  noIncident,
  oneIncidentPerMaster,
  oneIncidentPerNode,
} from './runner/expectations.ts';
export { choice, integer } from './runner/params.ts';
export { defineScenario, type ScenarioContext, type StartOptions } from './runner/scenario.ts';
export { IcingaStack, StartedIcingaStack } from './stack/icinga-stack.ts';
export { CERT_FAULT_TRIGGER } from './stack/node-starter.ts';
export type { LoadGenerator, LoadOptions } from './stunnel/load-generator.ts';
export { stunnel } from './stunnel/stunnel-system.ts';
export { StartedStunnel, StunnelTarget } from './stunnel/stunnel-target.ts';
export type {
  StartedTarget,
  SystemUnderTest,
  TargetBuilder,
  TargetNode,
  TargetSelection,
} from './target/target.ts';
