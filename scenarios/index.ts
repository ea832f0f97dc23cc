import type { Scenario } from '../harness/index.ts';
import canary from './canary.ts';
import certSizeSweep from './cert-size-sweep.ts';
import directorDeploy from './director-deploy.ts';
import fieldSignature from './field-signature.ts';
import flakyNetwork from './flaky-network.ts';
import handshakeChaos from './handshake-chaos.ts';
import hungReload from './hung-reload.ts';
import raceHunt from './race-hunt.ts';
import reloadStorm from './reload-storm.ts';
import stunnelFreeze from './stunnel-freeze.ts';

/**
 * The scenarios hunt knows by name, one file each here, named as the scenario is. A new scenario
 * is a file and a line in this list (a test fails for a file left out).
 */
export const scenarios: readonly Scenario[] = [
  canary,
  certSizeSweep,
  directorDeploy,
  fieldSignature,
  flakyNetwork,
  handshakeChaos,
  hungReload,
  raceHunt,
  reloadStorm,
  stunnelFreeze,
];
