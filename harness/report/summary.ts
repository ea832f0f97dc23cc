import type { DetectorFailure } from '../observe/detection.ts';
import { type Incident, standaloneIncidents } from '../observe/incidents.ts';
import { RunLayout } from '../run/layout.ts';
import { type RunManifest, reportedVersion, targetOf } from '../run/manifest.ts';
import { summarize, wilsonInterval } from '../stats.ts';
import { type HarnessFootprint, harnessFootprint } from './footprint.ts';
import { type AdvisoryFinding, type FaultSample, phaseTimes, type RunFacts } from './run-facts.ts';

export interface Percentiles {
  n: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** summary.json: what report.md says, for machines. Derived from the run folder alone. */
export interface RunSummary {
  id: string;
  scenario: string;
  params: Record<string, unknown>;
  seed: number;
  target: Record<string, unknown>;
  /** Whether kept captures carry the TLS secrets (off with --no-secrets, and for a watch). */
  captureSecrets: boolean;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  /** passed, failed, interrupted, error; "incomplete" when the run never finished (killed). */
  status: string;
  complete: boolean;
  outcome: string | null;
  expectations: Array<{ description: string; ok: boolean; detail: string }>;
  environment: {
    /** The system under test and its version in a line: "Icinga 2 2.13.6 ...", "stunnel 5.68". */
    system: string;
    /** The version the system reports of itself (run.json's stack). */
    version?: string;
    opensslVersion?: string;
    image?: string;
    imageId?: string;
    /** A watch: the process watched on its own host, in a line (pid, log, port). */
    watched?: string;
    docker?: string;
    kernel?: string;
    cores?: number;
    harness?: string;
  };
  /**
   * The run's steps as its system reads them (`StepFigures`), in its unit: null for a system whose
   * steps leave no figures (their count is the status line's).
   */
  steps: {
    unit: string;
    total: number;
    ok: number;
    failed: number;
    /** Shortfalls its system noted of the steps, by name. */
    shortfalls: Record<string, number>;
    /** Each phase's times, over the steps that did their job, in the system's order. */
    phasesMs: Record<string, Percentiles>;
    /** Wilson 95%; null with no steps. */
    incidentsPer1000: { rate: number; low: number; high: number } | null;
  } | null;
  /** Disruption windows per kind and node (context swaps counted from the node's log, faults, restarts). */
  disruptions: Record<string, Record<string, number>>;
  /** The load's totals per node it went to (systems with a load generator); [] without. */
  load: Array<{
    node: string;
    seconds: number;
    offered: number;
    completed: number;
    timeouts: number;
    resets: number;
    errors: number;
    /** Completions per second: the median second, and the lowest and highest. */
    perSecond: { median: number; min: number; max: number };
  }>;
  /** What the scenario measured (`measure:value`), by name: the values in order (the first 1,000). */
  measures: Record<string, number[]>;
  /** Advisories the run checked against the target. */
  advisories: AdvisoryFinding[];
  incidents: Array<Incident & { folder: string; capture?: string; captureFailed?: string }>;
  /** The faults nemeses injected (the first 1,000) and their count. */
  faults: { count: number; skipped: number; samples: FaultSample[] };
  /** Detectors that threw on the history: the incidents (and the verdict) may be incomplete. */
  detectorFailures: DetectorFailure[];
  /** The harness's own memory, history and folder per hour: runs of an hour or more, else null. */
  harness: HarnessFootprint | null;
  history: {
    events: number;
    skippedLines: number;
    bytes: number;
    /** The history's bytes per step (null without step figures, or none ended). */
    bytesPerStep: number | null;
    dropped: Record<string, number>;
  };
  reproduce: string;
  attach: string[];
}

function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { n: 0, p50: null, p95: null, p99: null };
  const { n, p50, p95, p99 } = summarize(values);
  return { n, p50, p95, p99 };
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};

/** The command that runs this again: same scenario, parameters, target, limits and seed. */
export function reproduceCommand(meta: RunManifest): string {
  // A watch records what happened, which no command brings back: the report gives its own.
  if (meta.command?.[1] === 'watch') return `sudo npx ${meta.command.map(shellWord).join(' ')}`;
  const parts = ['npx hunt run', meta.scenario || '?'];
  for (const [name, value] of Object.entries(meta.params)) parts.push(`--param ${name}=${value}`);
  const target = targetOf(meta);
  if (target.image !== undefined) parts.push(`--image ${target.image}`);
  else if (target.version !== undefined) parts.push(`--${target.system} ${target.version}`);
  const limits = meta.limits ?? {};
  const steps = limits.steps;
  if (typeof steps === 'number') parts.push(`--steps ${steps}`);
  if (typeof limits.durationMs === 'number')
    parts.push(`--duration ${Math.round(limits.durationMs / 1000)}s`);
  const detectors = meta.detectors;
  if (Array.isArray(detectors) && detectors.length === 0) parts.push('--detectors none');
  parts.push(`--seed ${meta.seed}`);
  return parts.join(' ');
}

/** A word as a POSIX shell reads it back: quoted where it holds anything but the plain characters. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/** A watch's process as run.json has it (hunt watch): "pid 8117 on its host; log ...; port 5665". */
function watchedLine(watched: Record<string, unknown>): string | undefined {
  if (typeof watched.pid !== 'number') return undefined;
  const parts = [`pid ${watched.pid} on its own host, not started by the harness`];
  if (text(watched.log)) parts.push(`log ${text(watched.log)}`);
  if (typeof watched.apiPort === 'number') parts.push(`port ${watched.apiPort}`);
  return parts.join('; ');
}

