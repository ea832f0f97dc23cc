import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { connect } from 'node:tls';
import { Repeater } from '../../observe/repeater.ts';
import { EC_P256 } from '../../pki/key-spec.ts';
import { recordDisruption } from '../../run/disruption.ts';
import type { HistoryEvent } from '../../run/history.ts';
import { API_PORT } from './stack/icinga-config.ts';
import type { StartedIcingaNode } from './stack/icinga-node.ts';
import type { StartedIcingaStack } from './stack/icinga-stack.ts';

export interface PersistenceOptions {
  probeEveryMs?: number;
  probeForMs?: number;
  /**
   * What to do with a master whose failure persists, timing its recovery: restart it, or first
   * reload it (SIGHUP) and restart only if the reload did not clear it. The second tells a
   * reload-fixes-it failure from a restart-only one, as an operator would find out.
   */
  remedy?: 'restart' | 'reload-then-restart';
  /** How long a restarted master may take to accept a good client again (default 120 s). */
  recoverForMs?: number;
  /** How long a reloaded master may take (default 15 s; a reload's new worker serves in about 1 s). */
  reloadRecoverForMs?: number;
}

/** What one remedy did: recovered after ms, or gave up after ms (with the error that stopped it). */
interface RemedyOutcome {
  action: 'reload' | 'restart';
  recovered: boolean;
  ms: number;
  error?: string;
}

/**
 * Reactors: they act when an incident opens (an `incident-opened` event) and record what they
 * did and found as events of their own, never touching the incident: an ApiListener snapshot of
 * the master as evidence, and for TLS failures the persistence probe (does a good client still get
 * in?) with the optional remedy. The detector chain (observe/detection.ts) attaches both to the incident.
 */
export class IncidentReactions {
  private readonly stack: StartedIcingaStack;
  private readonly persistence: PersistenceOptions | undefined;
  private readonly repeater = new Repeater();
  private readonly probing = new Set<string>();
  private readonly pending = new Set<Promise<void>>();
  private unsubscribe = () => {};

  constructor(stack: StartedIcingaStack, persistence?: PersistenceOptions) {
    this.stack = stack;
    this.persistence = persistence;
  }

  /** Reacts to incidents from now on, and to those that opened before it started (the swarm connects early). */
  start(): this {
    for (const event of this.stack.history.recent()) this.onEvent(event);
    this.unsubscribe = this.stack.history.subscribe((event) => this.onEvent(event));
    return this;
  }

  /** Stops reacting and waits (bounded by each reaction's own deadline) for those under way. */
  async stop(): Promise<void> {
    this.unsubscribe();
    this.repeater.stop();
    await Promise.all(this.pending);
  }

  private onEvent(event: HistoryEvent): void {
    if (event.source !== 'incidents' || event.type !== 'incident-opened') return;
    if (typeof event.node !== 'string' || typeof event.incident !== 'number') return;
    const master = this.stack.masters.find((node) => node.name === event.node);
    if (!master) return;
    this.track(this.snapshot(event.incident, master));
    if (event.kind === 'master-down' || event.kind === 'crash' || event.kind === 'worker-down')
      this.track(this.crashEvidence(event.incident, master));
    if (event.kind === 'tls-handshake-failed' && this.persistence)
      this.track(this.probePersistence(event.incident, master, this.persistence));
  }

  private track(work: Promise<void>): void {
    const guarded = work.catch(() => undefined);
    this.pending.add(guarded);
    void guarded.finally(() => this.pending.delete(guarded));
  }

  private async snapshot(incident: number, master: StartedIcingaNode): Promise<void> {
    const listener = await master.api.apiListener().catch((error: Error) => ({ error: error.message }));
    this.stack.history.record('observe', 'incident-evidence', {
      incident,
      name: `api-${master.name}.json`,
      content: `${JSON.stringify(listener, null, 2)}\n`,
    });
  }

