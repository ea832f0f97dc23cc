import type { HistoryEvent } from '../run/history.ts';
import { eachEvent, type ReadStats } from '../run/history-reader.ts';
import type { Run } from '../run/run.ts';
import type { Detector } from './detector.ts';
import { chooseDetectors } from './detector-registry.ts';
import { type IncidentLedger, IncidentRecorder, type IncidentSignal } from './incidents.ts';

/** Sources whose events are the detection's own output (or the run's frame): never input. */
const OUTPUT_SOURCES = new Set(['incidents']);

/** Runs detectors over events, in order, and hands every signal to `sink`. */
export class DetectorChain {
  private readonly running: Array<{ detector: Detector; state: unknown }>;
  private readonly sink: (signal: IncidentSignal) => void;

  constructor(detectors: readonly Detector[], sink: (signal: IncidentSignal) => void) {
    this.running = detectors.map((detector) => ({ detector, state: detector.init() }));
    this.sink = sink;
  }

  feed(event: HistoryEvent): void {
    if (OUTPUT_SOURCES.has(event.source)) return;
    for (const { detector, state } of this.running) {
      for (const signal of detector.step(state, event)) this.sink(signal);
    }
  }
}

/**
 * Live detection on a run: every event recorded is fed to the detectors at once (synchronous
 * listeners, so an incident opens in the same tick as the event that shows it), and incidents are
 * written under the run's incidents/ by an IncidentRecorder.
 */
export class LiveDetection {
  readonly incidents: IncidentRecorder;
  private readonly unsubscribe: () => void;

  private constructor(run: Run, detectors: readonly Detector[]) {
    this.incidents = new IncidentRecorder(run.dir, run.history);
    const chain = new DetectorChain(detectors, (signal) => this.incidents.report(signal));
    this.unsubscribe = run.history.subscribe((event) => chain.feed(event));
  }

  /** Starts the named detectors (all by default) on the run's history. */
  static async start(run: Run, names?: readonly string[]): Promise<LiveDetection> {
    return new LiveDetection(run, await chooseDetectors(names));
  }

  /** Stops listening and waits for every incident file to be written. */
  async stop(): Promise<void> {
    this.unsubscribe();
    await this.incidents.close();
  }
}

/**
 * Offline detection: the same detectors over a finished (or killed) run's history.jsonl, into a
 * ledger. `hunt report` gets the incidents the live run got, from the file alone.
 */
export async function detectOffline(
  historyPath: string,
  ledger: IncidentLedger,
  names?: readonly string[],
): Promise<ReadStats> {
  const stats: ReadStats = { events: 0, skipped: 0 };
  const chain = new DetectorChain(await chooseDetectors(names), (signal) => ledger.apply(signal));
  for await (const event of eachEvent(historyPath, stats)) chain.feed(event);
  return stats;
}
