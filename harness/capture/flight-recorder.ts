import { createReadStream } from 'node:fs';
import { copyFile, link, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, HuntError } from '../errors.ts';
import { makeDirectory } from '../fs-directory.ts';
import { incidentFolder } from '../observe/incidents.ts';
import type { HistoryEvent } from '../run/history.ts';
import { RunLayout } from '../run/layout.ts';
import type { CaptureSpec, StartedTarget, TargetNode } from '../seam/target.ts';
import {
  alertsIn,
  bounded,
  clientRandoms,
  cut,
  describeSegments,
  handshakeHeadsIn,
  headsListing,
  injectSecrets,
  mergeWindow,
  packetCount,
  summarize,
  trafficPerSecond,
  unreadNote,
  withToolSignal,
} from './capture-tools.ts';
import {
  connectionFilter,
  incidentWindow,
  type RingOptions,
  secretsFor,
  segmentsFor,
  type Window,
} from './capture-window.ts';
import type { HandshakeHead } from './handshake-heads.ts';
import { handshakeVerdict } from './handshake-verdict.ts';

/** Recent sightings of connections (swarm local ports, log-line peer ports) kept to name an incident's. */
const MAX_SIGHTINGS = 20_000;

interface Sighting {
  node: string;
  at: number;
  port?: number;
  address?: string;
}

/** A node the recorder records: one with a capture spec. */
type RecordedNode = TargetNode & { capture: CaptureSpec };

/**
 * The flight recorder: records each chosen node's traffic (its capture spec's filter: Icinga's
 * port 5665) all the time, inside the node's own network namespace (tcpdump in the node's
 * container, writing a ring of files to the run's captures/<node>/, bounded by file size x
 * count), and keeps what matters. It works on any target: nodes, capture specs and the
 * connections an event names come from the target seam. It reacts to an
 * incident's `incident-opened` event, never called by a detector: once the window after the first
 * sighting has passed, it merges the ring files that cover [first seen - before, first seen +
 * after], embeds the TLS secrets of the sessions in it (the swarm's and, through the key-log
 * shim, icinga2's own), and writes into incidents/<n>/: window.pcapng (everything in the window),
 * capture.pcapng (only the incident's connections) and capture.txt (what tshark sees of their
 * handshakes), then records `capture-kept`.
 *
 *   await using recorder = await FlightRecorder.of(stack).ring({ fileMb: 16, files: 8 }).start();
 */
export class FlightRecorder {
  private readonly target: StartedTarget;
  private names: string[] | undefined;
  private ringOptions: RingOptions = { fileMb: 32, files: 8 };
  private beforeMs = 30_000;
  private afterMs = 10_000;
  private withSecrets = true;

  private constructor(target: StartedTarget) {
    this.target = target;
  }

  static of(target: StartedTarget): FlightRecorder {
    return new FlightRecorder(target);
  }

  /** Which nodes to record (default: the target's watched nodes: Icinga's masters). */
  nodes(...names: string[]): this {
    this.names = names;
    return this;
  }

  /** The ring per node: `files` files of `fileMb` MB (default 8 x 32 MB: 256 MB per node at most). */
  ring(options: RingOptions): this {
    this.ringOptions = options;
    return this;
  }

  /** What is kept around an incident's first sighting (default 30 s before, 10 s after). */
  window(options: { beforeMs: number; afterMs: number }): this {
    this.beforeMs = options.beforeMs;
    this.afterMs = options.afterMs;
    return this;
  }

  /** Embed the TLS secrets into kept captures (default on: the run's own test keys). */
  secrets(enabled: boolean): this {
    this.withSecrets = enabled;
    return this;
  }

