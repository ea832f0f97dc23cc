import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type DetectorFailure, detectOffline } from '../observe/detection.ts';
import type { Detector } from '../observe/detector.ts';
import { chooseDetectors } from '../observe/detector-registry.ts';
import { IncidentLedger, incidentFolder } from '../observe/incidents.ts';
import { type LoadSecond, loadSecondOf } from '../observe/load-second.ts';
import { ownDisruptionKind } from '../run/disruption.ts';
import type { HistoryEvent } from '../run/history.ts';
import { eachEvent, type ReadStats } from '../run/history-reader.ts';
import { type RunManifest, readRunManifest } from '../run/manifest.ts';
import { HISTORY_FILE } from '../run/run.ts';
import type { StepFigures, StepSample } from '../run/steps.ts';
import { systemOfRun } from './run-system.ts';

/** One step that ended, as its system tells it (`StepFigures.sampleOf`), with its time. */
export type StepPoint = StepSample & { at: string };

/** Each phase's times over the steps that did their job, in the phases' order. */
export function phaseTimes(
  phases: Readonly<Record<string, string>>,
  samples: readonly StepSample[],
): Array<[phase: string, ms: number[]]> {
  const ok = samples.filter((sample) => sample.ok);
  return Object.keys(phases).map((phase) => [phase, ok.flatMap((sample) => sample.phasesMs[phase] ?? [])]);
}

/** A point of the run's own status line (recorded every 2 s by the runner). */
export interface StatusPoint {
  at: string;
  clientsConnected: number;
  clientsTotal: number;
  /** What the clients are, plural (absent in runs written before it was recorded). */
  clientsLabel: string | undefined;
}

export interface ResourcePoint {
  at: string;
  /** Steps ended before the sample (their samples read so far): a trend is per step. */
  stepsDone: number;
  /** The node sampled (absent for the harness's own samples). */
  node?: string;
  /** The node's biggest daemon process (Icinga's worker), or the harness itself. */
  rssKb: number;
}

/** One second of a load generator's traffic (`load:second`), with its time. */
export type LoadPoint = LoadSecond & { at: string };

/** One second of a node's log (`log:rate`). */
export interface LogRatePoint {
  at: string;
  node: string;
  lines: number;
}

/** A fault a nemesis injected, as the chaos runner recorded it. */
export interface FaultSample {
  fault: number;
  nemesis: string;
  node: string;
  at: string;
  /** What it was timed to: an anchor of its system's (`start` for seeded moments). */
  anchor: string;
  offsetMs: number;
  forMs: number;
  healedAt?: string;
  failed?: string;
}

/**
 * A published advisory checked against the target (by a driver of the system's room): whether
 * this version is affected, and the evidence in a sentence.
 */
export interface AdvisoryFinding {
  advisory: string;
  node: string;
  affected: boolean;
  evidence: string;
}

