import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { makeDirectory } from '../fs-directory.ts';
import { resultsDir } from '../paths.ts';
import { RunLayout } from './layout.ts';

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
  await makeDirectory(join(dir, RunLayout.logs));
  return { id, dir };
}

export interface FolderFile {
  /** Relative to the folder. */
  path: string;
  bytes: number;
  mtimeMs: number;
  /**
   * The file's identity on its disk (device and inode): an incident window kept once for several
   * incidents is hard-linked into each folder, and its bytes are on the disk once.
   */
  inode?: string;
}

/** The bytes the files hold on disk: each hard-linked file once. */
export function bytesOnDisk(files: readonly FolderFile[]): number {
  const seen = new Set<string>();
  let bytes = 0;
  for (const file of files) {
    if (file.inode !== undefined) {
      if (seen.has(file.inode)) continue;
      seen.add(file.inode);
    }
    bytes += file.bytes;
  }
  return bytes;
}

/** Every file under a run folder (recursively), sorted by path; a folder that is gone has none. */
export async function folderFiles(dir: string): Promise<FolderFile[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const files: FolderFile[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    // A file removed between the listing and its stat is simply not there.
    const info = await stat(path).catch(() => undefined);
    if (info)
      files.push({
        path: relative(dir, path),
        bytes: info.size,
        mtimeMs: info.mtimeMs,
        inode: `${info.dev}:${info.ino}`,
      });
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/** The bytes of every file under a run folder; a folder that is gone holds none. */
export async function folderBytes(dir: string): Promise<number> {
  return bytesOnDisk(await folderFiles(dir));
}
