/**
 * npm run bench:watch — what `hunt watch` costs the master it watches: two masters of one stack
 * take the same handshake load side by side, one of them watched (the real CLI, its capture ring
 * and log tail), the other not; rounds swap which, so a master's own speed cancels out. Prints
 * handshakes per second through each and their ratio (goal: watched/unwatched at least 0.95),
 * and the watcher's CPU (its own and its tcpdump's) and memory.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { ensureEngine } from '../engine/docker-engine.ts';
import { writeFileAtomic } from '../fs-atomic.ts';
import { resultsDir } from '../paths.ts';
import { silentProgress } from '../progress.ts';
import { Run } from '../run/run.ts';
import { spawnHunt } from '../runner/hunt-child.ts';
import { childrenOf } from '../seam/host-process.ts';
import { percentile, ratio } from '../stats.ts';
import { API_PORT } from '../systems/icinga/stack/icinga-config.ts';
import { IcingaStack } from '../systems/icinga/stack/icinga-stack.ts';
import { issueIdentities } from '../systems/icinga/swarm/swarm.ts';

const version = process.env.HH_BENCH_VERSION ?? '2.13.6';
const rounds = Number(process.env.HH_BENCH_ROUNDS ?? 4);
const seconds = Number(process.env.HH_BENCH_SECONDS ?? 30);
/** Handshakes in flight per master at any time. */
const concurrency = Number(process.env.HH_BENCH_CONCURRENCY ?? 4);

await using run = await Run.create({ name: 'bench-watch' });
await using stack = await IcingaStack.version(version)
  .masters(2)
  .withSimulatedEndpoints(1, { connect: false })
  .withTlsSecrets(false)
  .start(run);
await stack.ready({ timeoutMs: 300_000 });
const [endpoint] = stack.topology.simulated ?? [];
const identity = (await issueIdentities({ endpoints: [endpoint as string], ca: stack.ca })).get(
  endpoint as string,
);
if (!identity) throw new Error('no identity for the simulated endpoint');
const { docker } = await ensureEngine(silentProgress);
const median = (values: readonly number[]) => percentile(values, 50);
const scratch = await mkdtemp(join(tmpdir(), 'hh-bench-watch-'));

/** Full handshakes against one master for `ms`, `concurrency` at a time; how many completed. */
async function handshakes(host: string, ms: number): Promise<number> {
  const until = Date.now() + ms;
  let done = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const socket = connect({
        host,
        port: API_PORT,
        ca: stack.ca.certificatePem,
        cert: identity?.certificateChainPem,
        key: identity?.privateKeyPem,
        rejectUnauthorized: false,
      });
      socket.setTimeout(10_000, () => socket.destroy());
      socket.once('secureConnect', () => {
        done++;
        socket.end();
      });
      socket.once('close', () => resolve());
      socket.once('error', () => undefined);
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) await one();
    }),
  );
  return done;
}

/** CPU seconds (user + system) of a process and its children that are still alive. */
async function cpuSeconds(pid: number): Promise<number> {
  const ticks = async (p: number) => {
    const stat = await readFile(`/proc/${p}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  };
  let total = await ticks(pid);
  for (const child of await childrenOf(pid)) total += await ticks(child.pid);
  return total / 100;
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

async function startWatch(master: string): Promise<ChildProcess> {
  const container = stack.node(master).container;
  const { State } = await docker.getContainer(container.getId()).inspect();
  const child = spawnHunt(['watch', '--pid', String(State.Pid), '--name', master, '--results', scratch]);
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  // Watching once it says so (its ring is up); a watch that exits first is a failed bench.
  const deadline = Date.now() + 120_000;
  while (!output.includes('==> watching')) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`hunt watch did not start: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return child;
}

let running: ChildProcess | undefined;
const rows: Array<{
  watched: string;
  watchedRate: number;
  otherRate: number;
  cpuPerMin: number;
  rssMb: number;
}> = [];
try {
  for (let round = 0; round < rounds; round++) {
    const [watched, other] = round % 2 === 0 ? ['master1', 'master2'] : ['master2', 'master1'];
    const watch = await startWatch(watched as string);
    running = watch;
    const pid = watch.pid as number;
    const cpuBefore = await cpuSeconds(pid);
    const [onWatched, onOther] = await Promise.all([
      handshakes(stack.node(watched as string).address, seconds * 1000),
      handshakes(stack.node(other as string).address, seconds * 1000),
    ]);
    const cpu = (await cpuSeconds(pid)) - cpuBefore;
    const rss = await rssMb(pid);
    watch.kill('SIGINT');
    await once(watch, 'exit');
    rows.push({
      watched: watched as string,
      watchedRate: onWatched / seconds,
      otherRate: onOther / seconds,
      cpuPerMin: (cpu * 60) / seconds,
      rssMb: rss,
    });
    const last = rows.at(-1);
    console.log(
      `round ${round + 1}: ${watched} watched ${last?.watchedRate.toFixed(1)}/s, ${other} not ${last?.otherRate.toFixed(1)}/s ` +
        `(${ratio(last?.watchedRate ?? 0, last?.otherRate ?? 1)}); watcher CPU ${last?.cpuPerMin.toFixed(2)} s/min, RSS ${rss} MB`,
    );
  }
} finally {
  // A round that failed leaves its watch running (it has no --duration): end it.
  running?.kill('SIGKILL');
  await rm(scratch, { recursive: true, force: true });
}
const ratios = rows.map((row) => row.watchedRate / row.otherRate);
console.log(
  `watched/unwatched handshakes per second over ${rows.length} rounds of ${seconds} s (Icinga ${version}): ` +
    `median ${median(ratios).toFixed(3)}x (min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)}); ` +
    `watcher CPU median ${median(rows.map((row) => row.cpuPerMin)).toFixed(2)} s per minute, RSS max ${Math.max(...rows.map((row) => row.rssMb))} MB`,
);
const out = join(resultsDir(), 'bench', `watch-${Date.now()}.json`);
await writeFileAtomic(out, `${JSON.stringify({ version, rounds: rows, seconds, concurrency }, null, 2)}\n`);
console.log(`written: ${out}`);
