import type { HistoryEvent } from '../run/history.ts';

// The contract between a system's detectors and the machinery that runs them (observe/): a
// system brings its detectors over the seam; the chain, the ledger and the incident files are
// the machinery's.

/**
 * Something went wrong, as a detector saw it in the history. The same kind at the same node
 * is one incident (a storm of one failure is one incident with a count). A signal with
 * `attachTo` adds evidence or findings to an incident that exists instead.
 */
export interface IncidentSignal {
  /** tls-handshake-failed, openssl-error, duplicate-connection, critical-log, crash, reconnect-timeout, reload-failed, master-down, ... */
  kind: string;
  /** When it happened: the wall clock of the event that shows it (so replays agree). */
  at: string;
  /** The node it happened at (the system's name for it: a master, a stunnel). */
  node?: string;
  /** The remote side where known: an address from a log line, or a client's name. */
  peer?: string;
  /** More remote sides at once: a signature opened by many peers names them all. */
  peers?: readonly string[];
  /** A client of the node involved, by name (a simulated endpoint of Icinga's; collected on the incident). */
  client?: string;
  summary: string;
  /** Extra facts: the reason, a pattern name. */
  reason?: string;
  /** Evidence files of the incident: name -> content (a later signal may replace one). */
  evidence?: Record<string, string>;
  /** Evidence files a reactor wrote into the incident's folder itself: named, not written. */
  evidenceFiles?: readonly string[];
  /** Facts learnt later (persistence, recovery): merged into the incident's findings. */
  findings?: Record<string, unknown>;
  /** What makes two signals the same incident (default: kind + node + reason). */
  dedupKey?: string;
  /**
   * This incident is the failure that incidents of these kinds at these nodes are made of (a
   * signature and the handshake failures it counts): they become its parts (`partOf`), shown
   * under it and not judged on their own, so one failure is one incident.
   */
  absorbs?: {
    kinds: readonly string[];
    nodes: readonly string[];
    /** Incidents already open are parts only if first seen from here on (ISO time; default: any). */
    since?: string;
  };
  /** Add evidence/findings only, to incident n or the incident of this dedup key; counts nothing. */
  attachTo?: number | string;
  /** The detector that saw it (the chain fills it in). */
  detector?: string;
}

/**
 * A detector: a pure fold over the history. `init` makes its state, `step` takes one event and
 * returns the incident signals it shows (no clock, no I/O: time comes from the events), so the
 * same history gives the same incidents live and when `hunt report` re-reads an old run.
 * One file each in the system's detectors/, default-exported and listed in its detectors/index.ts.
 */
export interface Detector<State = unknown> {
  /** Its name in the registry (and in `--detectors`). */
  name: string;
  /** What it looks at, in a sentence (hunt list shows it). */
  summary: string;
  /** The incident kinds it can open. */
  kinds: readonly string[];
  /**
   * The events it reads, "source:type" ("*" on either side): the history writes them whatever
   * its budget, so a detector never misses an input live or offline.
   */
  reads: readonly string[];
  init(): State;
  step(state: State, event: HistoryEvent): IncidentSignal[];
}
