import { createWriteStream } from 'node:fs';
import { chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { GenericContainer, type StartedTestContainer } from 'testcontainers';
import { harnessLabels, Labels } from '../engine/labels.ts';
import { ErrorCodes, HuntError } from '../errors.ts';
import { makeDirectory } from '../fs-directory.ts';
import { RunLayout } from '../run/layout.ts';
import type { RunFolder } from '../run/run-folder.ts';

// Ryuk (testcontainers' reaper) is an image that cannot be pulled offline; the harness cleans
// up by its own labels instead (`hunt clean`). Read by testcontainers when a container starts.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

/** Where a node's capture ring and key log live inside its container (bind-mounted from the run). */
export const CAPTURE_DIR = '/var/lib/hh-capture';
export const KEYS_DIR = '/var/lib/hh-keys';

/** testcontainers' container with the one setting it lacks: namespaced sysctls. */
class SysctlContainer extends GenericContainer {
  withSysctls(sysctls: Record<string, string>): this {
    if (Object.keys(sysctls).length > 0) this.hostConfig.Sysctls = { ...this.hostConfig.Sysctls, ...sysctls };
    return this;
  }
}

export interface NodeContainerInput {
  docker: Docker;
  run: RunFolder;
  network: string;
  image: string;
  name: string;
  role: string;
  /** The image's command (its entrypoint stays). */
  command?: string[];
  /** Files copied in before it starts: absolute path -> content (and mode). */
  files: ReadonlyArray<{ target: string; content: string; mode: number }>;
  environment?: Record<string, string>;
  /** The container folder its logs go to: bind-mounted from logs/<name>/ in the run folder. */
  logDir: string;
  /** Namespaced kernel settings (net.unix.max_dgram_qlen, net.core.somaxconn). */
  sysctls?: Record<string, string>;
  /** Open files per process (RLIMIT_NOFILE, soft and hard); default: the engine's. */
  fileLimit?: number;
  /** What to say when it stops as soon as it starts: "is its command the Icinga 2 daemon?". */
  expectation: string;
}

export interface StartedNodeContainer {
  container: StartedTestContainer;
  address: string;
  /** logs/<name>/ in the run folder (the container's logDir). */
  logDir: string;
  /** The container's own output: logs/<name>/container.log. */
  containerLog: string;
  /** captures/<name>/ in the run folder, mounted at CAPTURE_DIR. */
  captureDir: string;
}

/**
 * Starts one labelled container of a run on the run's network, its logs, capture ring and key
 * log bind-mounted from the run folder (evidence survives the container). A container that could
 * not start, or ended at once, is removed and reported with its last output.
 */
export async function startNodeContainer(input: NodeContainerInput): Promise<StartedNodeContainer> {
  const { docker, run, network, name } = input;
  const logDir = join(run.dir, RunLayout.nodeLogs(name));
  const captureDir = join(run.dir, RunLayout.captures(name));
  const keysDir = join(run.dir, RunLayout.nodeKeys);
  await makeDirectory(logDir);
  await makeDirectory(captureDir);
  await makeDirectory(keysDir);
  // Daemons that drop privileges (Icinga's workers run as nagios) rotate their key logs in this
  // folder: world-writable, sticky so that no node can remove another's files.
  await chmod(keysDir, 0o1777);
  const containerLog = join(logDir, 'container.log');
  let builder = new SysctlContainer(input.image)
    .withName(`hh-${run.id}-${name}`)
    .withHostname(name)
    .withNetworkMode(network)
    .withNetworkAliases(name)
    .withLabels(harnessLabels({ [Labels.RUN]: run.id, [Labels.ROLE]: input.role }))
    .withCopyContentToContainer([...input.files])
    .withBindMounts([
      { source: logDir, target: input.logDir, mode: 'rw' },
      { source: captureDir, target: CAPTURE_DIR, mode: 'rw' },
      { source: keysDir, target: KEYS_DIR, mode: 'rw' },
    ])
    .withEnvironment(input.environment ?? {})
    .withSysctls(input.sysctls ?? {})
    .withLogConsumer((stream) => stream.pipe(createWriteStream(containerLog, { flags: 'a' })))
    .withStartupTimeout(60_000);
  if (input.command) builder = builder.withCommand(input.command);
  if (input.fileLimit !== undefined)
    builder = builder.withUlimits({ nofile: { soft: input.fileLimit, hard: input.fileLimit } });
  const container = await builder.start().catch(async (error: unknown) => {
    // A container the engine created but could not start stays "Created": remove it now.
    await docker
      .getContainer(`hh-${run.id}-${name}`)
      .remove({ force: true, v: true })
      .catch(() => undefined);
    throw error;
  });
  // A container that ended at once (a user image whose command is not the daemon) has no address.
  const address = await Promise.resolve()
    .then(() => container.getIpAddress(network))
    .catch(() => '');
  if (!address) {
    await container.stop({ remove: true, timeout: 1_000 }).catch(() => undefined);
    const output = await readFile(containerLog, 'utf8').catch(() => '');
    throw new HuntError(
      ErrorCodes.CONFIG_INVALID,
      `${name} stopped as soon as it started (image ${input.image}): ${input.expectation} Its output:\n${output.trim().split('\n').slice(-10).join('\n') || '(none)'}`,
    );
  }
  return { container, address, logDir, containerLog, captureDir };
}

/** The run's own network (labelled, so `hunt clean` finds it) and its gateway: the host's address on it. */
export async function createRunNetwork(
  docker: Docker,
  runId: string,
): Promise<{ network: string; gateway: string | undefined }> {
  const network = `hh-${runId}`;
  await docker.createNetwork({
    Name: network,
    Labels: harnessLabels({ [Labels.RUN]: runId }),
    CheckDuplicate: true,
  });
  try {
    const info = (await docker.getNetwork(network).inspect()) as {
      IPAM?: { Config?: Array<{ Gateway?: string }> };
    };
    return { network, gateway: info.IPAM?.Config?.find((config) => config.Gateway)?.Gateway };
  } catch (error) {
    // Nothing else knows the network yet: remove it here.
    await docker
      .getNetwork(network)
      .remove()
      .catch(() => undefined);
    throw error;
  }
}
