import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { $ } from 'zx/core';
import { followDockerStream } from '../engine/docker-run.ts';
import { ensureHostTools } from '../engine/host-tools.ts';
import { imageLabels, Labels } from '../engine/labels.ts';
import { ErrorCodes, HuntError } from '../errors.ts';
import { makeDirectory } from '../fs-directory.ts';
import { resultsDir } from '../paths.ts';
import type { Progress } from '../progress.ts';
import { debianMirror } from './apt-mirror.ts';

/** The Debian releases the harness builds its images on. */
export type DebianSuite = 'bullseye' | 'bookworm' | 'trixie';

/** The offline Debian base image of a suite (debootstrap from the machine's apt mirror). */
export function baseImageTag(suite: DebianSuite): string {
  return `handshake-hunter/debian:${suite}`;
}

export async function imageExists(docker: Docker, reference: string): Promise<boolean> {
  return docker
    .getImage(reference)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}

/**
 * A Debian root image for the suite: our own debootstrapped base if we made one before, else
 * `debian:<suite>` if present or pullable, else debootstrap a minbase root from the machine's
 * apt mirror and `docker import` it (the offline path: no registry is assumed).
 */
export async function ensureDebianBase(
  docker: Docker,
  suite: DebianSuite,
  progress: Progress,
  signal?: AbortSignal,
): Promise<string> {
  const ownTag = baseImageTag(suite);
  if (await imageExists(docker, ownTag)) return ownTag;
  const official = `debian:${suite}`;
  if (await imageExists(docker, official)) return official;
  try {
    await followDockerStream(docker, await docker.pull(official), (line) => progress.detail(line), signal);
    return official;
  } catch (error) {
    signal?.throwIfAborted();
    progress.detail(
      `cannot pull ${official} (${(error as Error).message.split('\n')[0]}); using debootstrap`,
    );
  }
  await debootstrapBase(docker, suite, ownTag, progress, signal);
  return ownTag;
}

async function debootstrapBase(
  docker: Docker,
  suite: DebianSuite,
  tag: string,
  progress: Progress,
  signal?: AbortSignal,
): Promise<void> {
  await ensureHostTools(['debootstrap'], progress);
  if (process.getuid?.() !== 0) {
    throw new HuntError(
      ErrorCodes.IMAGE_BUILD_FAILED,
      `Building the ${suite} base needs debootstrap as root (no registry image debian:${suite} is available). ` +
        'Run hunt images build as root once, or load debian:' +
        `${suite} into the engine (docker load) and run again.`,
    );
  }
  const mirror = await debianMirror();
  const root = join(resultsDir(), '.build', `rootfs-${suite}-${process.pid}`);
  await rm(root, { recursive: true, force: true });
  await makeDirectory(root);
  progress.step(`debootstrap ${suite} (minbase) from the machine's apt mirror`);
  try {
    const debootstrap = $({
      quiet: true,
      nothrow: true,
      signal,
    })`debootstrap --variant=minbase ${suite} ${root} ${mirror}`;
    debootstrap.stdout.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.startsWith('I:')) progress.detail(line);
    });
    const result = await debootstrap;
    signal?.throwIfAborted();
    if (result.exitCode !== 0) {
      throw new HuntError(
        ErrorCodes.IMAGE_BUILD_FAILED,
        `debootstrap ${suite} failed (exit ${result.exitCode}): ` +
          `${(result.stderr || result.stdout).trim().split('\n').slice(-3).join(' | ')}. ` +
          'Check that the apt mirror serves this suite, or set HH_DEBIAN_MIRROR.',
      );
    }
    // apt inside the image must not keep downloaded .debs or lists from the bootstrap.
    await rm(join(root, 'var/cache/apt/archives'), { recursive: true, force: true });
    await makeDirectory(join(root, 'var/cache/apt/archives/partial'));
    progress.step(`docker import ${tag}`);
    await importRoot(docker, root, suite, tag, signal);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function importRoot(
  docker: Docker,
  root: string,
  suite: DebianSuite,
  tag: string,
  signal?: AbortSignal,
): Promise<void> {
  const [repo, version] = tag.split(':') as [string, string];
  const tar = spawn('tar', ['--numeric-owner', '-C', root, '-cf', '-', '.'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tarDone = new Promise<number>((resolve) => tar.on('close', (code) => resolve(code ?? 1)));
  // `changes` gives the imported root our labels, so `hunt clean --all` can find it.
  const labels = imageLabels({ [Labels.DEBIAN_SUITE]: suite });
  const changes = Object.entries(labels).map(([key, value]) => `LABEL ${key}=${value}`);
  const stream = await docker.importImage(tar.stdout, { repo, tag: version, changes } as object);
  try {
    await followDockerStream(docker, stream, () => undefined, signal);
  } catch (error) {
    tar.kill();
    throw error;
  }
  if ((await tarDone) !== 0) {
    await docker
      .getImage(tag)
      .remove({ force: true })
      .catch(() => undefined);
    throw new HuntError(
      ErrorCodes.IMAGE_BUILD_FAILED,
      `tar of the ${suite} root failed; nothing was tagged.`,
    );
  }
}