  /**
   * A master gone or silent: what is left to tell why. Its last log lines (the log ends where it
   * died, mid-line at times), Icinga's own crash reports (under its log folder, in the run
   * folder), and the kernel's lines about it from this host (a general protection fault or a
   * segfault with the faulting instruction), where the kernel log is readable.
   */
  private async crashEvidence(incident: number, master: StartedIcingaNode): Promise<void> {
    const lastLines = master.log
      .since(0)
      .slice(-50)
      .map((line) => line.text);
    const crashDir = join(dirname(master.log.path), 'crash');
    const reports = await readdir(crashDir).catch(() => [] as string[]);
    const crashText = (
      await Promise.all(
        reports.slice(0, 5).map(async (name) => {
          const text = await readFile(join(crashDir, name), 'utf8').catch(() => '');
          return `== ${name}\n${text.split('\n').slice(0, 60).join('\n')}`;
        }),
      )
    ).join('\n');
    // Only this run's lines: the host's kernel log holds every earlier run's faults too.
    const kernel = await kernelLines(Date.now() - this.stack.history.now() - 2_000);
    const processes = await icingaProcesses(master);
    this.stack.history.record('observe', 'incident-finding', {
      incident,
      findings: { daemon: processes.verdict },
    });
    this.stack.history.record('observe', 'incident-evidence', {
      incident,
      name: `crash-${master.name}.txt`,
      content:
        `Last ${lastLines.length} log lines of ${master.name}:\n${lastLines.join('\n')}\n\n` +
        `Icinga crash reports (${crashDir}): ${reports.length === 0 ? 'none' : `\n${crashText}`}\n\n` +
        `Kernel lines about icinga2 on this host since the run began (dmesg):\n${kernel}\n\n` +
        `icinga2 processes in the container now (${processes.verdict}):\n${processes.table}\n`,
    });
  }

  /**
   * The field symptom is a master that refuses every handshake until restarted. Probe it with
   * a good client (a certificate from the stack CA): persistent if the probe keeps failing.
   */
  private async probePersistence(
    incident: number,
    master: StartedIcingaNode,
    options: PersistenceOptions,
  ): Promise<void> {
    if (this.probing.has(master.name)) return;
    this.probing.add(master.name);
    const history = this.stack.history;
    const deadline = performance.now() + (options.probeForMs ?? 10_000);
    const probe = await this.stack.ca.issue(`hh-probe-${master.name}`, EC_P256);
    const tryOnce = () => handshake(master, probe, this.stack.ca.certificatePem);
    let lastError: string | undefined;
    while (performance.now() < deadline && !this.repeater.isStopped) {
      lastError = await tryOnce();
      history.record('observe', 'probe', {
        master: master.name,
        incident,
        ok: lastError === undefined,
        error: lastError,
      });
      if (lastError === undefined) {
        history.record('observe', 'incident-finding', {
          incident,
          findings: {
            persistence: {
              state: 'master-healthy',
              detail: 'a good client completes the handshake: the failing peer is at fault',
            },
          },
        });
        this.probing.delete(master.name);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, options.probeEveryMs ?? 1000));
    }
    const finding: Record<string, unknown> = { state: 'persistent', probeError: lastError };
    const tried: RemedyOutcome[] = [];
    if (options.remedy === 'reload-then-restart' && !this.repeater.isStopped)
      tried.push(
        await this.remedy(master, incident, 'reload', options.reloadRecoverForMs ?? 15_000, tryOnce, () =>
          master.kill('SIGHUP'),
        ),
      );
    if (options.remedy !== undefined && !tried.some((t) => t.recovered) && !this.repeater.isStopped)
      tried.push(
        await this.remedy(master, incident, 'restart', options.recoverForMs ?? 120_000, tryOnce, () =>
          master.container.restart(),
        ),
      );
    const outcomes = tried.map(({ action, recovered, ms, error }) =>
      recovered
        ? { action, recoveredAfterMs: ms }
        : { action, recovered: false, gaveUpAfterMs: ms, ...(error === undefined ? {} : { error }) },
    );
    const last = outcomes.at(-1);
    if (last) {
      // The remedy that ended it, and the one tried before it (a reload that did not clear it).
      finding.remedy = outcomes.length > 1 ? { ...last, before: outcomes[0] } : last;
      finding.detail = tried
        .map((t) =>
          t.recovered
            ? `a ${t.action} cleared it after ${t.ms.toLocaleString('en')} ms`
            : `a ${t.action} did not (gave up after ${t.ms.toLocaleString('en')} ms${t.error ? `: ${t.error}` : ''})`,
        )
        .join('; ');
    }
    history.record('observe', 'incident-finding', { incident, findings: { persistence: finding } });
    this.probing.delete(master.name);
  }

  /**
   * One remedy, timed: acts, then probes until a good client gets in or the time is up. The act
   * is the harness's own doing: a disruption window, so no detector takes its new worker or its
   * silence for a fault. An act the engine refuses is a remedy that failed, recorded as such.
   */
  private async remedy(
    master: StartedIcingaNode,
    incident: number,
    action: RemedyOutcome['action'],
    recoverForMs: number,
    tryOnce: () => Promise<string | undefined>,
    act: () => Promise<void>,
  ): Promise<RemedyOutcome> {
    const history = this.stack.history;
    history.record('remedy', 'remedy-started', { master: master.name, incident, action });
    const ended = recordDisruption(history, 'remedy', { node: master.name, kind: action, incident });
    const started = performance.now();
    let recovered = false;
    let error: string | undefined;
    try {
      await act();
      while (!this.repeater.isStopped && performance.now() < started + recoverForMs) {
        recovered = (await tryOnce()) === undefined;
        if (recovered) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    } catch (failure) {
      error = (failure as Error).message;
    } finally {
      ended({ recovered });
    }
    const ms = Math.round(performance.now() - started);
    history.record('remedy', 'remedy-finished', {
      master: master.name,
      incident,
      action,
      recovered,
      ms,
      ...(error === undefined ? {} : { error }),
    });
    return { action, recovered, ms, ...(error === undefined ? {} : { error }) };
  }
}

