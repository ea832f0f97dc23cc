import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout this harness runs from (harness/ is one level below it). */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where runs, engine logs and build scratch go: HH_RESULTS_DIR or <project>/results. */
export function resultsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.HH_RESULTS_DIR ? resolve(env.HH_RESULTS_DIR) : join(projectRoot, 'results');
}

export const dockerDir = join(projectRoot, 'docker');