/** What a run folder holds, read once: run.json, the history's facts, the incidents re-detected. */
export interface RunFacts {
  dir: string;
  meta: RunManifest;
  /**
   * The run's steps as its system reads them (absent for a system whose steps leave no figures):
   * their unit, the phases they are timed in, each step's sample, the shortfalls noted by name.
   */
  steps?: {
    unit: string;
    phases: Readonly<Record<string, string>>;
    samples: StepPoint[];
    shortfalls: Record<string, number>;
  };
  status: StatusPoint[];
  /** The last status line's steps done (kept past the samples' cap: a soak's whole count). */
  statusStepsDone: number | undefined;
  nodeRss: ResourcePoint[];
  /** The harness's own samples: RSS, and the history's and run folder's sizes where recorded. */
  harnessRss: Array<ResourcePoint & { historyBytes?: number; folderBytes?: number }>;
  firstAt?: string;
  lastAt?: string;
  /** When the first target was up (`run:target-started`): the hunt's start, after any image build. */
  targetStartedAt?: string;
  /** The nemeses' faults (the first MAX_FAULT_SAMPLES), and how many there were in all. */
  faults: FaultSample[];
  faultCount: number;
  /** Anchors a spec passed without a fault (`nemesis-skipped`: its last one still on, or a replay's plan). */
  faultsSkipped: number;
  /** Disruption windows opened, per kind and node (steps are counted apart): context swaps, faults, restarts. */
  disruptions: Record<string, Record<string, number>>;
  /** When each disruption began, per kind (the first MAX_SAMPLES): how many came before an incident. */
  disruptionTimes: Record<string, string[]>;
  /**
   * Disruptions the system made itself, per kind (context swaps the node logged), not faults a
   * nemesis injected or restarts a remedy made: what a matrix may count its rates in.
   */
  ownDisruptions: Record<string, number>;
  /** Values a scenario measured (`measure:value` events: a message size, a time), by name, in order. */
  measures: Record<string, number[]>;
  /** What the run found about published advisories (`*:advisory` events), one per advisory and node. */
  advisories: AdvisoryFinding[];
  /** Load seconds and log lines per second (systems with a load generator). */
  load: LoadPoint[];
  logRate: LogRatePoint[];
  /** `history-truncated` counts, per source:type, where the history hit its budget. */
  dropped: Record<string, number>;
  read: ReadStats;
  historyBytes: number;
  ledger: IncidentLedger;
  /** Detectors that threw while re-reading the history: the verdict cannot be trusted. */
  detectorFailures: DetectorFailure[];
  /** incident id -> the head of its capture.txt (what tshark saw of the kept handshakes). */
  captureSummaries: Map<number, string>;
  /** incident id -> why its capture was not kept (`capture-failed`: no packets in the window, ...). */
  captureFailures: Map<number, string>;
}

/** How much of a capture.txt the report quotes. */
const CAPTURE_QUOTE_BYTES = 6 * 1024;

/** Bounds on what a report keeps in memory, whatever the length of the run. */
const MAX_SAMPLES = 200_000;
const MAX_FAULT_SAMPLES = 1_000;

/** The systems a run folder is read with: their detectors find its incidents again, its own reads its steps. */
export type SystemsKnown = ReadonlyArray<{
  readonly name: string;
  readonly detectors: readonly Detector[];
  readonly stepUnit?: string;
  readonly stepFigures?: StepFigures;
}>;

/**
 * Reads a run folder the way `hunt report` must: from the files alone, whether the run finished,
 * was interrupted or was killed mid-write. The incidents are found again by running every detector
 * the run used over history.jsonl (the same as live, by construction).
 */
export async function readRunFacts(dir: string, systems: SystemsKnown): Promise<RunFacts> {
  const meta = await readRunManifest(dir);
  const historyPath = join(dir, HISTORY_FILE);
  const facts: RunFacts = {
    dir,
    meta,
    status: [],
    statusStepsDone: undefined,
    nodeRss: [],
    harnessRss: [],
    faults: [],
    faultCount: 0,
    faultsSkipped: 0,
    disruptions: {},
    disruptionTimes: {},
    ownDisruptions: {},
    advisories: [],
    measures: {},
    load: [],
    logRate: [],
    dropped: {},
    read: { events: 0, skipped: 0 },
    historyBytes: (await stat(historyPath).catch(() => ({ size: 0 }))).size,
    ledger: new IncidentLedger(),
    detectorFailures: [],
    captureSummaries: new Map(),
    captureFailures: new Map(),
  };
  const readStep = stepReader(facts, systems);
  for await (const event of eachEvent(historyPath, facts.read)) {
    facts.firstAt ??= event.at;
    facts.lastAt = event.at;
    if (!readStep(event)) collect(facts, event);
  }
  // The detectors the run used (run.json names them; a run before that list: every one known).
  const names = Array.isArray(meta.detectors) ? meta.detectors.map(String) : undefined;
  const detectors = chooseDetectors(
    systems.flatMap((system) => system.detectors),
    names,
  );
  facts.detectorFailures = (await detectOffline(historyPath, facts.ledger, detectors)).failures;
  for (const incident of facts.ledger.list()) {
    // Files a reactor wrote (captures) that are gone: the disk budget pruned them.
    const pruned: string[] = [];
    for (const name of incident.evidence) {
      if (facts.ledger.evidenceOf(incident, name) !== undefined) continue;
      const there = await stat(join(incidentFolder(dir, incident.id), name)).then(
        () => true,
        () => false,
      );
      if (!there) pruned.push(name);
    }
    if (pruned.length > 0) incident.pruned = pruned;
  }
  for (const incident of facts.ledger.list()) {
    if (!incident.evidence.includes('capture.txt')) continue;
    const text = await readFile(join(incidentFolder(dir, incident.id), 'capture.txt'), 'utf8').catch(
      () => undefined,
    );
    if (text !== undefined)
      facts.captureSummaries.set(
        incident.id,
        text.length > CAPTURE_QUOTE_BYTES ? `${text.slice(0, CAPTURE_QUOTE_BYTES)}\n[...]\n` : text,
      );
  }
  return facts;
}

