// The public surface for scenario scripts: import from here only.
export { IcingaApiClient, IcingaApiError } from './api/icinga-api.ts';
export { KeylogFile } from './capture/keylog-file.ts';
export { cleanManaged } from './engine/clean.ts';
export { ensureEngine } from './engine/docker-engine.ts';
export { harnessLabels, Labels } from './engine/labels.ts';
export { preflight } from './engine/preflight.ts';
export { ErrorCodes, HuntError, isHuntError } from './errors.ts';
export { History } from './history/history.ts';
export { catalogue, catalogueEntry, imageTag } from './images/catalogue.ts';
export { buildIcingaImage, listIcingaImages, probeImage, resolveUserImage } from './images/icinga-image.ts';
export { CertificateAuthority } from './pki/certificate-authority.ts';
export { EC_P256, parseKeySpec, RSA_2048, RSA_4096 } from './pki/key-spec.ts';
export type { Progress } from './progress.ts';
export { silentProgress } from './progress.ts';
export { ChaosProxy, type ToxicSpec } from './proxy/chaos-proxy.ts';
export { ProxyControlApi } from './proxy/control-api.ts';
export { IcingaStack, StartedIcingaStack } from './stack/icinga-stack.ts';
export { Swarm } from './swarm/swarm.ts';
