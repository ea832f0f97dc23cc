import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { ErrorCodes, HuntError } from '../errors.ts';
import { makeDirectory } from '../fs-directory.ts';
import { resultsDir } from '../paths.ts';
import type { Progress } from '../progress.ts';
import { ensureHostTools, which } from './host-tools.ts';

export const DEFAULT_SOCKET = '/var/run/docker.sock';

/** Where the engine is expected, and whether the user said so (DOCKER_HOST) or we assume it. */
export type EngineAddress =
  | { kind: 'socket'; socketPath: string; explicit: boolean }
  | { kind: 'tcp'; host: string; port: number; explicit: true };

/** Reads DOCKER_HOST the way the docker client does (unix:// and tcp:// only). */
export function engineAddress(env: NodeJS.ProcessEnv = process.env): EngineAddress {
  const value = env.DOCKER_HOST?.trim();
  if (!value) return { kind: 'socket', socketPath: DEFAULT_SOCKET, explicit: false };
  if (value.startsWith('unix://'))
    return { kind: 'socket', socketPath: value.slice('unix://'.length), explicit: true };
  const tcp = /^tcp:\/\/([^:/]+|\[[^\]]+\]):(\d+)\/?$/.exec(value);
  if (tcp?.[1] && tcp[2])
    return { kind: 'tcp', host: tcp[1].replace(/^\[|\]$/g, ''), port: Number(tcp[2]), explicit: true };
  throw new HuntError(
    ErrorCodes.USAGE,
    `DOCKER_HOST=${value} is not an address hunt understands. Use unix:///path/to/docker.sock or ` +
      'tcp://host:port, or unset DOCKER_HOST to use the default socket.',
  );
}

export function describeAddress(address: EngineAddress): string {
  return address.kind === 'socket' ? `unix://${address.socketPath}` : `tcp://${address.host}:${address.port}`;
}

export function dockerClient(address: EngineAddress): Docker {
  return address.kind === 'socket'
    ? new Docker({ socketPath: address.socketPath })
    : new Docker({ host: address.host, port: address.port, protocol: 'http' });
}

/** Asks the engine for its version; undefined where nothing answers within the timeout. */
export async function pingEngine(docker: Docker, timeoutMs = 3000): Promise<string | undefined> {
  const answer = docker.version().then(
    (v) => v.Version,
    () => undefined,
  );
  const timeout = sleep(timeoutMs, undefined, { ref: false });
  return Promise.race([answer, timeout]);
}

export interface Engine {
  docker: Docker;
  address: EngineAddress;
  version: string;
  /** True where this call installed or started the engine. */
  started: boolean;
}

/**
 * Finds a Docker engine, or (for the default socket on Debian/Ubuntu as root) installs and
 * starts one. An explicit DOCKER_HOST that does not answer is the user's error: we never start
 * an engine somewhere they did not ask for.
 */
export async function ensureEngine(
  progress: Progress,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Engine> {
  const address = engineAddress(env);
  const docker = dockerClient(address);
  const version = await pingEngine(docker);
  if (version !== undefined) return { docker, address, version, started: false };
  if (address.explicit) {
    throw new HuntError(
      ErrorCodes.ENGINE_UNAVAILABLE,
      `No Docker engine answers at DOCKER_HOST=${describeAddress(address)}. Start the engine there, ` +
        'point DOCKER_HOST at one that runs, or unset DOCKER_HOST to let hunt use (or start) the local engine.',
      { details: { address: describeAddress(address) } },
    );
  }
  await startLocalEngine(address.kind === 'socket' ? address.socketPath : DEFAULT_SOCKET, progress);
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const started = await pingEngine(docker);
    if (started !== undefined) {
      progress.step(`Docker engine ${started} is up at ${describeAddress(address)}`);
      return { docker, address, version: started, started: true };
    }
    await sleep(500);
  }
  throw new HuntError(
    ErrorCodes.ENGINE_UNAVAILABLE,
    `Started dockerd but it did not answer at ${describeAddress(address)} within 90 s. ` +
      `Read its log at ${engineLogPath()} for the reason.`,
  );
}

export function engineLogPath(): string {
  return join(resultsDir(), '.engine', 'dockerd.log');
}

async function startLocalEngine(socketPath: string, progress: Progress): Promise<void> {
  if ((await which('dockerd')) === undefined) {
    progress.step('no Docker engine answers and dockerd is not installed');
    try {
      await ensureHostTools(['dockerd'], progress);
    } catch (error) {
      throw new HuntError(
        ErrorCodes.ENGINE_UNAVAILABLE,
        'No Docker engine answers at the default socket and none could be installed here. Install Docker ' +
          '(on Debian/Ubuntu: apt-get install docker.io), start it, and run hunt again.',
        { cause: error },
      );
    }
  }
  if (process.getuid?.() !== 0) {
    throw new HuntError(
      ErrorCodes.ENGINE_UNAVAILABLE,
      `dockerd is installed but not running, and hunt is not root so it cannot start it. Start the ` +
        'engine (sudo dockerd, or your service manager) and run hunt again.',
    );
  }
  // A socket file left by an engine that died makes dockerd refuse to start; it has no owner now.
  await stat(socketPath).then(
    () => progress.detail(`stale socket ${socketPath} present; dockerd will replace it`),
    () => undefined,
  );
  const log = engineLogPath();
  await makeDirectory(join(log, '..'));
  progress.step(`starting dockerd in the background (log: ${log})`);
  const out = openSync(log, 'a');
  // Detached and unreferenced: the engine outlives this command, as an installed service would.
  const child = spawn('dockerd', ['--host', `unix://${socketPath}`], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  child.unref();
}
