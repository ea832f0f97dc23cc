import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/**
 * `mkdir -p` that always ends. Node's `mkdir(..., { recursive: true })` never returns for a path
 * under /proc (mkdir there says ENOENT although the parent exists, and Node retries the parent
 * forever); this walks up at most once per path component and then creates downwards, so any
 * error (ENOENT, ENOTDIR, EACCES, EROFS) reaches the caller.
 */
export async function makeDirectory(path: string): Promise<void> {
  const missing: string[] = [];
  let current = resolve(path);
  for (;;) {
    const info = await stat(current).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (info?.isDirectory()) break;
    if (info)
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${current}'`), {
        code: 'ENOTDIR',
        path: current,
      });
    missing.push(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const directory of missing.reverse()) {
    await mkdir(directory).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  }
}