  async start(): Promise<StartedFlightRecorder> {
    const { fileMb, files } = this.ringOptions;
    if (
      !(
        Number.isInteger(fileMb) &&
        fileMb >= 1 &&
        fileMb <= 4096 &&
        Number.isInteger(files) &&
        files >= 1 &&
        files <= 1000
      )
    )
      throw new HuntError(
        ErrorCodes.CAPTURE_CONFIG,
        `A capture ring is 1 to 1000 files of 1 to 4096 MB, not ${files} x ${fileMb} MB: it must hold something, and be bounded.`,
      );
    if (!(this.beforeMs >= 0 && this.afterMs >= 0))
      throw new HuntError(ErrorCodes.CAPTURE_CONFIG, 'A capture window is before/after ms >= 0.');
    const chosen = this.names ? this.names.map((name) => this.target.node(name)) : this.target.watched;
    const nodes: RecordedNode[] = [];
    for (const node of chosen) {
      if (!node.capture)
        throw new HuntError(
          ErrorCodes.CAPTURE_CONFIG,
          `${node.name} has nothing to capture (no capture spec).`,
        );
      nodes.push(node as RecordedNode);
    }
    const ringing: RecordedNode[] = [];
    try {
      for (const node of nodes) {
        ringing.push(node);
        await startRing(node, this.ringOptions);
      }
    } catch (error) {
      // No recorder to stop later: a tcpdump that starts late would fill its ring unwatched.
      for (const node of ringing) await stopRing(node);
      throw error;
    }
    this.target.run.history.record('capture', 'capture-started', {
      nodes: nodes.map((node) => node.name),
      ring: this.ringOptions,
      beforeMs: this.beforeMs,
      afterMs: this.afterMs,
      secrets: this.withSecrets,
    });
    return new StartedFlightRecorder(this.target, nodes, {
      beforeMs: this.beforeMs,
      afterMs: this.afterMs,
      secrets: this.withSecrets,
    });
  }
}

/** Starts tcpdump's ring in the node's network namespace; HH_CAPTURE_UNAVAILABLE where it cannot. */
async function startRing(node: RecordedNode, { fileMb, files }: RingOptions): Promise<void> {
  const check = await node.exec(['sh', '-c', 'command -v tcpdump']).catch(() => ({ exitCode: 1 }));
  if (check.exitCode !== 0)
    throw new HuntError(
      ErrorCodes.CAPTURE_UNAVAILABLE,
      `${node.name} cannot capture: its image has no tcpdump. Add tcpdump to the image, or run with --capture optional (or off).`,
    );
  // -U: each packet is written as it arrives, so nothing of the failing moment waits in a
  // buffer when the incident comes. -Z root: Debian's tcpdump would drop to its own user and
  // then could not write to the bind-mounted folder. -s 0: whole packets (certificates).
  await node.startBackground([
    'tcpdump',
    '-i',
    'any',
    '-nn',
    '-U',
    '-s',
    '0',
    '-Z',
    'root',
    '-C',
    String(fileMb),
    '-W',
    String(files),
    '-w',
    `${node.capture.nodeDir}/ring.pcap`,
    ...node.capture.filter.split(/\s+/),
  ]);
  await ringWriting(node, RING_START_MS);
}

/**
 * Stops a node's tcpdump and removes its ring files. The folder stays: it is bind-mounted into
 * the running node, where a later recorder's tcpdump writes again.
 */
async function stopRing(node: RecordedNode): Promise<void> {
  // A container the harness started holds no tcpdump but its own; a host process's namespace
  // may hold the user's: there only what the harness started is stopped.
  if (node.stopBackground) await node.stopBackground();
  else await node.exec(['pkill', '-INT', 'tcpdump']).catch(() => undefined);
  const ringDir = node.capture.hostDir;
  for (const name of await readdir(ringDir).catch(() => [] as string[]))
    if (name.startsWith('ring.pcap')) await rm(join(ringDir, name), { force: true });
}

/** How long tcpdump gets to open its interface and write its first ring file's header. */
const RING_START_MS = 10_000;
/** libpcap's file header: tcpdump writes it as soon as it captures, before any packet. */
const PCAP_HEADER_BYTES = 24;

/**
 * Waits for the first ring file to hold its pcap header: tcpdump writes it once it captures. A
 * started exec is not a started capture: a node that died within the first second of a race hunt
 * left no packet of its last moments when the scenario went on at once.
 */
