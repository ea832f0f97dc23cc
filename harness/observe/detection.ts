import type { HistoryEvent } from '../run/history.ts';
import { matchesEventKey } from '../run/history.ts';
import { eachEvent, type ReadStats } from '../run/history-reader.ts';
import type { Run } from '../run/run.ts';
import type { Detector } from './detector.ts';
import { type IncidentLedger, IncidentRecorder, type IncidentSignal } from './incidents.ts';

/** Sources whose events are the detection's own output (or the run's frame): never input. */
const OUTPUT_SOURCES = new Set(['incidents', 'detection']);

/** What reactors record about an incident after it opened: always attached, whatever detectors run. */
const ATTACHMENT_EVENTS = ['*:incident-evidence', '*:incident-finding'];

/** A detector that threw: it reads nothing more, and the run's verdict is unknown. */
export interface DetectorFailure {
  detector: string;
  error: string;
  /** The event it threw on. */
  event: string;
  at: string;
}

/**
 * Runs detectors over events, in order, and hands every signal to `sink`. Evidence and findings
 * the reactors recorded (API snapshots, probes, kept captures) attach to their incident here, in
 * the ledger's path, not through a detector that `--detectors` could leave out. A detector that
 * throws is contained: it is named in `failures` (and `onFailure`), and the others go on.
 */
export class DetectorChain {
  readonly failures: DetectorFailure[] = [];
  private readonly running: Array<{ detector: Detector; state: unknown; failed: boolean }>;
  private readonly sink: (signal: IncidentSignal) => void;
  private readonly onFailure: (failure: DetectorFailure) => void;

  constructor(
    detectors: readonly Detector[],
    sink: (signal: IncidentSignal) => void,
    onFailure: (failure: DetectorFailure) => void = () => undefined,
  ) {
    this.running = detectors.map((detector) => ({ detector, state: detector.init(), failed: false }));
    this.sink = sink;
    this.onFailure = onFailure;
  }

  feed(event: HistoryEvent): void {
    if (OUTPUT_SOURCES.has(event.source)) return;
    const attachment = attachmentOf(event);
    if (attachment) {
      this.sink(attachment);
      return;
    }
    for (const running of this.running) {
      if (running.failed) continue;
      let signals: IncidentSignal[];
      try {
        signals = running.detector.step(running.state, event);
      } catch (error) {
        running.failed = true;
        const failure = {
          detector: running.detector.name,
          error: error instanceof Error ? error.message : String(error),
          event: `${event.source}:${event.type}`,
          at: event.at,
        };
        this.failures.push(failure);
        this.onFailure(failure);
        continue;
      }
      for (const signal of signals) this.sink({ ...signal, detector: running.detector.name });
    }
  }
}

/** The events these detectors read, and the attachments: what the history must always write. */
export function detectionInputs(detectors: readonly Detector[]): (key: string) => boolean {
  return matchesEventKey([...ATTACHMENT_EVENTS, ...detectors.flatMap((detector) => detector.reads)]);
}

/** A reactor's evidence or finding for an incident, as a signal that attaches to it. */
function attachmentOf(event: HistoryEvent): IncidentSignal | undefined {
  if (typeof event.incident !== 'number') return undefined;
  // Files a reactor wrote into the incident's folder itself (the flight recorder's captures).
  if (event.type === 'incident-evidence' && Array.isArray(event.files))
    return {
      kind: 'evidence',
      at: event.at,
      summary: 'evidence files',
      attachTo: event.incident,
      evidenceFiles: event.files.map(String),
    };
  if (event.type === 'incident-evidence' && typeof event.name === 'string')
    return {
      kind: 'evidence',
      at: event.at,
      summary: 'evidence',
      attachTo: event.incident,
      evidence: { [event.name]: String(event.content ?? '') },
    };
  if (event.type === 'incident-finding' && typeof event.findings === 'object' && event.findings !== null)
    return {
      kind: 'finding',
      at: event.at,
      summary: 'finding',
      attachTo: event.incident,
      findings: event.findings as Record<string, unknown>,
    };
  return undefined;
}

/**
 * Live detection on a run: every event the history writes is fed to the detectors at once
 * (synchronous listeners, so an incident opens in the same tick as the event that shows it), and
 * incidents are written under the run's incidents/ by an IncidentRecorder. It reads exactly what
 * history.jsonl holds, in its order, so `hunt report` finds the same incidents with the same ids.
 */
export class LiveDetection {
  readonly incidents: IncidentRecorder;
  private readonly chain: DetectorChain;
  private readonly unsubscribe: () => void;

  private constructor(run: Run, detectors: readonly Detector[]) {
    this.incidents = new IncidentRecorder(run.dir, run.history);
    this.chain = new DetectorChain(
      detectors,
      (signal) => this.incidents.report(signal),
      (failure) => run.history.record('detection', 'detector-failed', { ...failure }),
    );
    this.unsubscribe = run.history.subscribe((event) => this.chain.feed(event), { written: true });
  }

  /** Starts these detectors (tests, a library user's own) on the run's history. */
  static of(run: Run, detectors: readonly Detector[]): LiveDetection {
    return new LiveDetection(run, detectors);
  }

  /** Detectors that threw (each stopped reading; the verdict is unknown). */
  get failures(): readonly DetectorFailure[] {
    return this.chain.failures;
  }

  /** Stops listening and waits for every incident file to be written. */
  async stop(): Promise<void> {
    this.unsubscribe();
    await this.incidents.close();
  }
}

export interface OfflineDetection {
  read: ReadStats;
  failures: DetectorFailure[];
}

/**
 * Offline detection: the same detectors over a finished (or killed) run's history.jsonl, into a
 * ledger. `hunt report` gets the incidents the live run got, from the file alone. `alsoSee` is
 * shown every event too, so a caller reading something else from the history reads it once.
 */
export async function detectOffline(
  historyPath: string,
  ledger: IncidentLedger,
  detectors: readonly Detector[],
  alsoSee?: (event: HistoryEvent) => void,
): Promise<OfflineDetection> {
  const read: ReadStats = { events: 0, skipped: 0 };
  const chain = new DetectorChain(detectors, (signal) => ledger.apply(signal));
  for await (const event of eachEvent(historyPath, read)) {
    chain.feed(event);
    alsoSee?.(event);
  }
  return { read, failures: chain.failures };
}
