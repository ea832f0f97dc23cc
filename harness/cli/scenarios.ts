import { scenarios } from '../../scenarios/index.ts';
import { ScenarioCatalog } from '../runner/scenario-registry.ts';

/** The scenarios the CLI knows by name: the list in scenarios/index.ts (and any file given by path). */
export const scenarioCatalog = new ScenarioCatalog(scenarios);
