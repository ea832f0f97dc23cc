import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { followDockerStream } from '../engine/docker-run.ts';

export interface SecondEngine {
  /** Its DOCKER_HOST. */
  host: string;
  docker: Docker;
  stop(): Promise<void>;
}

/**
 * A second Docker engine on this machine, on its own socket, data root, containerd and default
 * bridge, for tests of --engines (what a second machine would be). No iptables rules and its own
 * address pools, so it cannot disturb the first engine or reach anything outside: containers on
 * the networks it creates reach each other and the host, nothing else.
 */
export async function startSecondEngine(): Promise<SecondEngine> {
  // A short path: a unix socket's path is limited to 108 bytes.
  const root = `/run/hh-e2-${process.pid}`;
  const dataRoot = `/var/lib/hh-engine2-${process.pid}`;
  await mkdir(root, { recursive: true });
  // Its own default bridge: `--bridge none` would make dockerd delete the first engine's docker0.
  const bridge = `hhe2-${process.pid % 100000}`;
  await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  await run('ip', ['addr', 'add', '10.232.0.1/24', 'dev', bridge]);
  await run('ip', ['link', 'set', bridge, 'up']);
  const host = `unix://${join(root, 'docker.sock')}`;
  const log = createWriteStream(join(root, 'dockerd.log'));
  const daemon: ChildProcess = spawn(
    'dockerd',
    [
      '--host',
      host,
      '--data-root',
      dataRoot,
      '--exec-root',
      join(root, 'exec'),
      '--pidfile',
      join(root, 'docker.pid'),
      '--bridge',
      bridge,
      '--iptables=false',
      '--ip6tables=false',
      '--default-address-pool',
      'base=10.231.0.0/16,size=24',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  daemon.stdout?.pipe(log);
  daemon.stderr?.pipe(log);
  const exited = new Promise<void>((resolve) => daemon.on('exit', () => resolve()));
  const docker = new Docker({ socketPath: join(root, 'docker.sock') });
  const stop = async () => {
    daemon.kill('SIGTERM');
    const killer = setTimeout(() => daemon.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(killer);
    log.end();
    await run('ip', ['link', 'delete', bridge]).catch(() => undefined);
    await rm(dataRoot, { recursive: true, force: true });
    await rm(root, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (
      await docker.ping().then(
        () => true,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline || daemon.exitCode !== null) {
      await stop();
      throw new Error(`the second dockerd did not answer within 30 s; its log: ${join(root, 'dockerd.log')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { host, docker, stop };
}

/** Copies images from one engine to another (docker save | docker load), ids unchanged. */
export async function copyImages(from: Docker, to: Docker, references: readonly string[]): Promise<void> {
  for (const reference of references) {
    const tarball = await from.getImage(reference).get();
    await followDockerStream(to, await to.loadImage(tarball), () => undefined);
  }
}

const run = promisify(execFile);