/**
 * What ran, in a line: the system's own description in run.json. Runs written before systems
 * described themselves named their fields for the system (`<system>VersionText`,
 * `<system>Version`): read generically, whichever system it was.
 */
function systemLine(meta: RunManifest, stack: Record<string, unknown>): string {
  const described = text(stack.description)?.trim();
  if (described) return described;
  const banner = Object.entries(stack).find(
    ([field, value]) => field.endsWith('VersionText') && text(value)?.trim(),
  );
  if (banner) return String(banner[1]).trim();
  const { system, version, image } = targetOf(meta);
  const reported = reportedVersion(stack);
  if (reported !== undefined) {
    const openssl = text(stack.opensslVersion);
    return `${system ?? 'the system'} ${reported}${openssl ? `, OpenSSL ${openssl}` : ''}`;
  }
  return image ? `image ${image}` : `${system ?? 'unknown system'} ${version ?? ''}`.trim();
}

function loadTotals(facts: RunFacts): RunSummary['load'] {
  const nodes = [...new Set(facts.load.map((point) => point.node))];
  return nodes.map((node) => {
    const points = facts.load.filter((point) => point.node === node);
    const total = (pick: (point: (typeof points)[number]) => number) =>
      points.reduce((sum, point) => sum + pick(point), 0);
    const completions = points.map((point) => point.completed).sort((a, b) => a - b);
    return {
      node,
      seconds: points.length,
      offered: total((p) => p.offered),
      completed: total((p) => p.completed),
      timeouts: total((p) => p.timeouts),
      resets: total((p) => p.resets),
      errors: total((p) => p.errors),
      perSecond: {
        median: completions[Math.floor(completions.length / 2)] ?? 0,
        min: completions[0] ?? 0,
        max: completions.at(-1) ?? 0,
      },
    };
  });
}

function stepsOf(facts: RunFacts, incidents: number): RunSummary['steps'] {
  if (!facts.steps) return null;
  const { unit, phases, samples, shortfalls } = facts.steps;
  const ok = samples.filter((sample) => sample.ok).length;
  return {
    unit,
    total: samples.length,
    ok,
    failed: samples.length - ok,
    shortfalls,
    phasesMs: Object.fromEntries(phaseTimes(phases, samples).map(([phase, ms]) => [phase, percentiles(ms)])),
    incidentsPer1000: wilsonInterval(incidents, samples.length, 1000) ?? null,
  };
}

/** Pure: facts in, summary out. */
export function buildSummary(facts: RunFacts): RunSummary {
  const meta = facts.meta;
  const stack = record(meta.stack);
  const host = record(meta.host);
  const outcome = record(meta.outcome);
  const verdict = record(meta.verdict);
  const incidents = facts.ledger.list().map((incident) => ({
    ...incident,
    folder: RunLayout.incident(incident.id),
    ...(facts.captureSummaries.has(incident.id) ? { capture: facts.captureSummaries.get(incident.id) } : {}),
    ...(facts.captureFailures.has(incident.id)
      ? { captureFailed: facts.captureFailures.get(incident.id) }
      : {}),
  }));
  const startedAt = text(meta.startedAt) ?? facts.firstAt ?? null;
  const endedAt = text(meta.endedAt) ?? facts.lastAt ?? null;
  const durationMs = startedAt && endedAt ? Date.parse(endedAt) - Date.parse(startedAt) : null;
  const complete = meta.complete === true;
  return {
    id: String(meta.id ?? ''),
    scenario: String(meta.scenario ?? ''),
    params: record(meta.params),
    seed: Number(meta.seed),
    target: record(meta.target),
    startedAt,
    endedAt,
    durationMs,
    status: meta.outcome ? String(outcome.status) : 'incomplete',
    complete,
    outcome:
      text(outcome.summary) ?? (meta.outcome ? null : 'the run did not finish (killed, or still running)'),
    expectations: Array.isArray(verdict.expectations)
      ? (verdict.expectations as RunSummary['expectations'])
      : [],
    environment: {
      system: systemLine(meta, stack),
      version: reportedVersion(stack),
      opensslVersion: text(stack.opensslVersion),
      image: text(stack.image),
      imageId: text(stack.imageId),
      watched: watchedLine(record(stack.watched)),
      docker: text(stack.dockerVersion),
      kernel: text(host.kernel),
      cores: typeof host.cores === 'number' ? host.cores : undefined,
      harness: text(record(meta.harness).commit),
    },
    steps: stepsOf(facts, standaloneIncidents(incidents).length),
    load: loadTotals(facts),
    measures: facts.measures,
    advisories: facts.advisories,
    disruptions: facts.disruptions,
    incidents,
    detectorFailures: facts.detectorFailures,
    faults: { count: facts.faultCount, skipped: facts.faultsSkipped, samples: facts.faults },
    harness:
      (startedAt && harnessFootprint(facts.harnessRss, facts.targetStartedAt ?? startedAt, durationMs)) ||
      null,
    history: {
      events: facts.read.events,
      skippedLines: facts.read.skipped,
      bytes: facts.historyBytes,
      bytesPerStep: facts.steps?.samples.length
        ? Math.round(facts.historyBytes / facts.steps.samples.length)
        : null,
      dropped: facts.dropped,
    },
    reproduce: reproduceCommand(meta),
    captureSecrets: meta.capture?.secrets !== false,
    attach: [
      RunLayout.report,
      RunLayout.timelinePng,
      RunLayout.summary,
      ...incidents.flatMap((incident) =>
        incident.evidence
          .filter((name) => !incident.pruned?.includes(name))
          .map((name) => `${incident.folder}/${name}`),
      ),
    ],
  };
}
