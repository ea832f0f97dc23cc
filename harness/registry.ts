import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A registry of the house's "one file each" rooms (toxics, detectors): every .ts file in `dir`
 * (tests aside) default-exports one entry, keyed by `keyOf`. Adding an entry is adding a file.
 * A file without a default export, or two entries with one key, is a bug and throws.
 */
export async function loadRegistry<T>(
  dir: string,
  what: string,
  keyOf: (entry: T) => string | undefined,
): Promise<Map<string, T>> {
  const found = new Map<string, T>();
  for (const file of (await readdir(dir)).sort()) {
    if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue;
    const entry = ((await import(join(dir, file))) as { default?: T }).default;
    const key = entry === undefined ? undefined : keyOf(entry);
    if (key === undefined) throw new Error(`${file} in ${dir} does not default-export a ${what}`);
    if (found.has(key)) throw new Error(`${what} "${key}" is defined twice`);
    found.set(key, entry as T);
  }
  return found;
}
