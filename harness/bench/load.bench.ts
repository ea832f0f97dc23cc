/**
 * npm run bench:load — the load generator against nginx directly and through stunnel 5.68, in
 * one run, at rising offered rates, keep-alive requests and new-connection requests apart. Per
 * step: the completions per second reached (median of the steady seconds), the p99 latency, the
 * harness's own CPU (this process: the generator) and stunnel's (its container). Where the direct column falls short of
 * the offered rate, the generator (or the machine) is the limit; where only the stunnel column
 * does, stunnel is: the harness must push harder than what it measures.
 */
import type Docker from 'dockerode';
import { ensureEngine } from '../engine/docker-engine.ts';
import { writeFileAtomic } from '../fs-atomic.ts';
import { silentProgress } from '../progress.ts';
import type { HistoryEvent } from '../run/history.ts';
import { Run } from '../run/run.ts';
import { percentile } from '../stats.ts';
import { LoadGenerator } from '../systems/stunnel/load-generator.ts';
import { BACKEND, STUNNEL, StunnelTarget } from '../systems/stunnel/stunnel-target.ts';

const RATES = (process.env.HH_BENCH_RATES ?? '250,500,1000,2000,4000').split(',').map(Number);
const STEP_MS = Number(process.env.HH_BENCH_STEP_MS ?? 8_000);
/** Seconds at the start of a step not counted (connections opening). */
const WARM_SECONDS = 2;

interface Step {
  shape: string;
  rate: number;
  where: 'direct' | 'stunnel';
  perSecond: number;
  p99Ms: number | null;
  failed: number;
  cpuPercent: number;
  /** stunnel's container (all its threads), % of one core: the other side of the bottleneck question. */
  stunnelCpuPercent: number;
}

/** A container's CPU time so far (ns), from the engine's one-shot stats. */
async function containerCpuNs(node: { container: { getId(): string } }, docker: Docker): Promise<number> {
  const stats = (await docker.getContainer(node.container.getId()).stats({ stream: false })) as {
    cpu_stats?: { cpu_usage?: { total_usage?: number } };
  };
  return stats.cpu_stats?.cpu_usage?.total_usage ?? 0;
}

async function measure(
  url: string,
  ca: string,
  rate: number,
  keepAliveShare: number,
  stunnelCpuNs: () => Promise<number>,
): Promise<Omit<Step, 'shape' | 'rate' | 'where'>> {
  const stunnelBefore = await stunnelCpuNs();
  const seconds: HistoryEvent[] = [];
  const sink = {
    record(source: string, type: string, fields: Record<string, unknown> = {}) {
      if (source === 'load' && type === 'second') seconds.push({ t: 0, at: '', source, type, ...fields });
    },
  };
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const load = LoadGenerator.start(
    { node: 'bench', url, ca, servername: STUNNEL },
    { rate, keepAliveShare, keepAliveConnections: 16, forMs: STEP_MS, timeoutMs: 5_000 },
    sink,
  );
  await load.finished();
  const cpu = process.cpuUsage(cpuBefore);
  const wall = performance.now() - started;
  const stunnelNs = (await stunnelCpuNs()) - stunnelBefore;
  const steady = seconds.slice(WARM_SECONDS, -1);
  const completed = steady.map((s) => Number(s.completed));
  const p99s = steady.flatMap((s) => (typeof s.p99Ms === 'number' ? [s.p99Ms] : []));
  return {
    perSecond: completed.length > 0 ? percentile(completed, 50) : 0,
    p99Ms: p99s.length > 0 ? percentile(p99s, 50) : null,
    failed: steady.reduce((sum, s) => sum + Number(s.timeouts) + Number(s.resets) + Number(s.errors), 0),
    cpuPercent: Math.round(((cpu.user + cpu.system) / 1000 / wall) * 100),
    stunnelCpuPercent: Math.round((stunnelNs / 1e6 / wall) * 100),
  };
}

const run = await Run.create({ name: 'bench-load' });
const steps: Step[] = [];
try {
  await using target = await StunnelTarget.version('5.68').withDebug(5).start(run, silentProgress);
  const direct = `http://${target.node(BACKEND).address}:80`;
  const { docker } = await ensureEngine(silentProgress);
  const stunnelCpuNs = () => containerCpuNs(target.node(STUNNEL), docker);
  for (const [shape, share] of [
    ['keep-alive', 1],
    ['new connections', 0],
  ] as const)
    for (const rate of RATES)
      for (const where of ['direct', 'stunnel'] as const) {
        const result = await measure(
          where === 'direct' ? direct : target.url,
          target.caPem,
          rate,
          share,
          stunnelCpuNs,
        );
        steps.push({ shape, rate, where, ...result });
        process.stdout.write(
          `${shape.padEnd(16)} ${String(rate).padStart(5)}/s ${where.padEnd(8)} -> ${result.perSecond}/s, p99 ${result.p99Ms} ms, ${result.failed} failed, harness CPU ${result.cpuPercent}%, stunnel CPU ${result.stunnelCpuPercent}%\n`,
        );
      }
} finally {
  await run.finish({ status: 'passed', exitCode: 0, complete: true, summary: 'bench' });
}

const lines = [
  '| requests | offered /s | direct /s | through stunnel /s | stunnel / direct | p99 direct / stunnel ms | harness CPU direct / stunnel | stunnel CPU |',
  '| --- | ---: | ---: | ---: | ---: | --- | --- | ---: |',
];
for (const shape of ['keep-alive', 'new connections'])
  for (const rate of RATES) {
    const d = steps.find((s) => s.shape === shape && s.rate === rate && s.where === 'direct');
    const s = steps.find((s) => s.shape === shape && s.rate === rate && s.where === 'stunnel');
    if (!d || !s) continue;
    lines.push(
      `| ${shape} | ${rate} | ${d.perSecond} | ${s.perSecond} | ${d.perSecond > 0 ? (s.perSecond / d.perSecond).toFixed(2) : '-'} | ${d.p99Ms} / ${s.p99Ms} | ${d.cpuPercent}% / ${s.cpuPercent}% | ${s.stunnelCpuPercent}% |`,
    );
  }
const saturation = (where: 'direct' | 'stunnel', shape: string) =>
  steps.find((s) => s.where === where && s.shape === shape && s.perSecond < 0.95 * s.rate)?.rate;
for (const shape of ['keep-alive', 'new connections'])
  lines.push(
    '',
    `${shape}: the generator alone (direct) first fell under 95% of the offered rate at ${saturation('direct', shape) ?? `none of ${RATES.join(', ')}`}/s; through stunnel at ${saturation('stunnel', shape) ?? `none of ${RATES.join(', ')}`}/s.`,
  );
const table = `${lines.join('\n')}\n`;
process.stdout.write(`\n${table}`);
await writeFileAtomic(run.path('bench-load.md'), table);
process.stdout.write(`\n(written to ${run.path('bench-load.md')})\n`);
