// The public surface for scenario scripts: import from here only.

export { cleanManaged } from './engine/clean.ts';
export { ensureEngine } from './engine/docker-engine.ts';
export { harnessLabels, Labels } from './engine/labels.ts';
export { preflight } from './engine/preflight.ts';
export { ErrorCodes, HuntError, isHuntError } from './errors.ts';
export { catalogue, catalogueEntry, imageTag } from './images/catalogue.ts';
export { buildIcingaImage, listIcingaImages, probeImage, resolveUserImage } from './images/icinga-image.ts';
export type { Progress } from './progress.ts';
export { silentProgress } from './progress.ts';