/**
 * What reads the run's steps (true: the event was one of them): its system's figures, or for a
 * run that names no system (written before run.json said), the figures of the first system whose
 * step its history holds. A system without figures reads none.
 */
function stepReader(facts: RunFacts, systems: SystemsKnown): (event: HistoryEvent) => boolean {
  const own = systemOfRun(facts.meta, systems);
  // Looked among only when the run names no system of its own.
  const candidates = own ? [] : systems.filter((system) => system.stepFigures);
  let figures: StepFigures | undefined;
  const choose = (system: SystemsKnown[number]) => {
    figures = system.stepFigures;
    if (figures)
      facts.steps = {
        unit: facts.meta.limits?.unit ?? system.stepUnit ?? 'steps',
        phases: figures.phases,
        samples: [],
        shortfalls: {},
      };
  };
  if (own) choose(own);
  return (event) => {
    if (!figures) {
      const first = candidates.find((system) => system.stepFigures?.sampleOf(event));
      if (!first) return false;
      choose(first);
    }
    const steps = facts.steps;
    if (!figures || !steps) return false;
    const sample = figures.sampleOf(event);
    if (sample) {
      if (steps.samples.length < MAX_SAMPLES) steps.samples.push({ ...sample, at: event.at });
      return true;
    }
    const shortfall = figures.shortfallOf?.(event);
    if (shortfall === undefined) return false;
    steps.shortfalls[shortfall] = (steps.shortfalls[shortfall] ?? 0) + 1;
    return true;
  };
}

