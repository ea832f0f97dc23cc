import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCodes, HuntError } from '../errors.ts';
import { projectRoot } from '../paths.ts';
import type { Scenario } from './scenario.ts';

export const SCENARIOS_DIR = join(projectRoot, 'scenarios');

/** Every scenario in scenarios/, by name (each file default-exports one definition). */
export async function scenarios(dir = SCENARIOS_DIR): Promise<Map<string, Scenario>> {
  const found = new Map<string, Scenario>();
  for (const file of (await readdir(dir)).sort()) {
    if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue;
    const definition = await load(join(dir, file));
    if (found.has(definition.name)) throw new Error(`scenario "${definition.name}" is defined twice`);
    found.set(definition.name, definition);
  }
  return found;
}

/** A scenario by name, or by the path of a .ts file that default-exports one. */
export async function findScenario(name: string): Promise<Scenario> {
  if (name.endsWith('.ts')) return load(resolve(name));
  const all = await scenarios();
  const definition = all.get(name);
  if (!definition)
    throw new HuntError(
      ErrorCodes.SCENARIO_UNKNOWN,
      `Unknown scenario "${name}". Known: ${[...all.keys()].join(', ')}. See: hunt list`,
    );
  return definition;
}

async function load(path: string): Promise<Scenario> {
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
      `${path} names no system under test: add \`system: icinga\` (from harness/index.ts) to its definition.`,
    );
  definition.story ??= leadingDocComment(await readFile(path, 'utf8').catch(() => ''));
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
