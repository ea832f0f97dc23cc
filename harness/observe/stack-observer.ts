import { connect } from 'node:tls';
import type { HistoryEvent } from '../history/history.ts';
import { EC_P256 } from '../pki/key-spec.ts';
import { API_PORT } from '../stack/icinga-config.ts';
import type { StartedIcingaNode } from '../stack/icinga-node.ts';
import type { StartedIcingaStack } from '../stack/icinga-stack.ts';
import type { LogLine } from '../stack/log-tail.ts';
import { type Incident, IncidentRecorder } from './incidents.ts';
import { builtInPatterns, classify, type LogPattern } from './log-patterns.ts';
import { swarmHandshakeSignal } from './swarm-signals.ts';

interface WorkerState {
  pid?: number;
  reloading: number;
  settledAt: number;
  /** Since when the API has not answered outside a reload (performance.now()). */
  silentSince?: number;
}

/** A master whose API stays silent this long outside any reload has no serving worker. */
const SILENCE_MS = 3000;
/** A handshake cut short this soon after a reload finished still counts as the reload's doing. */
const RELOAD_GRACE_MS = 2000;

export interface ObserverOptions {
  /** More patterns to watch for (name -> regex); their kind is "pattern:<name>". */
  patterns?: Record<string, RegExp>;
  /** After a master fails handshakes: probe it with a good client, and optionally restart it. */
  persistence?: {
    probeEveryMs?: number;
    probeForMs?: number;
    remedy?: 'restart';
    /** How long a restarted master may take to accept a good client again (default 120 s). */
    recoverForMs?: number;
  };
  /** Sample RSS, threads and open files of each master's icinga2 processes (ms; 0: off). */
  resourceEveryMs?: number;
  /** Poll each master's worker pid (ms; 0: off, default 1000): a change nobody asked for is an incident. */
  workerEveryMs?: number;
}

/**
 * Watches a running stack and turns every anomaly into an incident: log patterns on each
 * master, the swarm's handshake failures, and whether a master that failed a handshake still
 * accepts a good client. Detectors read live signals; incidents land in results/<run>/incidents/.
 */
export class StackObserver {
  readonly incidents: IncidentRecorder;
  private readonly stack: StartedIcingaStack;
  private readonly patterns: LogPattern[];
  private readonly options: ObserverOptions;
  private readonly unsubscribes: Array<() => void> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly probing = new Set<string>();
  private stopped = false;
  /** Per master: the worker pid we know, reloads in flight, and the last reload's end (for stale answers). */
  private readonly workers = new Map<string, WorkerState>();

  constructor(stack: StartedIcingaStack, options: ObserverOptions = {}) {
    this.stack = stack;
    this.options = options;
    this.incidents = new IncidentRecorder(stack.run.dir, stack.history);
    const custom = Object.entries(options.patterns ?? {}).map(([name, pattern]) => ({
      name,
      kind: `pattern:${name}`,
      pattern,
    }));
    this.patterns = [...custom, ...builtInPatterns];
  }

