import { execFile as execFileCallback, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { promisify } from 'node:util';
import * as tar from 'tar';
import { ErrorCodes, HuntError } from '../../../errors.ts';

const execFile = promisify(execFileCallback);

/** Icinga's source at one release, ready to copy into the compile container. */
export interface IcingaSource {
  version: string;
  /** What the image says it was built from: `git <commit>` or `tree <hash of the files>`. */
  id: string;
  /** The source as a tar stream whose entries sit under src/. */
  archive(): Readable;
}

/**
 * Finds release `version` in DIR: a git repository (a checkout or a bare clone of Icinga's
 * icinga2 repository; its tag v<version> is used, whatever is checked out), or an unpacked
 * release tarball whose ICINGA2_VERSION file names that version.
 */
export async function findIcingaSource(dir: string, version: string): Promise<IcingaSource> {
  const kind = await stat(dir).catch(() => undefined);
  if (!kind?.isDirectory())
    throw new HuntError(
      ErrorCodes.USAGE,
      `--source ${dir} is not a folder. Give a checkout of Icinga's icinga2 repository (git clone, with its tags) or an unpacked release tarball.`,
    );
  if (await isOwnGitRepository(dir)) {
    const commit = await gitCommit(dir, `v${version}`);
    if (commit !== undefined)
      return { version, id: `git ${commit}`, archive: () => gitArchive(dir, `v${version}`) };
    throw new HuntError(
      ErrorCodes.VERSION_UNKNOWN,
      `The repository ${dir} has no tag v${version}. Fetch the tags (git -C ${dir} fetch --tags) or name a release it has (git -C ${dir} tag -l 'v2.*').`,
    );
  }
  const declared = await readFile(join(dir, 'ICINGA2_VERSION'), 'utf8').catch(() => undefined);
  const found = declared === undefined ? undefined : /^Version:\s*(\S+)/m.exec(declared)?.[1];
  if (found === undefined)
    throw new HuntError(
      ErrorCodes.USAGE,
      `--source ${dir} is neither a git repository nor an Icinga 2 source tree (it has no ICINGA2_VERSION file).`,
    );
  if (found !== version)
    throw new HuntError(
      ErrorCodes.VERSION_UNKNOWN,
      `The source tree ${dir} is Icinga ${found}, not ${version}: name ${found}, or give the tree of ${version}.`,
    );
  return { version, id: `tree ${await treeHash(dir)}`, archive: () => treeArchive(dir) };
}

async function gitCommit(dir: string, tag: string): Promise<string | undefined> {
  try {
    const { stdout } = await execFile('git', [
      '-C',
      dir,
      'rev-parse',
      '--verify',
      '--quiet',
      `${tag}^{commit}`,
    ]);
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** DIR is a repository's top (a checkout or a bare clone), not a folder inside another one. */
async function isOwnGitRepository(dir: string): Promise<boolean> {
  try {
    const { stdout } = await execFile('git', ['-C', dir, 'rev-parse', '--absolute-git-dir']);
    const gitDir = await realpath(stdout.trim());
    const top = await realpath(dir);
    return gitDir === top || gitDir === join(top, '.git');
  } catch {
    return false;
  }
}

/** `git archive` of the tag, streamed; a failing git ends the stream with its error, not a cut tar. */
function gitArchive(dir: string, tag: string): Readable {
  const child = spawn('git', ['-C', dir, 'archive', '--format=tar', '--prefix=src/', tag], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = new PassThrough();
  child.stdout.pipe(out, { end: false });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 4096) stderr += chunk.toString('utf8');
  });
  child.on('error', (error) => out.destroy(error));
  child.on('close', (code) => {
    if (code === 0) out.end();
    else out.destroy(new Error(`git archive ${tag} failed (${code}): ${stderr.trim()}`));
  });
  return out;
}

/** The files of an unpacked tree, under src/, without build output or VCS folders. */
function treeArchive(dir: string): Readable {
  return tar.create({ cwd: dir, prefix: 'src', portable: true, filter: keepInTree }, [
    '.',
  ]) as unknown as Readable;
}

const keepInTree = (path: string) =>
  !/(^|\/)(\.git|build|debug|release)(\/|$)/.test(path.replace(/^\.\//, ''));

/** A hash of the tree's archive: an unchanged tree builds once. */
async function treeHash(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of treeArchive(dir)) hash.update(chunk as Buffer);
  return hash.digest('hex').slice(0, 16);
}