async function ringWriting(node: RecordedNode, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  for (;;) {
    const names = await readdir(node.capture.hostDir).catch(() => [] as string[]);
    const sizes = await Promise.all(
      names
        .filter((name) => name.startsWith('ring.pcap'))
        .map((name) =>
          stat(join(node.capture.hostDir, name)).then(
            (s) => s.size,
            () => 0,
          ),
        ),
    );
    if (sizes.some((size) => size >= PCAP_HEADER_BYTES)) return;
    if (performance.now() >= deadline)
      throw new HuntError(
        ErrorCodes.CAPTURE_UNAVAILABLE,
        `${node.name} cannot capture: tcpdump wrote no ring file in ${ms / 1000} s (see the node's log). Run with --capture optional (or off) to go on without.`,
      );
    await sleep(50);
  }
}

/**
 * A recording flight recorder; dispose it to stop: windows still open are kept with what the ring
 * holds, then tcpdump stops and the ring files are removed (only the incident windows remain).
 */
export class StartedFlightRecorder implements AsyncDisposable {
  private readonly target: StartedTarget;
  private readonly nodes: RecordedNode[];
  private readonly options: { beforeMs: number; afterMs: number; secrets: boolean };
  private readonly sightings: Sighting[] = [];
  /** Windows still open, by their first incident; incidents of the same moment on a node share one. */
  private readonly pending = new Map<
    number,
    { timer: NodeJS.Timeout; keep: () => Promise<void>; node: string; from: number; incidents: number[] }
  >();
  private readonly running = new Set<Promise<void>>();
  /** Stops the readings (tshark's view of a kept window) when the run is interrupted. */
  private readonly readings = new AbortController();
  /** The window being read, if any: the next waits for it. */
  private reading: Promise<unknown> = Promise.resolve();
  private readonly unsubscribe: () => void;
  /** incident -> what was kept (or why not). */
  readonly kept = new Map<number, { files: string[] } | { error: string }>();

  constructor(
    target: StartedTarget,
    nodes: RecordedNode[],
    options: { beforeMs: number; afterMs: number; secrets: boolean },
  ) {
    this.target = target;
    this.nodes = nodes;
    this.options = options;
    for (const event of target.run.history.recent()) this.onEvent(event);
    this.unsubscribe = target.run.history.subscribe((event) => this.onEvent(event));
  }

