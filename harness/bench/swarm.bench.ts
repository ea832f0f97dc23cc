/**
 * npm run bench:swarm — 1,000 and 2,000 simulated endpoints against a 2-master stack, beside
 * the same number of bare Node TLS connections (no protocol work) as the floor, in one run:
 * time to all connected, reconnect p50/p99 after a reload of master1, RSS and CPU of each side
 * (each in its own process), and RSS per endpoint. Goal: 5,000 endpoints under 1.5 GB RSS
 * (HH_BENCH_SIZES=5000).
 *
 * The masters' keys are Icinga's RSA 4096 unless HH_BENCH_KEYS says otherwise (ec-p256): on two
 * cores, two masters with RSA 4096 keys accepted 5,839 of 10,000 connections in 600 s, so the
 * masters' signatures, not the swarm, set the pace. A side that is not all connected by
 * HH_BENCH_CONNECT_S (default 600) reports what it holds then, per connection up, and skips
 * the reload.
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs-atomic.ts';
import { resultsDir } from '../paths.ts';
import { keySpecName, parseKeySpec, RSA_4096 } from '../pki/key-spec.ts';
import { Run } from '../run/run.ts';
import { ratio } from '../stats.ts';
import { API_PORT } from '../systems/icinga/stack/icinga-config.ts';
import { IcingaStack } from '../systems/icinga/stack/icinga-stack.ts';
import { icingaVersionNumber } from '../systems/icinga/swarm/messages.ts';
import { issueIdentities, type SwarmTarget } from '../systems/icinga/swarm/swarm.ts';

const version = process.env.HH_BENCH_VERSION ?? '2.13.6';
const sizes = (process.env.HH_BENCH_SIZES ?? '1000,2000').split(',').map(Number);
const largest = Math.max(...sizes);
const keys = process.env.HH_BENCH_KEYS ? parseKeySpec(process.env.HH_BENCH_KEYS) : RSA_4096;
const connectMs = Number(process.env.HH_BENCH_CONNECT_S ?? 600) * 1000;

await using run = await Run.create({ name: 'bench-swarm' });
await using stack = await IcingaStack.version(version)
  .masters(2)
  .withSimulatedEndpoints(largest, { connect: false })
  .withKeys(keys)
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
  /** Connections up when it reported (all of them, unless the deadline came first). */
  connections: number;
  of: number;
  rssMb: number;
  cpuMs: number;
  reconnect?: { p50: number; p99: number; n: number };
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
      connectMs,
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
    const base = {
      connectMs: connected.ms as number,
      connections: connected.connections as number,
      of: count * targets.length,
    };
    if (connected.connections !== base.of)
      return { ...base, rssMb: connected.rssMb as number, cpuMs: connected.cpuMs as number };
    await stack.ready({ timeoutMs: 300_000 }).catch(() => undefined);
    const reloadAt = Date.now();
    await stack.master(1).reload({ timeoutMs: 120_000 });
    child.send({ reloadAt });
    const after = await next();
    return {
      ...base,
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
    console.log(
      `${count} endpoints x ${targets.length} masters (Icinga ${version}, masters' keys ${keySpecName(keys)}):`,
    );
    for (const [name, result] of [
      ['bare TLS', bare],
      ['swarm   ', swarm],
    ] as const)
      console.log(
        `  ${name}  ${result.connections === result.of ? `all ${result.of} connected in ${result.connectMs} ms` : `${result.connections} of ${result.of} connected at the deadline`}, ` +
          `${result.reconnect ? `reconnect p50 ${result.reconnect.p50} p99 ${result.reconnect.p99} ms, ` : ''}RSS ${result.rssMb} MB, CPU ${result.cpuMs} ms`,
      );
    // Per endpoint: as if every endpoint held all its connections, the RSS per connection up
    // times the connections an endpoint has (an overestimate when not all are up).
    const perEndpointKb = (result: SideResult) =>
      Math.round(((result.rssMb * 1000) / Math.max(1, result.connections)) * targets.length);
    console.log(
      `  per endpoint: swarm ${perEndpointKb(swarm)} KB, bare ${perEndpointKb(bare)} KB of RSS; ` +
        `${count} endpoints at that rate: swarm ${Math.round((perEndpointKb(swarm) * count) / 1000)} MB`,
    );
    console.log(
      `  swarm/bare: connect ${ratio(swarm.connectMs, bare.connectMs)}, ` +
        `${swarm.reconnect && bare.reconnect ? `reconnect p50 ${ratio(swarm.reconnect.p50, bare.reconnect.p50)}, ` : ''}` +
        `RSS per connection ${ratio(swarm.rssMb / swarm.connections, bare.rssMb / bare.connections)}, CPU ${ratio(swarm.cpuMs, bare.cpuMs)}`,
    );
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
}
const out = join(resultsDir(), 'bench', `swarm-${Date.now()}.json`);
await writeFileAtomic(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`written: ${out}`);
