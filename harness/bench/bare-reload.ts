import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import type { StartedIcingaNode } from '../stack/icinga-node.ts';

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
