import { join } from 'node:path';
import { writeFileAtomic } from '../fs-atomic.ts';
import type { EventSink } from '../run/history.ts';
import { RunLayout } from '../run/layout.ts';
import type { IncidentSignal } from '../seam/detector.ts';

export type { IncidentSignal } from '../seam/detector.ts';

export interface Incident {
  id: number;
  kind: string;
  /** The detector that opened it. */
  detector?: string;
  node?: string;
  peer?: string;
  summary: string;
  firstSeen: string;
  lastSeen: string;
  count: number;
  peers: string[];
  /** The clients involved, by name (at most 50). */
  clients: string[];
  reasons: string[];
  evidence: string[];
  /** Evidence files no longer in the folder (a soak's disk budget removed them): named, not linked. */
  pruned?: string[];
  /** Free-form findings added later (persistence, recovery time). */
  findings: Record<string, unknown>;
  /** The incident this one is part of (a signature that absorbs it): not judged on its own. */
  partOf?: number;
}

/** The incidents a verdict judges: those that are no other incident's part. */
export function standaloneIncidents<T extends Pick<Incident, 'partOf'>>(incidents: readonly T[]): T[] {
  return incidents.filter((incident) => incident.partOf === undefined);
}

const MAX_LISTED = 50;
const MAX_INCIDENTS = 1000;
const MAX_EVIDENCE_FILES = 20;
const MAX_EVIDENCE_BYTES = 256 * 1024;

/** What a signal did to the ledger. */
export interface LedgerChange {
  incident: Incident;
  opened: boolean;
  /** Evidence files whose content is new or changed. */
  evidence: Array<[name: string, content: string]>;
  /** Incidents that became this one's parts with this signal (their files change too). */
  absorbed: Incident[];
}

/**
 * Incidents as a pure fold over signals, with no I/O: the live recorder and the offline
 * re-check (`hunt report`) both run it, so they agree by construction. Bounded: at most 1,000
 * incidents, 50 listed peers/endpoints/reasons each, 20 evidence files of 256 KiB each.
 */
export class IncidentLedger {
  private readonly byKey = new Map<string, Incident>();
  private readonly byId = new Map<number, Incident>();
  private readonly contents = new Map<string, string>();
  /** Who absorbs what: incidents of `kinds` at `nodes` become parts of `into`. */
  private readonly absorbers: Array<{ kinds: Set<string>; nodes: Set<string>; into: number }> = [];
  /** Signals dropped because MAX_INCIDENTS distinct incidents exist already. */
  dropped = 0;
  /** When the first was dropped: after it, the incidents are not all known. */
  firstDroppedAt: string | undefined;

  apply(signal: IncidentSignal): LedgerChange | undefined {
    if (signal.attachTo !== undefined) {
      const incident =
        typeof signal.attachTo === 'number'
          ? this.byId.get(signal.attachTo)
          : this.byKey.get(signal.attachTo);
      return incident
        ? { incident, opened: false, evidence: this.attach(incident, signal), absorbed: [] }
        : undefined;
    }
    const key = signal.dedupKey ?? `${signal.kind}|${signal.node ?? ''}|${signal.reason ?? ''}`;
    let incident = this.byKey.get(key);
    const opened = !incident;
    if (!incident) {
      if (this.byKey.size >= MAX_INCIDENTS) {
        this.dropped++;
        this.firstDroppedAt ??= signal.at;
        return undefined;
      }
      incident = {
        id: this.byKey.size + 1,
        kind: signal.kind,
        ...(signal.detector ? { detector: signal.detector } : {}),
        node: signal.node,
        peer: signal.peer,
        summary: signal.summary,
        firstSeen: signal.at,
        lastSeen: signal.at,
        count: 0,
        peers: [],
        clients: [],
        reasons: [],
        evidence: [],
        findings: {},
      };
      const absorber = this.absorbers.find((a) => a.kinds.has(signal.kind) && a.nodes.has(signal.node ?? ''));
      if (absorber) incident.partOf = absorber.into;
      this.byKey.set(key, incident);
      this.byId.set(incident.id, incident);
    }
    const absorbed = signal.absorbs ? this.absorb(incident, signal.absorbs) : [];
    incident.count++;
    if (signal.at > incident.lastSeen) incident.lastSeen = signal.at;
    incident.peer ??= signal.peer;
    addLimited(incident.peers, signal.peer);
    for (const peer of signal.peers ?? []) addLimited(incident.peers, peer);
    addLimited(incident.clients, signal.client);
    addLimited(incident.reasons, signal.reason);
    return { incident, opened, evidence: this.attach(incident, signal), absorbed };
  }