function collect(facts: RunFacts, event: HistoryEvent): void {
  if (event.source === 'run' && event.type === 'target-started') {
    facts.targetStartedAt ??= event.at;
    return;
  }
  if (event.source === 'run' && event.type === 'status') {
    if (typeof event.stepsDone === 'number') facts.statusStepsDone = event.stepsDone;
    if (facts.status.length >= MAX_SAMPLES) return;
    facts.status.push({ at: event.at, ...clientsOf(event) });
    return;
  }
  if (event.source === 'observe' && event.type === 'resources' && Array.isArray(event.processes)) {
    const rss = Math.max(0, ...event.processes.map((p: { rssKb?: number }) => Number(p?.rssKb ?? 0)));
    if (facts.nodeRss.length < MAX_SAMPLES)
      facts.nodeRss.push({
        at: event.at,
        stepsDone: facts.steps?.samples.length ?? 0,
        node: String(event.node ?? formerNodeOf(event)),
        rssKb: rss,
      });
    return;
  }
  if (
    event.source === 'observe' &&
    event.type === 'harness-resources' &&
    facts.harnessRss.length < MAX_SAMPLES
  ) {
    facts.harnessRss.push({
      at: event.at,
      stepsDone: facts.steps?.samples.length ?? 0,
      rssKb: Number(event.rssKb ?? 0),
      ...(typeof event.historyBytes === 'number' ? { historyBytes: event.historyBytes } : {}),
      ...(typeof event.folderBytes === 'number' ? { folderBytes: event.folderBytes } : {}),
    });
    return;
  }
  if (
    event.type === 'disruption-started' &&
    typeof event.kind === 'string' &&
    typeof event.node === 'string'
  ) {
    const byNode = facts.disruptions[event.kind] ?? {};
    facts.disruptions[event.kind] = byNode;
    byNode[event.node] = (byNode[event.node] ?? 0) + 1;
    const own = ownDisruptionKind(event);
    if (own) facts.ownDisruptions[own] = (facts.ownDisruptions[own] ?? 0) + 1;
    const times = facts.disruptionTimes[event.kind] ?? [];
    facts.disruptionTimes[event.kind] = times;
    if (times.length < MAX_SAMPLES) times.push(event.at);
    return;
  }
  if (event.source === 'measure' && event.type === 'value' && typeof event.name === 'string') {
    const values = facts.measures[event.name] ?? [];
    facts.measures[event.name] = values;
    if (typeof event.value === 'number' && values.length < MAX_FAULT_SAMPLES) values.push(event.value);
    return;
  }
  if (event.type === 'advisory' && typeof event.advisory === 'string' && facts.advisories.length < 100) {
    const finding = {
      advisory: event.advisory,
      node: String(event.node ?? ''),
      affected: event.affected === true,
      evidence: String(event.evidence ?? ''),
    };
    // The last word per advisory and node counts (a driver may record it again with more swaps).
    facts.advisories = [
      ...facts.advisories.filter((a) => a.advisory !== finding.advisory || a.node !== finding.node),
      finding,
    ];
  }
  if (event.source === 'load' && event.type === 'second' && facts.load.length < MAX_SAMPLES) {
    const { t: _t, ...second } = loadSecondOf(event);
    facts.load.push(second);
    return;
  }
  if (event.source === 'log' && event.type === 'rate' && facts.logRate.length < MAX_SAMPLES) {
    facts.logRate.push({ at: event.at, node: String(event.node), lines: Number(event.lines ?? 0) });
    return;
  }
  if (event.source === 'capture' && event.type === 'capture-failed' && typeof event.incident === 'number') {
    if (facts.captureFailures.size < MAX_FAULT_SAMPLES)
      facts.captureFailures.set(event.incident, String(event.error));
    return;
  }
  if (event.source === 'nemesis') {
    if (event.type === 'nemesis-started' || event.type === 'nemesis-failed') {
      facts.faultCount++;
      if (facts.faults.length < MAX_FAULT_SAMPLES)
        facts.faults.push({
          fault: Number(event.fault),
          nemesis: String(event.nemesis),
          node: String(event.node),
          at: event.at,
          anchor: String(event.anchor ?? 'start'),
          offsetMs: Number(event.offsetMs ?? 0),
          forMs: Number(event.forMs ?? 0),
          ...(event.type === 'nemesis-failed' ? { failed: String(event.error) } : {}),
        });
    } else if (event.type === 'nemesis-skipped') {
      facts.faultsSkipped++;
    } else if (event.type === 'nemesis-healed') {
      const fault = facts.faults.find((f) => f.fault === event.fault);
      if (fault) fault.healedAt = event.at;
    }
    return;
  }
  if (event.source === 'history' && event.type === 'history-truncated' && typeof event.dropped === 'object')
    facts.dropped = event.dropped as Record<string, number>;
}

/**
 * A status line's clients. Before 2026-12-07 it named them after the system's clients
 * (Icinga's `endpointsConnected`, `endpointsTotal`): read as `<label>Connected`, `<label>Total`.
 */
function clientsOf(
  event: HistoryEvent,
): Pick<StatusPoint, 'clientsConnected' | 'clientsTotal' | 'clientsLabel'> {
  if (event.clientsConnected !== undefined)
    return {
      clientsConnected: Number(event.clientsConnected),
      clientsTotal: Number(event.clientsTotal ?? 0),
      clientsLabel: typeof event.clientsLabel === 'string' ? event.clientsLabel : undefined,
    };
  const label = Object.keys(event)
    .map((key) => /^([a-z]+)Connected$/.exec(key)?.[1])
    .find((found) => found !== undefined);
  return label === undefined
    ? { clientsConnected: 0, clientsTotal: 0, clientsLabel: undefined }
    : {
        clientsConnected: Number(event[`${label}Connected`] ?? 0),
        clientsTotal: Number(event[`${label}Total`] ?? 0),
        // Runs of 2026-12-06 named their label beside the old fields.
        clientsLabel: typeof event.clientsLabel === 'string' ? event.clientsLabel : undefined,
      };
}

/** A resources sample's node before 2026-12-07, named by its role (Icinga's `master`): its one string field. */
function formerNodeOf(event: HistoryEvent): unknown {
  return Object.entries(event).find(
    ([key, value]) => typeof value === 'string' && key !== 'source' && key !== 'type' && key !== 'at',
  )?.[1];
}
