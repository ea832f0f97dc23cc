import { mkdtemp, rename, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { makeDirectory } from '../../../fs-directory.ts';
import { LogRecorder } from '../../../observe/log-recorder.ts';
import { Repeater } from '../../../observe/repeater.ts';
import type { Progress } from '../../../progress.ts';
import { recordDisruption } from '../../../run/disruption.ts';
import type { HistoryEvent } from '../../../run/history.ts';
import { RunLayout } from '../../../run/layout.ts';
import type { Run } from '../../../run/run.ts';
import { dumpCore } from '../../../seam/core-dump.ts';
import { readHostProcess } from '../../../seam/host-process.ts';
import { HostProcessNode } from '../../../seam/host-process-node.ts';
import { JournalFollower } from '../../../seam/journal-follower.ts';
import { LogTail } from '../../../seam/log-tail.ts';
import { processSnapshot } from '../../../seam/process-snapshot.ts';
import type {
  ConnectionSighting,
  StartedTarget,
  SystemUnderTest,
  TargetBuilder,
  TargetObserver,
} from '../../../seam/target.ts';
import { icingaDetectors } from '../detectors/index.ts';
import { icingaImages } from '../images/icinga-images.ts';
import { icingaReportSections } from '../report-sections.ts';
import { connectionInLogMatch, icingaJournalLine, parseIcingaTimestamp } from '../stack/icinga-log.ts';
import { describeFound, type FoundIcinga, umbrellaIn, workerOf } from './find-icinga.ts';
import { ListenerRecorder } from './listener-recorder.ts';
import { ReloadWindow } from './reload-window.ts';
import { restartService, type ServiceRestart } from './service-restart.ts';

/** How often the watch looks whether the daemon was restarted (a new umbrella in its cgroup). */
const FOLLOW_EVERY_MS = 1_000;
/** The detectors that read what a watch records: the daemon's own log, and its listener's owner. */
const WATCH_DETECTORS = new Set(['log-lines', 'field-signature', 'workers']);

/**
 * An Icinga 2 the harness did not start, as a started target with one node: the daemon's log
 * followed through its root, captures in its network namespace with the host's tcpdump. A
 * restart (a new umbrella in the same control group: systemd's unit, a container) is followed:
 * the node becomes the new process and the log is read on from where it was. Stopping it stops
 * only what the harness started.
 */
export class WatchedIcinga implements StartedTarget {
  readonly system = 'icinga';
  readonly run: Run;
  readonly master: HostProcessNode;
  private readonly found: FoundIcinga;
  private readonly linkDir: string;
  /** With --journal: the unit's entries, followed into the log the tail reads. */
  private readonly journal: JournalFollower | undefined;
  private readonly follower = new Repeater();
  /** The daemon is gone and no new one has come (said once per absence). */
  private gone = false;
  /** The follower's tick under way, if one is. */
  private following: Promise<void> = Promise.resolve();

  private constructor(
    run: Run,
    master: HostProcessNode,
    found: FoundIcinga,
    linkDir: string,
    journal: JournalFollower | undefined,
  ) {
    this.run = run;
    this.master = master;
    this.found = found;
    this.linkDir = linkDir;
    this.journal = journal;
  }

  static async start(run: Run, found: FoundIcinga, name: string): Promise<WatchedIcinga> {
    // LogTail follows a path: a link the watch repoints when the daemon restarts under a new
    // pid (its root is then /proc/<new pid>/root), so one tail and its subscribers go on.
    const linkDir = await mkdtemp(join(tmpdir(), 'hh-watch-'));
    const link = join(linkDir, 'icinga2.log');
    // A journal is followed into a node log of the watch's own folder (held under --disk-cap as a
    // run's node logs are); a file log is read where the daemon writes it, through the link.
    const journalFile = run.path(RunLayout.nodeLog(name, 'icinga2.log'));
    if (found.journal) await makeDirectory(run.path(RunLayout.nodeLogs(name)));
    const journal = found.journal
      ? await JournalFollower.start(
          { root: found.umbrella.root, unit: found.journal.unit },
          journalFile,
          icingaJournalLine,
          (why) => run.history.record('observe', 'journal-ended', { node: name, why }),
        )
      : undefined;
    if (found.log) await symlink(found.log.onHost, link);
    if (found.keylog) {
      // The flight recorder reads the nodes' key logs under keys/nodes/: this one is the daemon's
      // own file, through a link repointed as the log's is (bundles never take keys/).
      // The shim's old generation (<file>.1) is linked too: a rotation between two reads moves
      // lines into it.
      await makeDirectory(run.path(RunLayout.nodeKeys));
      for (const generation of KEYLOG_GENERATIONS) {
        await symlink(`${found.keylog.onHost}${generation}`, join(linkDir, `icinga2.keylog${generation}`));
        await symlink(
          join(linkDir, `icinga2.keylog${generation}`),
          join(run.path(RunLayout.nodeKeys), `${name}.keylog${generation}`),
        );
      }
    }
    const captureDir = run.path(RunLayout.captures(name));
    await makeDirectory(captureDir);
    const master = new HostProcessNode({
      name,
      role: 'master',
      pid: found.umbrella.pid,
      startTicks: found.umbrella.startTicks,
      netns: found.umbrella.netns,
      address: found.addresses[0] ?? '127.0.0.1',
      log: new LogTail(journal ? journalFile : link, { parseTimestamp: parseIcingaTimestamp, fromEnd: true }),
      capture: { filter: `tcp port ${found.apiPort}`, nodeDir: captureDir, hostDir: captureDir },
    });
    // What the report says of the system under test: the versions it reports, where it runs.
    await run.describe('stack', {
      ...(found.version && { version: found.version, icingaVersion: found.version }),
      description: found.banner.trim(),
      ...(found.openssl && { opensslVersion: found.openssl }),
      icingaVersionText: found.banner,
      watched: describeFound(found, name),
    });
    run.history.record('stack', 'node-addresses', {
      addresses: Object.fromEntries(found.addresses.map((address) => [address, name])),
    });
    // Where the daemon logs nothing now, the tail waits for its next line, not for last month's.
    await master.log.looked();
    const watched = new WatchedIcinga(run, master, found, linkDir, journal);
    watched.follower.every(FOLLOW_EVERY_MS, () => {
      watched.following = watched.followRestart().catch(() => undefined);
      return watched.following;
    });
    return watched;
  }

  get apiPort(): number {
    return this.found.apiPort;
  }

  get nodes(): readonly HostProcessNode[] {
    return [this.master];
  }

  get watched(): readonly HostProcessNode[] {
    return [this.master];
  }

  node(name: string): HostProcessNode {
    if (name !== this.master.name) throw new Error(`no node ${name}: this watch has ${this.master.name}`);
    return this.master;
  }

  /** The watch runs no clients of its own. */
  clients(): { connected: number; total: number; label: string } {
    return { connected: 0, total: 0, label: 'clients' };
  }

  connectionIn(event: HistoryEvent): ConnectionSighting | undefined {
    return connectionInLogMatch(event);
  }

  async stop(): Promise<void> {
    this.follower.stop();
    // A restart being followed finishes first: it may start the node's helpers again.
    await this.following;
    // The journal's last entries are in the file before the tail's last read.
    await this.journal?.stop();
    await this.master.stop();
    await rm(this.linkDir, { recursive: true, force: true });
    if (this.found.keylog)
      await rm(join(this.run.path(RunLayout.nodeKeys), `${this.master.name}.keylog`), { force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** A restart: the umbrella gone and a new one in its control group. Then the node is the new one. */
  private async followRestart(): Promise<void> {
    if (await this.master.isRunning()) return;
    const next = await umbrellaIn(this.found.cgroup);
    if (!next) {
      // Stopped, or between a stop and its start: said once; the watch waits for it to come back.
      if (!this.gone)
        this.run.history.record('observe', 'daemon-gone', { node: this.master.name, pid: this.master.pid });
      this.gone = true;
      return;
    }
    this.gone = false;
    const worker = await workerOf(next);
    if (this.journal) await this.journal.repoint(next.root);
    if (this.found.log)
      await repoint(join(this.linkDir, 'icinga2.log'), `${next.root}${this.found.log.resolved}`);
    if (this.found.keylog)
      for (const generation of KEYLOG_GENERATIONS)
        await repoint(
          join(this.linkDir, `icinga2.keylog${generation}`),
          `${next.root}${this.found.keylog.resolved}${generation}`,
        );
    // A restart drops every connection, as a reload does: the detectors' grace covers its wave. It
    // opens before the node becomes the new process, so nothing seen of that one falls outside it.
    const ended = recordDisruption(this.run.history, 'observe', { node: this.master.name, kind: 'restart' });
    await this.master.follow(next.pid, next.startTicks, next.netns).finally(ended);
    this.run.history.record('observe', 'daemon-followed', {
      node: this.master.name,
      pid: next.pid,
      worker: worker.pid,
    });
  }
}

/** Builds a watch of the daemon that `findIcinga` found (the runner's TargetBuilder). */
class WatchBuilder implements TargetBuilder<WatchedIcinga> {
  private readonly found: FoundIcinga;
  private readonly name: string;

  constructor(found: FoundIcinga, name: string) {
    this.found = found;
    this.name = name;
  }

  /** The daemon logs its TLS secrets only where its owner preloaded the shim: nothing to set here. */
  withTlsSecrets(): this {
    return this;
  }

  async start(run: Run, _progress?: Progress, signal?: AbortSignal): Promise<WatchedIcinga> {
    signal?.throwIfAborted();
    return WatchedIcinga.start(run, this.found, this.name);
  }
}

/**
 * What watches a watched daemon: its log's matching lines (the detectors read those), and when
 * an incident opens on it, the process as it was then (umbrella and worker: threads, open files,
 * the listener's sockets, the libraries mapped) as the incident's evidence.
 */
class WatchObserver implements TargetObserver {
  private readonly target: WatchedIcinga;
  private readonly logs: LogRecorder;
  private readonly listener: ListenerRecorder;
  private readonly pending = new Set<Promise<void>>();
  private readonly unsubscribe: () => void;
  private readonly disruptions: () => void;
  private readonly reloads: ReloadWindow;
  private readonly options: WatchOptions;
  private cores = 0;
  private restarts = 0;
  /** The restart under way (restarts run one at a time), and when the last one ended. */
  private restarting: Promise<void> = Promise.resolve();
  private lastRestartEnded = 0;
  /** Set when the watch stops: no restart starts after it, and no wait for evidence goes on. */
  private stopping = false;
  private readonly waits = new Set<() => void>();

  constructor(target: WatchedIcinga, options: WatchOptions = {}) {
    this.target = target;
    this.options = options;
    // The log and /proc each see the user's reloads: one window for both, or each counted twice.
    this.reloads = new ReloadWindow(target.run.history, target.master.name);
    // Before the log recorder: a line that shows a disruption is recorded ahead of its match.
    this.disruptions = followDisruptions(target, this.reloads);
    this.logs = new LogRecorder(target.run.history).watch(target.nodes);
    this.listener = new ListenerRecorder(target.run.history, target.master, target.apiPort, {
      reloads: this.reloads,
    }).watch();
    this.unsubscribe = target.run.history.subscribe((event) => {
      if (event.source !== 'incidents' || event.type !== 'incident-opened') return;
      if (event.node !== target.master.name || typeof event.incident !== 'number') return;
      const work = this.snapshot(event.incident).catch(() => undefined);
      this.pending.add(work);
      void work.finally(() => this.pending.delete(work));
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const wake of this.waits) wake();
    this.unsubscribe();
    this.disruptions();
    this.logs.stop();
    this.listener.stop();
    this.reloads.close();
    await Promise.all(this.pending);
  }

  private async snapshot(incident: number): Promise<void> {
    const { master, apiPort } = this.target;
    const umbrella = await readHostProcess(master.pid);
    const worker = umbrella && (await workerOf(umbrella));
    const processes = [{ label: 'umbrella', pid: master.pid }];
    if (worker && worker.pid !== master.pid) processes.push({ label: 'worker', pid: worker.pid });
    this.target.run.history.record('observe', 'incident-finding', {
      incident,
      findings: { umbrellaPid: master.pid, ...(worker && { workerPid: worker.pid }) },
    });
    this.target.run.history.record('observe', 'incident-evidence', {
      incident,
      name: `process-${master.name}.txt`,
      content: await processSnapshot(processes, { port: apiPort }),
    });
    if (this.options.core && this.cores < MAX_CORES) {
      this.cores++;
      const pid = worker?.pid ?? master.pid;
      const prefix = join(
        this.target.run.path(RunLayout.cores),
        `${String(incident).padStart(3, '0')}-${master.name}`,
      );
      const findings = await dumpCore(pid, prefix).then(
        (core) => ({ core: relative(this.target.run.dir, core.path), coreBytes: core.bytes }),
        (error: Error) => ({ coreFailed: error.message }),
      );
      this.target.run.history.record('observe', 'incident-finding', { incident, findings });
    }
    await this.restartAfter(incident);
  }

  /**
   * --restart-after-evidence: once the incident's capture is kept, restart the daemon. One at a
   * time: an incident that opened before the last restart ended (the same failure, seen by
   * another detector) is covered by it; none once the watch is stopping (Ctrl-C must never end
   * in a restart of the user's daemon); at most MAX_RESTARTS.
   */
  private async restartAfter(incident: number): Promise<void> {
    const restart = this.options.restart;
    if (!restart) return;
    const openedAt = performance.now();
    const previous = this.restarting;
    let release = () => {};
    this.restarting = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      await previous;
      if (this.stopping || this.restarts >= MAX_RESTARTS || openedAt < this.lastRestartEnded) return;
      // The capture is kept once its window's end has passed: the restart waits for it.
      await this.evidenceKept(incident);
      if (this.stopping) return;
      this.restarts++;
      this.target.run.history.record('observe', 'restart-after-evidence', {
        incident,
        how: restart.describe,
      });
      // The harness's own restart: its refused and reset connections are not news.
      const ended = recordDisruption(this.target.run.history, 'observe', {
        node: this.target.master.name,
        kind: 'restart',
      });
      const findings = await restartService(restart)
        .finally(() => ended())
        .then(
          () => ({ restartedAfterEvidence: restart.describe }),
          (error: Error) => ({ restartFailed: `${restart.describe}: ${error.message.split('\n')[0]}` }),
        );
      this.lastRestartEnded = performance.now();
      this.target.run.history.record('observe', 'incident-finding', { incident, findings });
    } finally {
      release();
    }
  }

  /** Resolves once the flight recorder has kept (or failed to keep) the incident's capture. */
  private evidenceKept(incident: number): Promise<void> {
    const { history } = this.target.run;
    const kept = (event: HistoryEvent) =>
      event.source === 'capture' &&
      (event.type === 'capture-kept' || event.type === 'capture-failed') &&
      event.incident === incident;
    if (this.stopping || history.recent().some(kept)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        unsubscribe();
        this.waits.delete(done);
        resolve();
      };
      // Without a capture (--capture off) nothing comes: the window's end and then some.
      const timer = setTimeout(done, EVIDENCE_WAIT_MS);
      const unsubscribe = history.subscribe((event) => {
        if (kept(event)) done();
      });
      this.waits.add(done);
    });
  }
}

/** A link pointed at a new target in one step (the readers never see it missing). */
async function repoint(link: string, target: string): Promise<void> {
  const fresh = `${link}.next`;
  // A link left by a tick that failed halfway would block every later one.
  await rm(fresh, { force: true });
  await symlink(target, fresh);
  await rename(fresh, link);
}

/** The key-log shim's file and its one old generation (it rotates <file> to <file>.1). */
const KEYLOG_GENERATIONS = ['', '.1'] as const;

/** Core files a watch writes at most: each is the worker's whole memory (hundreds of MB). */
export const MAX_CORES = 3;
/** Restarts --restart-after-evidence makes at most: a failure that comes back is watched, not looped. */
export const MAX_RESTARTS = 3;
/** The longest a restart waits for the incident's capture to be kept. */
const EVIDENCE_WAIT_MS = 90_000;

export interface WatchOptions {
  /** --core: a core file of the worker per incident. */
  core?: boolean;
  /** --restart-after-evidence: how the daemon's service restarts. */
  restart?: ServiceRestart;
}

/**
 * The daemon's own reload begins: its worker is told to go (2.12 to 2.14 log the same line)...
 * Facility left out: the syslog feature's entries carry the bare message.
 */
const RELOAD_BEGINS = /Received request to shut down/;
/** ...and ends when the new worker's listener is up. */
const LISTENER_UP = /Started new listener on/;
/** The longest a reload is taken to last without its listener line (then it is over anyway). */
const RELOAD_MAX_MS = 60_000;
/**
 * A peer that refuses or resets the daemon's dial is reloading, restarting or down; one whose
 * dying worker took the dial and hung it is reloading too (Icinga gives up after 15 s).
 */
const PEER_UNREACHABLE = /Cannot connect to host '([^']+)'|Timeout while reconnecting to endpoint '([^']+)'/;

/**
 * The disruptions a watch can see in the daemon's log, recorded as a run's are, so the detectors
 * read their side effects (refused and reset connections for a few seconds) as expected, the
 * way they do in a run: its own reloads (the user's, Director's), and a peer it cannot reach.
 * The harness drives none of them here; it only reads them. Returns the unsubscribe.
 */
export function followDisruptions(
  target: Pick<WatchedIcinga, 'master' | 'run'>,
  reloads: ReloadWindow = new ReloadWindow(target.run.history, target.master.name),
): () => void {
  const { master, run } = target;
  let reloading: NodeJS.Timeout | undefined;
  const settle = () => {
    if (!reloading) return;
    clearTimeout(reloading);
    reloads.end('log');
    reloading = undefined;
  };
  const unsubscribe = master.log.subscribe((line) => {
    if (RELOAD_BEGINS.test(line.text) && !reloading) {
      reloads.begin('log');
      reloading = setTimeout(settle, RELOAD_MAX_MS);
      reloading.unref();
    } else if (LISTENER_UP.test(line.text)) settle();
    const unreachable = PEER_UNREACHABLE.exec(line.text);
    const peer = unreachable?.[1] ?? unreachable?.[2];
    if (peer !== undefined) recordDisruption(run.history, 'observe', { node: peer, kind: 'unreachable' })();
  });
  return () => {
    unsubscribe();
    settle();
  };
}

/**
 * Icinga 2 as `hunt watch` sees it: one daemon found on this host, at the version it reports.
 * Its images are the catalogue's (a watch builds none); its detectors are those that read a
 * daemon's log.
 */
export function watchedIcingaSystem(
  found: FoundIcinga,
  name: string,
  options: WatchOptions = {},
): SystemUnderTest<WatchBuilder> {
  const version = found.version ?? 'unknown';
  return {
    name: 'icinga',
    versions: [version],
    defaultVersion: version,
    // The watch takes no steps: the user's reloads are disruptions it sees, not steps it counts.
    stepUnit: 'reloads',
    takesImages: false,
    images: icingaImages,
    detectors: icingaDetectors.filter((detector) => WATCH_DETECTORS.has(detector.name)),
    checkVersion() {},
    builder: () => new WatchBuilder(found, name),
    observe: (target) => new WatchObserver(target, options),
    reportSections: icingaReportSections,
  };
}
