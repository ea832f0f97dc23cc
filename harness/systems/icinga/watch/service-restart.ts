import { execFile as execFileCallback } from 'node:child_process';
import { promisify } from 'node:util';
import { dockerClient, engineAddress, pingEngine } from '../../../engine/docker-engine.ts';
import { which } from '../../../engine/host-tools.ts';
import { ErrorCodes, HuntError } from '../../../errors.ts';

const execFile = promisify(execFileCallback);

/** How long a restart may take before the watch says it failed (the daemon's own stop included). */
const RESTART_TIMEOUT_MS = 120_000;

/** How the service a daemon runs in is restarted: its container, or its systemd unit. */
export type ServiceRestart =
  | { kind: 'container'; id: string; describe: string }
  | { kind: 'systemd'; unit: string; describe: string };

/**
 * The service around a daemon, read off its control group: a Docker container
 * (`/docker/<id>`, `.../docker-<id>.scope`) or a systemd unit (`.../icinga2.service`). Anything
 * else cannot be restarted by the watch: HH_USAGE, before anything starts.
 */
export function serviceOf(cgroup: string): ServiceRestart {
  const container = /(?:^|\/)(?:docker[-/])([0-9a-f]{64})(?:\.scope)?(?:\/|$)/.exec(cgroup)?.[1];
  if (container)
    return { kind: 'container', id: container, describe: `docker restart ${container.slice(0, 12)}` };
  // Only a system service whose own control group holds the daemon: never a user's session
  // (user@1000.service), nor a unit that merely started it (cron.service/...).
  const unit = /^\/system\.slice\/([A-Za-z0-9@._-]+\.service)$/.exec(cgroup)?.[1];
  if (unit) return { kind: 'systemd', unit, describe: `systemctl restart ${unit}` };
  throw new HuntError(
    ErrorCodes.USAGE,
    `--restart-after-evidence restarts the daemon's container or its own systemd service, and its control group ` +
      `${cgroup} is neither: restart it by hand when the evidence is written, or leave the option out.`,
  );
}

/** Checks that the restart can be done from here (the engine answers; systemctl exists). */
export async function checkRestart(service: ServiceRestart): Promise<void> {
  if (service.kind === 'container') {
    if ((await pingEngine(dockerClient(engineAddress()))) === undefined)
      throw new HuntError(
        ErrorCodes.USAGE,
        `--restart-after-evidence restarts container ${service.id.slice(0, 12)}, but no Docker engine answers at ` +
          `${process.env.DOCKER_HOST ?? 'the default socket'}: set DOCKER_HOST, or leave the option out.`,
      );
  } else if ((await which('systemctl')) === undefined)
    throw new HuntError(
      ErrorCodes.USAGE,
      `--restart-after-evidence restarts ${service.unit}, but systemctl is not on PATH: leave the option out.`,
    );
}

/** Restarts the service (the user opted in): the daemon stops and starts again, as by hand. */
export async function restartService(service: ServiceRestart): Promise<void> {
  if (service.kind === 'container') {
    await dockerClient(engineAddress()).getContainer(service.id).restart({ t: 10 });
    return;
  }
  await execFile('systemctl', ['restart', service.unit], { timeout: RESTART_TIMEOUT_MS });
}
