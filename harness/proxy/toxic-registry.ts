import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, HuntError } from '../errors.ts';
import type { ToxicType } from './toxic.ts';

const TOXICS_DIR = join(import.meta.dirname, 'toxics');

let loaded: Map<string, ToxicType> | undefined;

/**
 * Every toxic type, keyed by wire name: each file in toxics/ (tests aside) default-exports one.
 * Adding a toxic is adding a file; nothing else changes.
 */
export async function toxicTypes(): Promise<Map<string, ToxicType>> {
  if (loaded) return loaded;
  const types = new Map<string, ToxicType>();
  for (const file of (await readdir(TOXICS_DIR)).sort()) {
    if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue;
    const module = (await import(join(TOXICS_DIR, file))) as { default?: ToxicType };
    const type = module.default;
    if (!type?.type) throw new Error(`toxics/${file} does not default-export a toxic type`);
    if (types.has(type.type)) throw new Error(`toxic type "${type.type}" is defined twice`);
    types.set(type.type, type);
  }
  loaded = types;
  return types;
}

export async function toxicType(name: string): Promise<ToxicType> {
  const types = await toxicTypes();
  const type = types.get(name);
  if (!type) {
    throw new HuntError(
      ErrorCodes.TOXIC_UNKNOWN,
      `Unknown toxic type "${name}". Known: ${[...types.keys()].join(', ')}.`,
    );
  }
  return type;
}
