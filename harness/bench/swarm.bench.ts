/**
 * npm run bench:swarm — 1,000 and 2,000 simulated endpoints against a 2-master stack, beside
 * the same number of bare Node TLS connections (no protocol work) as the floor, in one run:
 * time to all connected, reconnect p50/p99 after a reload of master1, RSS and CPU of each side
 * (each in its own process), and RSS per endpoint. Goal: 5,000 endpoints under 1.5 GB RSS
 * (HH_BENCH_SIZES=5000).
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs-atomic.ts';
import { resultsDir } from '../paths.ts';
import { Run } from '../run/run.ts';
import { ratio } from '../stats.ts';
import { API_PORT } from '../systems/icinga/stack/icinga-config.ts';
import { IcingaStack } from '../systems/icinga/stack/icinga-stack.ts';
import { icingaVersionNumber } from '../systems/icinga/swarm/messages.ts';
import { issueIdentities, type SwarmTarget } from '../systems/icinga/swarm/swarm.ts';

const version = process.env.HH_BENCH_VERSION ?? '2.13.6';
const sizes = (process.env.HH_BENCH_SIZES ?? '1000,2000').split(',').map(Number);
const largest = Math.max(...sizes);

await using run = await Run.create({ name: 'bench-swarm' });
await using stack = await IcingaStack.version(version)
  .masters(2)
  .withSimulatedEndpoints(largest, { connect: false })
  .start(run);
await stack.ready();
const endpoints = stack.topology.simulated ?? [];
const identities = await issueIdentities({ endpoints, ca: stack.ca });
const targets: SwarmTarget[] = [];
for (const master of stack.masters) {
  const { version: v } = await master.api.icingaApplication();
  targets.push({ name: master.name, host: master.address, port: API_PORT, version: icingaVersionNumber(v) });
}
const scratch = await mkdtemp(join(tmpdir(), 'hh-bench-swarm-'));

interface SideResult {
  connectMs: number;
  rssMb: number;
  cpuMs: number;
  reconnect: { p50: number; p99: number; n: number };
}

async function side(mode: 'swarm' | 'bare', count: number): Promise<SideResult> {
  const specPath = join(scratch, `${mode}-${count}.json`);
  const chosen = endpoints.slice(0, count);
  await writeFileAtomic(
    specPath,
    JSON.stringify({
      mode,
      endpoints: chosen,
      targets,
      caPem: stack.ca.certificatePem,
      identities: Object.fromEntries(chosen.map((e) => [e, identities.get(e)])),
    }),
    0o600,
  );
  const child = fork(join(import.meta.dirname, 'swarm-child.ts'), [specPath], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = () =>
    new Promise<Record<string, number> & { reconnect?: SideResult['reconnect'] }>((resolve, reject) => {
      child.once('message', resolve as never);
      child.once('exit', (code) => reject(new Error(`the ${mode} side exited (${code}) before reporting`)));
    });
  try {
    const connected = await next();
    await stack.ready({ timeoutMs: 300_000 }).catch(() => undefined);
    const reloadAt = Date.now();
    await stack.master(1).reload({ timeoutMs: 120_000 });
    child.send({ reloadAt });
    const after = await next();
    return {
      connectMs: connected.ms as number,
      rssMb: after.rssMb as number,
      cpuMs: after.cpuMs as number,
      reconnect: after.reconnect as SideResult['reconnect'],
    };
  } finally {
    child.kill();
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

const report: Record<string, unknown> = { version, startedAt: new Date().toISOString() };
try {
  for (const count of sizes) {
    const bare = await side('bare', count);
    const swarm = await side('swarm', count);
    report[String(count)] = { bare, swarm };
    console.log(`${count} endpoints x ${targets.length} masters (Icinga ${version}):`);
    console.log(
      `  bare TLS  all connected ${bare.connectMs} ms, reconnect p50 ${bare.reconnect.p50} p99 ${bare.reconnect.p99} ms, RSS ${bare.rssMb} MB, CPU ${bare.cpuMs} ms`,
    );
    console.log(
      `  swarm     all connected ${swarm.connectMs} ms, reconnect p50 ${swarm.reconnect.p50} p99 ${swarm.reconnect.p99} ms, RSS ${swarm.rssMb} MB, CPU ${swarm.cpuMs} ms`,
    );
    console.log(
      `  per endpoint: swarm ${Math.round((swarm.rssMb * 1000) / count)} KB, bare ${Math.round((bare.rssMb * 1000) / count)} KB of RSS`,
    );
    console.log(
      `  swarm/bare: connect ${ratio(swarm.connectMs, bare.connectMs)}, reconnect p50 ${ratio(swarm.reconnect.p50, bare.reconnect.p50)}, ` +
        `RSS ${ratio(swarm.rssMb, bare.rssMb)}, CPU ${ratio(swarm.cpuMs, bare.cpuMs)}`,
    );
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
}
const out = join(resultsDir(), 'bench', `swarm-${Date.now()}.json`);
await writeFileAtomic(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`written: ${out}`);