  /** Makes the incidents `absorbs` names parts of `into`, now and when they open later. */
  private absorb(into: Incident, absorbs: NonNullable<IncidentSignal['absorbs']>): Incident[] {
    if (into.partOf !== undefined) return [];
    let rule = this.absorbers.find((a) => a.into === into.id);
    if (!rule) {
      rule = { kinds: new Set(), nodes: new Set(), into: into.id };
      this.absorbers.push(rule);
    }
    for (const kind of absorbs.kinds) rule.kinds.add(kind);
    for (const node of absorbs.nodes) rule.nodes.add(node);
    const absorbed: Incident[] = [];
    for (const other of this.byId.values()) {
      if (other === into || other.partOf !== undefined) continue;
      if (!rule.kinds.has(other.kind) || !rule.nodes.has(other.node ?? '')) continue;
      // An older failure of the same kind at that node is another story, not a part of this one.
      if (absorbs.since !== undefined && other.firstSeen < absorbs.since) continue;
      other.partOf = into.id;
      absorbed.push(other);
    }
    return absorbed;
  }

  list(): Incident[] {
    return [...this.byId.values()];
  }

  /** Evidence content by incident and name (the offline report reads it from here). */
  evidenceOf(incident: Incident, name: string): string | undefined {
    return this.contents.get(`${incident.id}/${name}`);
  }

  private attach(incident: Incident, signal: IncidentSignal): Array<[string, string]> {
    Object.assign(incident.findings, signal.findings ?? {});
    for (const name of signal.evidenceFiles ?? [])
      if (!incident.evidence.includes(name) && incident.evidence.length < MAX_EVIDENCE_FILES)
        incident.evidence.push(name);
    const changed: Array<[string, string]> = [];
    for (const [name, raw] of Object.entries(signal.evidence ?? {})) {
      if (!incident.evidence.includes(name)) {
        if (incident.evidence.length >= MAX_EVIDENCE_FILES) continue;
        incident.evidence.push(name);
      }
      const content = raw.length > MAX_EVIDENCE_BYTES ? `${raw.slice(0, MAX_EVIDENCE_BYTES)}\n[cut]\n` : raw;
      const key = `${incident.id}/${name}`;
      if (this.contents.get(key) === content) continue;
      this.contents.set(key, content);
      changed.push([name, content]);
    }
    return changed;
  }
}

/** Where incident n lives in a run folder: incidents/001/. */
export function incidentFolder(runDir: string, id: number): string {
  return join(runDir, RunLayout.incident(id));
}

/**
 * The live side: applies signals to a ledger and keeps results/<run>/incidents/ in step with it
 * (each incident.json written atomically, at once when new or annotated and at most once a
 * second while its count grows), and records `incident-opened` in the history so reactors
 * (the persistence probe, the flight recorder) can act on it.
 */
export class IncidentRecorder {
  readonly ledger = new IncidentLedger();
  private readonly runDir: string;
  private readonly events: EventSink;
  private readonly dirty = new Set<Incident>();
  private readonly timer: NodeJS.Timeout;
  private writes: Promise<unknown> = Promise.resolve();

  constructor(runDir: string, events: EventSink) {
    this.runDir = runDir;
    this.events = events;
    this.timer = setInterval(() => this.flushDirty(), 1000);
    this.timer.unref();
  }

  report(signal: IncidentSignal): Incident | undefined {
    const change = this.ledger.apply(signal);
    if (!change) return undefined;
    const { incident } = change;
    for (const [name, content] of change.evidence)
      this.enqueue(() => writeFileAtomic(join(incidentFolder(this.runDir, incident.id), name), content));
    for (const part of change.absorbed) this.write(part);
    if (change.opened) {
      this.write(incident);
      this.events.record('incidents', 'incident-opened', {
        incident: incident.id,
        kind: incident.kind,
        detector: incident.detector,
        node: incident.node,
        peer: incident.peer,
        reason: incident.reasons[0],
        summary: incident.summary,
      });
    } else if (signal.findings || signal.evidenceFiles) this.write(incident);
    else this.dirty.add(incident);
    return incident;
  }

  list(): Incident[] {
    return this.ledger.list();
  }

  get dropped(): number {
    return this.ledger.dropped;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.flushDirty();
    await this.writes;
  }

  private write(incident: Incident): void {
    this.dirty.delete(incident);
    const snapshot = JSON.stringify(incident, null, 2);
    const path = join(incidentFolder(this.runDir, incident.id), 'incident.json');
    this.enqueue(() => writeFileAtomic(path, `${snapshot}\n`));
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
