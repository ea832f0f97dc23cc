import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCodes, HuntError } from '../errors.ts';
import { projectRoot } from '../paths.ts';
import type { Scenario } from './scenario.ts';

export const SCENARIOS_DIR = join(projectRoot, 'scenarios');

/**
 * The scenarios known by name (the list in scenarios/index.ts, which the CLI hands over: the
 * runner imports no scenario), and any file that default-exports one (`hunt run ./mine.ts`).
 * A listed scenario's story is its file's leading doc comment, the file named as it is.
 */
export class ScenarioCatalog {
  private readonly byName = new Map<string, Scenario>();
  private readonly dir: string;

  constructor(list: readonly Scenario[], dir = SCENARIOS_DIR) {
    this.dir = dir;
    for (const definition of list) {
      if (this.byName.has(definition.name)) throw new Error(`scenario "${definition.name}" is listed twice`);
      this.byName.set(definition.name, definition);
    }
  }

  /** Every listed scenario, by name, with its story. */
  async all(): Promise<Scenario[]> {
    const names = [...this.byName.keys()].sort();
    return Promise.all(
      names.map((name) => this.withStory(this.byName.get(name) as Scenario, join(this.dir, `${name}.ts`))),
    );
  }

  /** A scenario by name, or by the path of a .ts file that default-exports one. */
  async find(name: string): Promise<Scenario> {
    if (name.endsWith('.ts')) return loadScenarioFile(resolve(name));
    const definition = this.byName.get(name);
    if (!definition)
      throw new HuntError(
        ErrorCodes.SCENARIO_UNKNOWN,
        `Unknown scenario "${name}". Known: ${[...this.byName.keys()].sort().join(', ')}. See: hunt list`,
      );
    return this.withStory(definition, join(this.dir, `${name}.ts`));
  }

  private async withStory(definition: Scenario, file: string): Promise<Scenario> {
    definition.story ??= leadingDocComment(await readFile(file, 'utf8').catch(() => ''));
    return definition;
  }
}

/** A scenario from a file of the user's own: checked, and marked with its file for a matrix's cells. */
async function loadScenarioFile(path: string): Promise<Scenario> {
  const module = (await import(pathToFileURL(path).href).catch((error: Error) => {
    throw new HuntError(ErrorCodes.SCENARIO_UNKNOWN, `Cannot load scenario ${path}: ${error.message}`);
  })) as { default?: Scenario };
  const definition = module.default;
  if (!definition?.name || typeof definition.run !== 'function')
    throw new HuntError(
      ErrorCodes.SCENARIO_UNKNOWN,
      `${path} does not default-export a scenario (defineScenario({ name, summary, system, params, run, ... })).`,
    );
  if (typeof definition.system?.builder !== 'function')
    throw new HuntError(
      ErrorCodes.SCENARIO_UNKNOWN,
      `${path} names no system under test: add its \`system\` (one harness/index.ts exports) to its definition.`,
    );
  definition.story ??= leadingDocComment(await readFile(path, 'utf8').catch(() => ''));
  definition.file = path;
  return definition;
}

/** The text of a file's leading /** ... *\/ comment, without its stars; undefined if none. */
export function leadingDocComment(source: string): string | undefined {
  const match = /^\s*\/\*\*([\s\S]*?)\*\//.exec(source);
  if (!match?.[1]) return undefined;
  return match[1]
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}