  start(): this {
    for (const master of this.stack.masters) {
      this.unsubscribes.push(master.log.subscribe((line) => this.onLogLine(master, line)));
    }
    this.unsubscribes.push(this.stack.history.subscribe((event) => this.onEvent(event)));
    const every = this.options.resourceEveryMs ?? 0;
    if (every > 0) this.repeat(every, () => this.sampleResources());
    const workerEvery = this.options.workerEveryMs ?? 1000;
    if (workerEvery > 0) this.repeat(workerEvery, () => this.watchWorkers());
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const unsubscribe of this.unsubscribes) unsubscribe();
    for (const timer of this.timers) clearTimeout(timer);
    await this.incidents.close();
  }

  private onLogLine(master: StartedIcingaNode, line: LogLine): void {
    const found = classify(line.text, this.patterns);
    if (!found) return;
    const tls = found.kind === 'tls-handshake-failed';
    const incident = this.incidents.report({
      kind: found.kind,
      master: master.name,
      peer: found.peer,
      reason: found.reason,
      summary: tls
        ? `${master.name} failed a client TLS handshake: ${found.reason}`
        : `${master.name}: ${line.text.slice(0, 160)}`,
      // All TLS handshake failures of a master are one incident, whoever reports them.
      dedupKey: tls ? `tls-handshake-failed|${master.name}` : undefined,
    });
    if (!incident) return;
    const excerpt = () => neighbours(master, line);
    // The first log line of this incident at this master (the swarm may have opened it already).
    if (!incident.evidence.includes(`log-${master.name}.txt`)) {
      this.incidents.evidence(incident, `log-${master.name}.txt`, excerpt());
      // Complete the excerpt with the lines that follow, once they are there.
      this.later(1500, () => this.incidents.evidence(incident, `log-${master.name}.txt`, excerpt()));
      void this.snapshot(incident, master);
      if (tls && this.options.persistence) void this.probePersistence(incident, master);
    }
  }

  private onEvent(event: HistoryEvent): void {
    if (event.source === 'reload' && typeof event.master === 'string') {
      const state = this.worker(event.master);
      if (event.type === 'reload-started') state.reloading++;
      if (event.type === 'reload-finished' || event.type === 'reload-failed') {
        state.reloading = Math.max(0, state.reloading - 1);
        state.settledAt = performance.now();
        if (typeof event.newPid === 'number') state.pid = event.newPid;
      }
      return;
    }
    if (event.source !== 'swarm' || event.type !== 'handshake-failed') return;
    const state = this.worker(String(event.master));
    const duringReload = state.reloading > 0 || performance.now() - state.settledAt < RELOAD_GRACE_MS;
    this.incidents.report(swarmHandshakeSignal(event, duringReload));
  }

  private worker(master: string): WorkerState {
    let state = this.workers.get(master);
    if (!state) {
      state = { reloading: 0, settledAt: 0 };
      this.workers.set(master, state);
    }
    return state;
  }

  /** A worker pid that changes while nobody reloads: the worker died or was replaced. */
  private async watchWorkers(): Promise<void> {
    for (const master of this.stack.masters) {
      const state = this.worker(master.name);
      const askedAt = performance.now();
      const app = await master.api.icingaApplication().catch(() => undefined);
      // An answer from before the last reload ended says nothing about the worker now.
      if (state.reloading > 0 || askedAt < state.settledAt) {
        state.silentSince = undefined;
        continue;
      }
      if (!app) {
        state.silentSince ??= askedAt;
        if (performance.now() - state.silentSince >= SILENCE_MS) {
          const running = await master.isRunning();
          this.incidents.report({
            kind: running ? 'worker-down' : 'master-down',
            master: master.name,
            summary: running
              ? `${master.name} stopped serving outside any reload: its container runs, its worker does not answer`
              : `${master.name}'s container is not running`,
            reason: running ? 'api silent' : 'container gone',
            dedupKey: `${running ? 'worker-down' : 'master-down'}|${master.name}`,
          });
        }
        continue;
      }
      state.silentSince = undefined;
      if (state.pid !== undefined && app.pid !== state.pid) {
        this.incidents.report({
          kind: 'worker-replaced',
          master: master.name,
          summary: `${master.name}'s worker changed from pid ${state.pid} to ${app.pid} without a reload`,
          reason: 'unexpected worker change',
        });
      }
      state.pid = app.pid;
    }
  }

  private async snapshot(incident: Incident, master: StartedIcingaNode): Promise<void> {
    const listener = await master.api.apiListener().catch((error: Error) => ({ error: error.message }));
    this.incidents.evidence(incident, `api-${master.name}.json`, `${JSON.stringify(listener, null, 2)}\n`);
  }

  /**
   * The field symptom is a master that refuses every handshake until restarted. Probe it with
   * a good client (a certificate from the stack CA): persistent if the probe fails too.
   */
  private async probePersistence(incident: Incident, master: StartedIcingaNode): Promise<void> {
    if (this.probing.has(master.name)) return;
    this.probing.add(master.name);
    const options = this.options.persistence ?? {};
    const deadline = Date.now() + (options.probeForMs ?? 10_000);
    const probe = await this.stack.ca.issue(`hh-probe-${master.name}`, EC_P256);
    let lastError: string | undefined;
    while (Date.now() < deadline && !this.stopped) {
      lastError = await handshake(master, probe, this.stack.ca.certificatePem);
      if (lastError === undefined) {
        this.incidents.annotate(incident, {
          persistence: {
            state: 'master-healthy',
            detail: 'a good client completes the handshake: the failing peer is at fault',
            at: new Date().toISOString(),
          },
        });
        this.probing.delete(master.name);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, options.probeEveryMs ?? 1000));
    }
    const finding: Record<string, unknown> = {
      state: 'persistent',
      probeError: lastError,
      at: new Date().toISOString(),
    };
    if (options.remedy === 'restart' && !this.stopped) {
      const started = performance.now();
      const recoverBy = started + (options.recoverForMs ?? 120_000);
      await master.container.restart();
      let recovered = false;
      while (!this.stopped && performance.now() < recoverBy) {
        recovered = (await handshake(master, probe, this.stack.ca.certificatePem)) === undefined;
        if (recovered) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      finding.remedy = recovered
        ? { action: 'restart', recoveredAfterMs: Math.round(performance.now() - started) }
        : { action: 'restart', recovered: false, gaveUpAfterMs: Math.round(performance.now() - started) };
    }
    this.incidents.annotate(incident, { persistence: finding });
    this.probing.delete(master.name);
  }

  private async sampleResources(): Promise<void> {
    for (const master of this.stack.masters) {
      const script =
        'for p in $(pgrep -x icinga2); do echo "$p $(ps -o rss=,nlwp= -p $p) $(ls /proc/$p/fd 2>/dev/null | wc -l)"; done';
      const result = await master.container.exec(['sh', '-c', script]).catch(() => undefined);
      if (!result) continue;
      const processes = result.output
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [pid, rssKb, threads, fds] = line.trim().split(/\s+/).map(Number);
          return { pid, rssKb, threads, fds };
        });
      this.stack.history.record('observe', 'resources', { master: master.name, processes });
    }
  }

  private repeat(ms: number, work: () => Promise<void>): void {
    const tick = async () => {
      if (this.stopped) return;
      await work().catch(() => undefined);
      this.later(ms, tick);
    };
    this.later(ms, tick);
  }

  private later(ms: number, work: () => unknown): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void work();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }
}

function neighbours(master: StartedIcingaNode, line: LogLine): string {
  return master.log
    .since(Math.max(0, line.seq - 6))
    .filter((candidate) => candidate.seq <= line.seq + 5)
    .map((candidate) => `${candidate.seq === line.seq ? '>' : ' '} ${candidate.text}`)
    .join('\n')
    .concat('\n');
}

/** A TLS handshake with the master as a good client; undefined on success, else the error. */
function handshake(
  master: StartedIcingaNode,
  identity: { privateKeyPem: string; certificatePem: string },
  caPem: string,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({
      host: master.address,
      port: API_PORT,
      servername: master.name,
      key: identity.privateKeyPem,
      cert: identity.certificatePem,
      ca: caPem,
    });
    const done = (result: string | undefined) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(5000, () => done('timed out'));
    socket.once('secureConnect', () => done(undefined));
    socket.once('error', (error) => done(error.message));
  });
}
