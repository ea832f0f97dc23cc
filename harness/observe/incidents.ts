import { join } from 'node:path';
import { writeFileAtomic } from '../fs-atomic.ts';
import type { EventSink } from '../history/history.ts';

/** Something went wrong, seen by a detector. The same kind at the same master is one incident. */
export interface IncidentSignal {
  /** tls-handshake-failed, openssl-error, duplicate-connection, critical-log, crash, reconnect-timeout, reload-failed, master-down, ... */
  kind: string;
  master?: string;
  /** The remote side where known: an address from a log line, or an endpoint name. */
  peer?: string;
  /** Simulated or real endpoints involved (collected across the storm). */
  endpoint?: string;
  summary: string;
  /** Extra facts: the reason, a pattern name. */
  reason?: string;
  /** Evidence files to write with the incident: name -> content. */
  evidence?: Record<string, string>;
  /** What makes two signals the same incident (default: kind + master + reason). */
  dedupKey?: string;
}

export interface Incident {
  id: number;
  kind: string;
  master?: string;
  peer?: string;
  summary: string;
  firstSeen: string;
  lastSeen: string;
  count: number;
  peers: string[];
  endpoints: string[];
  reasons: string[];
  evidence: string[];
  /** Free-form findings added later (persistence, recovery time). */
  findings: Record<string, unknown>;
}

const MAX_LISTED = 50;
const MAX_INCIDENTS = 1000;

/**
 * Turns detector signals into incidents under results/<run>/incidents/<n>/: deduplicated (a
 * storm of the same failure is one incident with a count), each incident.json written
 * atomically, at once when new and at most once a second while its count grows.
 */
export class IncidentRecorder {
  private readonly dir: string;
  private readonly events: EventSink;
  private readonly byKey = new Map<string, Incident>();
  private readonly dirty = new Set<Incident>();
  private readonly timer: NodeJS.Timeout;
  private writes: Promise<unknown> = Promise.resolve();
  /** Signals dropped because MAX_INCIDENTS distinct incidents exist already. */
  dropped = 0;

  constructor(runDir: string, events: EventSink) {
    this.dir = join(runDir, 'incidents');
    this.events = events;
    this.timer = setInterval(() => this.flushDirty(), 1000);
    this.timer.unref();
  }

  report(signal: IncidentSignal): Incident | undefined {
    const key = signal.dedupKey ?? `${signal.kind}|${signal.master ?? ''}|${signal.reason ?? ''}`;
    const now = new Date().toISOString();
    let incident = this.byKey.get(key);
    if (!incident) {
      if (this.byKey.size >= MAX_INCIDENTS) {
        this.dropped++;
        return undefined;
      }
      incident = {
        id: this.byKey.size + 1,
        kind: signal.kind,
        master: signal.master,
        peer: signal.peer,
        summary: signal.summary,
        firstSeen: now,
        lastSeen: now,
        count: 0,
        peers: [],
        endpoints: [],
        reasons: [],
        evidence: [],
        findings: {},
      };
      this.byKey.set(key, incident);
      this.events.record('observe', 'incident-opened', {
        incident: incident.id,
        kind: incident.kind,
        master: incident.master,
        peer: incident.peer,
        summary: incident.summary,
      });
    }
    incident.count++;
    incident.lastSeen = now;
    incident.peer ??= signal.peer;
    addLimited(incident.peers, signal.peer);
    addLimited(incident.endpoints, signal.endpoint);
    addLimited(incident.reasons, signal.reason);
    const isNew = incident.count === 1;
    for (const [name, content] of Object.entries(signal.evidence ?? {})) {
      if (!incident.evidence.includes(name)) incident.evidence.push(name);
      this.enqueue(() => writeFileAtomic(join(this.folder(incident), name), content));
    }
    if (isNew) this.write(incident);
    else this.dirty.add(incident);
    return incident;
  }

  /** Adds findings (persistence, recovery) to an incident and rewrites it. */
  annotate(incident: Incident, findings: Record<string, unknown>): void {
    Object.assign(incident.findings, findings);
    this.write(incident);
  }

  /** Rewrites one evidence file of an incident (e.g. a log excerpt completed with later lines). */
  evidence(incident: Incident, name: string, content: string): void {
    if (!incident.evidence.includes(name)) incident.evidence.push(name);
    this.enqueue(() => writeFileAtomic(join(this.folder(incident), name), content));
  }

  list(): Incident[] {
    return [...this.byKey.values()];
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.flushDirty();
    await this.writes;
  }

  private folder(incident: Incident): string {
    return join(this.dir, String(incident.id).padStart(3, '0'));
  }

  private write(incident: Incident): void {
    this.dirty.delete(incident);
    const snapshot = JSON.stringify(incident, null, 2);
    this.enqueue(() => writeFileAtomic(join(this.folder(incident), 'incident.json'), `${snapshot}\n`));
  }

  private flushDirty(): void {
    for (const incident of [...this.dirty]) this.write(incident);
  }

  /** Writes happen one after another, in order: the last one written is the newest state. */
  private enqueue(write: () => Promise<void>): void {
    this.writes = this.writes.then(write).catch(() => undefined);
  }
}

function addLimited(list: string[], value: string | undefined): void {
  if (value !== undefined && list.length < MAX_LISTED && !list.includes(value)) list.push(value);
}
