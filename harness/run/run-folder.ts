import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { resultsDir } from '../paths.ts';

export interface RunFolder {
  /** Sortable and unique: 20261121-071500-<name>-<4 hex>. Also the RUN label's value. */
  id: string;
  dir: string;
}

/** A new folder name: 20261121-071500-<name>-<4 hex>, sortable by time. */
export function folderId(name: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const safeName = name.replace(/[^A-Za-z0-9-]+/g, '-').slice(0, 40) || 'run';
  return `${stamp}-${safeName}-${randomBytes(2).toString('hex')}`;
}

/** Creates results/<run-id>/ with logs/ inside. */
export async function createRunFolder(name: string, root = resultsDir()): Promise<RunFolder> {
  const id = folderId(name);
  const dir = join(root, id);
  await mkdir(join(dir, 'logs'), { recursive: true });
  return { id, dir };
}
