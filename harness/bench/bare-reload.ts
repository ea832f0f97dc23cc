import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import type { StartedIcingaNode } from '../systems/icinga/stack/icinga-node.ts';

/**
 * The reference every reload benchmark compares against: SIGHUP to the container, then poll
 * the worker pid as tightly as a bare script would. Returns ms from the signal to the new pid;
 * bounded by `timeoutMs`.
 */
export async function bareSighupReload(
  docker: Docker,
  master: StartedIcingaNode,
  timeoutMs = 60_000,
): Promise<number> {
  const before = (await master.api.icingaApplication()).pid;
  const started = performance.now();
  await docker.getContainer(master.container.getId()).kill({ signal: 'SIGHUP' });
  while (performance.now() - started < timeoutMs) {
    const now = await master.api.icingaApplication().catch(() => undefined);
    if (now && now.pid !== before) return performance.now() - started;
    await sleep(10);
  }
  throw new Error(`${master.name}: no new worker ${timeoutMs} ms after SIGHUP`);
}

/**
 * The bare version of a verified reload, as a shell script with curl would do it: SIGHUP, poll
 * until the new worker answers, then poll its endpoint list until every endpoint other than
 * the master itself shows connected. No history, swarm events or observers: what the harness
 * adds on top of this is its own overhead. Returns ms from the signal; bounded by `timeoutMs`.
 */
export async function bareVerifiedReload(
  docker: Docker,
  master: StartedIcingaNode,
  timeoutMs = 60_000,
): Promise<number> {
  const started = performance.now();
  await bareSighupReload(docker, master, timeoutMs);
  while (performance.now() - started < timeoutMs) {
    const seen = await master.api.endpointConnections().catch(() => undefined);
    if (seen && [...seen].every(([name, connected]) => connected || name === master.name))
      return performance.now() - started;
    await sleep(10);
  }
  throw new Error(`${master.name}: endpoints still missing ${timeoutMs} ms after SIGHUP`);
}