/** How long a probe's connection must stay up after its handshake to count as accepted. */
const PROBE_SETTLE_MS = 1_000;

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
    // In TLS 1.3 the client is through before the server has read its certificate: a refusal
    // ("excessive message size" on the server, alert 47) comes right after. So the probe counts
    // as a success only once the connection has stayed up a moment after the handshake.
    socket.once('secureConnect', () => {
      const settled = setTimeout(() => done(undefined), PROBE_SETTLE_MS);
      socket.once('close', () => {
        clearTimeout(settled);
        done('closed right after the handshake');
      });
    });
    socket.once('error', (error) => done(error.message));
  });
}

/** The host kernel's lines about icinga2 (faults) since `since` (ms since the epoch), or why they cannot be read. */
function kernelLines(since: number): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      'dmesg',
      ['--ctime'],
      { timeout: 5_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          resolve(`(not readable here: ${String(stderr || error.message).trim()})`);
          return;
        }
        const lines = stdout.split('\n').filter((line) => {
          if (!/icinga2|general protection|segfault/i.test(line)) return false;
          // "[Mon Nov 30 09:11:25 2026] ...": dmesg's wall clock, to the second.
          const at = Date.parse(/^\[([^\]]+)\]/.exec(line)?.[1] ?? '');
          return Number.isNaN(at) || at >= since;
        });
        resolve(lines.slice(-30).join('\n') || '(none)');
      },
    );
  });
}

/**
 * What is left of the daemon: a crash leaves no icinga2 process (or the umbrella alone, when only
 * the worker died); a hang leaves both, alive and silent (the stat column tells D from S and T).
 */
async function icingaProcesses(master: StartedIcingaNode): Promise<{ verdict: string; table: string }> {
  const ps = await master
    .exec(['ps', '-C', 'icinga2', '-o', 'pid,ppid,stat,etime,rss,args'])
    .catch((error: Error) => ({ exitCode: -1, output: error.message }));
  // No header: ps did not run (the container stopped, the exec refused).
  if (ps.exitCode === -1 || !/^\s*PID/.test(ps.output))
    return { verdict: 'container gone', table: ps.output.trim() };
  const rows = ps.output.trim().split('\n').slice(1).filter(Boolean);
  const verdict =
    rows.length === 0
      ? 'gone: no icinga2 process'
      : rows.length === 1
        ? 'worker gone: the umbrella process alone'
        : `alive: ${rows.length} icinga2 processes, silent (a hang, not a crash)`;
  return { verdict, table: ps.output.trim() };
}