  /**
   * Stops reacting; incidents whose window is still open are kept now with what there is. Once
   * `hurry` aborts (the run was interrupted: Ctrl-C must end it within seconds), also while the
   * windows still queued are being read, the rest are kept but not read: capture.txt says so, the
   * pcapng files are whole.
   */
  async stop(options: { hurry?: AbortSignal } = {}): Promise<void> {
    const hurry = () =>
      this.readings.abort(new Error('the run was interrupted; open capture.pcapng in Wireshark'));
    if (options.hurry?.aborted) hurry();
    else options.hurry?.addEventListener('abort', hurry, { once: true });
    try {
      this.unsubscribe();
      for (const [incident, { timer, keep }] of this.pending) {
        clearTimeout(timer);
        this.pending.delete(incident);
        this.track(keep());
      }
      await Promise.all(this.running);
      // What matters was kept in the incidents' folders; the ring files go.
      for (const node of this.nodes) await stopRing(node);
      this.target.run.history.record('capture', 'capture-stopped', { kept: this.kept.size });
    } finally {
      options.hurry?.removeEventListener('abort', hurry);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private onEvent(event: HistoryEvent): void {
    this.note(event);
    if (
      event.source !== 'incidents' ||
      event.type !== 'incident-opened' ||
      typeof event.incident !== 'number'
    )
      return;
    const incident = event.incident;
    const open = [...this.pending.values()];
    if (this.kept.has(incident) || open.some((window) => window.incidents.includes(incident))) return;
    const node = this.nodes.find((candidate) => candidate.name === event.node);
    if (!node) return;
    const window = incidentWindow(event.at, this.options.beforeMs, this.options.afterMs);
    // A freeze opens a stall, a silence and a queue growth on one node within a second or two:
    // one window for all of them, read once (three readings of the same minute outran the run).
    // It is the first incident's window: a later one's ends up to SHARE_MS early.
    const same = open.find(
      (other) => other.node === node.name && Math.abs(other.from - window.from) <= SHARE_MS,
    );
    if (same) {
      same.incidents.push(incident);
      return;
    }
    const incidents = [incident];
    const keep = () => this.keep(incidents, node, window);
    const timer = setTimeout(
      () => {
        this.pending.delete(incident);
        this.track(keep());
      },
      Math.max(0, window.to - Date.now()),
    );
    timer.unref();
    this.pending.set(incident, { timer, keep, node: node.name, from: window.from, incidents });
  }

  /** Remembers the connections events name (the target knows how), to cut an incident's out later. */
  private note(event: HistoryEvent): void {
    const seen = this.target.connectionIn(event);
    if (!seen) return;
    this.sightings.push({ ...seen, at: Date.parse(event.at) });
    if (this.sightings.length > MAX_SIGHTINGS) this.sightings.splice(0, MAX_SIGHTINGS / 10);
  }

  private track(work: Promise<void>): void {
    // keep() records its own failures; anything that still escapes (a full disk while making the
    // folder) must not crash the run: it is recorded here.
    const kept = work.catch((error: Error) =>
      this.target.run.history.record('capture', 'capture-failed', { error: error.message }),
    );
    const tracked = kept.then(() => undefined);
    this.running.add(tracked);
    void tracked.finally(() => this.running.delete(tracked));
  }

  private oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.reading.then(work);
    this.reading = turn.catch(() => undefined);
    return turn;
  }

  /** Keeps the window in the first incident's folder, and the same files in the others'. */
  private async keep(incidents: readonly number[], node: RecordedNode, window: Window): Promise<void> {
    const incident = incidents[0] as number;
    const folder = incidentFolder(this.target.run.dir, incident);
    await makeDirectory(folder);
    const work = await mkdtemp(join(folder, '.capture-'));
    const started = performance.now();
    try {
      const { windowed, segments } = await this.windowOf(node, window, work);
      // Reading a window is tshark passes of CPU: several at once on a small machine starve the
      // system under test, and the harness's own load, into stalls of their own. One at a time,
      // once the window is copied out of the ring (which goes on rotating meanwhile).
      await this.oneAtATime(async () => {
        // Interrupted: the window as the ring held it, without the cut or the embedded secrets
        // (a tshark pass each), so that Ctrl-C ends the run within seconds.
        const hurried = this.readings.signal.aborted;
        const involved = this.sightings.filter(
          (s) => s.node === node.name && s.at >= window.from && s.at <= window.to,
        );
        const filter = hurried ? undefined : connectionFilter(involved);
        const cutFile = join(work, 'capture.plain.pcapng');
        // A filter tshark refuses must not cost the window: the cut is then the whole of it.
        const cutBy =
          filter &&
          (await cut(windowed, filter, cutFile).then(
            () => filter,
            () => undefined,
          ));
        // A cut that holds every packet of the window (the incident involved every connection, or
        // there was no cut) is the window: one file, not two identical ones.
        const whole = !cutBy || (await sameCount(windowed, cutFile));
        if (!cutBy) await copyFile(windowed, cutFile);
        const keylogs = this.options.secrets && !hurried ? await this.keylogFiles() : [];
        const outputs: Array<[string, string]> = whole
          ? [[cutFile, 'capture.pcapng']]
          : [
              [windowed, 'window.pcapng'],
              [cutFile, 'capture.pcapng'],
            ];
        for (const [plain, name] of outputs)
          await rename(await withSecrets(plain, keylogs, join(work, name)), join(folder, name));
        // The pcapng files are the evidence; what tshark says of them is a reading aid, so a reading
        // that fails (a window of 17,000 packets of context swaps decodes to more than its buffer)
        // says so in capture.txt and keeps the files.
        const captureFile = join(folder, 'capture.pcapng');
        // An interrupted run does not wait for readings: its tools are stopped, the files stay.
        const reading = (work: () => Promise<string>) =>
          withToolSignal(this.readings.signal, work).catch(
            (error: Error) => `(not read: ${error.message.split('\n')[0]})\n`,
          );
        const summary = await reading(() => summarize(captureFile));
        const headList = await withToolSignal(this.readings.signal, () =>
          handshakeHeadsIn(captureFile),
        ).catch(() => undefined);
        const heads = headList ? bounded(headsListing(headList.heads)) + unreadNote(headList) : '(not read)';
        const verdict = await reading(() =>
          alertsIn(captureFile).then((alerts) =>
            handshakeVerdict(headList?.heads ?? [], alerts, portsOf(node.capture.filter)),
          ),
        );
        const traffic = await reading(() => trafficPerSecond(captureFile));
        // The verdict first (what a maintainer asks), then the messages, the traffic, tshark's view;
        // the cut's filter last: it can run to thousands of characters.
        await writeFile(
          join(work, 'capture.txt'),
          `What failed (read off the packets of ${cutBy ? "the incident's connections" : 'the window'}):\n${verdict}\n` +
            `Handshake messages by their headers, declared lengths (incomplete ones too: a refused message never crosses whole):\n${heads}\n\n` +
            `Connections per second (seconds from the window's start):\n${traffic}\n` +
            `What tshark shows (complete messages, alerts, resets):\n${summary}` +
            `${cutBy && whole ? "\nEvery connection in the window is the incident's: capture.pcapng is the whole window (no window.pcapng).\n" : ''}` +
            `${hurried ? '\nThe run was interrupted: capture.pcapng is the whole window, its TLS secrets not embedded (the key logs are in the run folder, keys/).\n' : ''}` +
            `${!filter && !hurried ? '\nNo event named the connections of the incident: capture.pcapng is the whole window.\n' : ''}` +
            `${cutBy && !whole ? `\nThe incident's connections, as cut from window.pcapng (tshark -Y):\n${cutBy}\n` : ''}` +
            `${filter && !cutBy ? `\ntshark refused the cut's filter; capture.pcapng is the whole window:\n${filter}\n` : ''}` +
            `${incidents.length > 1 ? `\nOne window for incidents ${incidents.join(', ')} (opened within ${SHARE_MS / 1000} s of each other on ${node.name}): the same files in each folder.\n` : ''}`,
        );
        await rename(join(work, 'capture.txt'), join(folder, 'capture.txt'));
        const files = whole
          ? ['capture.pcapng', 'capture.txt']
          : ['capture.pcapng', 'window.pcapng', 'capture.txt'];
        const bytes = (await Promise.all(files.map((name) => stat(join(folder, name))))).reduce(
          (sum, s) => sum + s.size,
          0,
        );
        for (const [index, each] of incidents.entries()) {
          if (index > 0) {
            const shared = await shareFiles(folder, incidentFolder(this.target.run.dir, each), files).then(
              () => undefined,
              (error: Error) => error.message,
            );
            if (shared !== undefined) {
              this.kept.set(each, { error: shared });
              this.target.run.history.record('capture', 'capture-failed', {
                incident: each,
                node: node.name,
                error: shared,
              });
              continue;
            }
          }
          this.kept.set(each, { files });
          this.target.run.history.record('capture', 'capture-kept', {
            incident: each,
            node: node.name,
            files,
            // The bytes are on disk once: counted with the window's first incident.
            bytes: index === 0 ? bytes : 0,
            segments,
            filter,
            from: new Date(window.from).toISOString(),
            to: new Date(window.to).toISOString(),
            ms: Math.round(performance.now() - started),
            ...(index > 0 ? { sharedWith: incident } : {}),
          });
          this.target.run.history.record('capture', 'incident-evidence', { incident: each, files });
        }
      });
    } catch (error) {
      const message = (error as Error).message;
      for (const each of incidents) {
        this.kept.set(each, { error: message });
        this.target.run.history.record('capture', 'capture-failed', {
          incident: each,
          node: node.name,
          error: message,
        });
      }
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /**
   * The handshake messages (by their headers, decrypted where the key logs allow) of one node's
   * capture over a window: what a scenario measures (message sizes per certificate hierarchy).
   */
  async handshakeMessages(nodeName: string, window: Window): Promise<HandshakeHead[]> {
    const node = this.nodes.find((candidate) => candidate.name === nodeName);
    if (!node) throw new HuntError(ErrorCodes.USAGE, `No capture of ${nodeName}: it is not a recorded node.`);
    const work = await mkdtemp(join(this.target.run.dir, '.measure-'));
    try {
      const { windowed } = await this.windowOf(node, window, work);
      const keylogs = this.options.secrets ? await this.keylogFiles() : [];
      const read = await handshakeHeadsIn(await withSecrets(windowed, keylogs, join(work, 'measure.pcapng')));
      return read.heads;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** The node's ring over the window, merged into one file in `work` (copies first: tcpdump rotates). */
  private async windowOf(
    node: RecordedNode,
    window: Window,
    work: string,
  ): Promise<{ windowed: string; segments: number }> {
    const ringDir = node.capture.hostDir;
    const ring = (await readdir(ringDir))
      .filter((name) => name.startsWith('ring.pcap'))
      .map((name) => join(ringDir, name));
    const chosen = segmentsFor(await describeSegments(ring), window);
    if (chosen.length === 0)
      throw new HuntError(ErrorCodes.CAPTURE_TOOL, `no packets of ${node.name} in the window`);
    const copies: string[] = [];
    for (const [index, segment] of chosen.entries()) {
      const copy = join(work, `segment-${index}.pcap`);
      await copyFile(segment.path, copy);
      copies.push(copy);
    }
    const windowed = join(work, 'window.plain.pcapng');
    await mergeWindow(copies, window.from, window.to, windowed);
    return { windowed, segments: chosen.length };
  }

  /** Every key log of the run: the swarm's and each node's (icinga2's own sessions). */
  private async keylogFiles(): Promise<string[]> {
    const files: string[] = [];
    for (const dir of [this.target.run.path(RunLayout.keys), this.target.run.path(RunLayout.nodeKeys)]) {
      const names = await readdir(dir).catch(() => [] as string[]);
      // Each key log, then its old generation (whether listed or not): a rotation between the
      // two reads moves lines from the one read first to the one read next, never past both.
      for (const name of names.filter((n) => n.endsWith('.keylog')).sort())
        files.push(join(dir, name), join(dir, `${name}.1`));
    }
    return files;
  }
}

/** `plain` with the secrets of its sessions embedded (pcapng DSB), written to `out`; `out` it is. */
async function withSecrets(plain: string, keylogs: readonly string[], out: string): Promise<string> {
  const lines = keylogs.length > 0 ? await secretsIn(keylogs, await clientRandoms(plain)) : [];
  if (lines.length === 0) {
    await copyFile(plain, out);
    return out;
  }
  const secretsFile = `${out}.keys`;
  await writeFile(secretsFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  await injectSecrets(plain, secretsFile, out);
  return out;
}

/** The key-log lines of these sessions, read line by line (key logs run to hundreds of MB). */
async function secretsIn(paths: readonly string[], randoms: ReadonlySet<string>): Promise<string[]> {
  const lines: string[] = [];
  for (const path of paths) {
    const input = createReadStream(path, 'utf8');
    try {
      for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY }))
        lines.push(...secretsFor(line, randoms));
    } catch (error) {
      // No old generation yet, or the name is between its rotation's two steps: nothing to read.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return lines;
}

/** The TCP ports of a capture filter (`tcp port 5665`): the node's own, where it is the server. */
function portsOf(filter: string): number[] {
  return [...filter.matchAll(/port (\d+)/g)].map((match) => Number(match[1]));
}

/** Whether a cut kept every packet of its source (where a count fails: no, keep both files). */
async function sameCount(source: string, cutFile: string): Promise<boolean> {
  const [all, kept] = await Promise.all([packetCount(source), packetCount(cutFile)]).catch(() => [0, -1]);
  return all === kept;
}

/** Incidents opened this close together on one node share their capture window. */
const SHARE_MS = 5_000;

/** The kept files, in another incident's folder too: hard links where the disk allows (no second copy). */
async function shareFiles(from: string, to: string, files: readonly string[]): Promise<void> {
  await makeDirectory(to);
  for (const name of files) {
    await rm(join(to, name), { force: true });
    await link(join(from, name), join(to, name)).catch(() => copyFile(join(from, name), join(to, name)));
  }
}
