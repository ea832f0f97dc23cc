import { join } from 'node:path';
import { ErrorCodes, HuntError } from '../errors.ts';
import { loadRegistry } from '../registry.ts';
import type { ToxicType } from './toxic.ts';

const TOXICS_DIR = join(import.meta.dirname, 'toxics');

let loaded: Map<string, ToxicType> | undefined;

/**
 * Every toxic type, keyed by wire name: each file in toxics/ (tests aside) default-exports one.
 * Adding a toxic is adding a file; nothing else changes.
 */
export async function toxicTypes(): Promise<Map<string, ToxicType>> {
  loaded ??= await loadRegistry<ToxicType>(TOXICS_DIR, 'toxic type', (type) => type.type || undefined);
  return loaded;
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
