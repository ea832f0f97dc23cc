import type Docker from 'dockerode';
import type { Progress } from '../progress.ts';
import type { ChaosProxy } from '../proxy/chaos-proxy.ts';
import type { RunSummary } from '../report/summary.ts';
import type { HistoryEvent } from '../run/history.ts';
import type { Run } from '../run/run.ts';
import type { StepFigures } from '../run/steps.ts';
import type { Detector } from './detector.ts';
import type { LogTail } from './log-tail.ts';

/**
 * The seam between the machinery (runner, flight recorder, observers, reports) and a system
 * under test (the Icinga stack; stunnel in front of a web server). The machinery
 * knows these types only; each system's room implements them, and only scenarios, the CLI's
 * list of systems and the room's own tests import a room. Jepsen's shape: a small core every
 * system has, and capabilities (pause, limitCpu, kill on a node) that some have.
 */

export interface ExecOutput {
  exitCode: number;
  /** stdout and stderr together, as the command wrote them. */
  output: string;
}

/** What the flight recorder records of a node, inside the node's own network namespace. */
export interface CaptureSpec {
  /** A tcpdump (BPF) filter: `tcp port 5665`. */
  filter: string;
  /** The ring's folder inside the node (bind-mounted). */
  nodeDir: string;
  /** The same folder in the run folder. */
  hostDir: string;
}

/** One node of a started system: a container the harness started and will remove. */
export interface TargetNode {
  readonly name: string;
  /** What it is in its system: 'master', 'agent', 'stunnel', 'backend', ... */
  readonly role: string;
  /** Its address on the run's network. */
  readonly address: string;
  /** Its main program's name, as `ps -C` finds it (a supervisor and its workers share it). */
  readonly program?: string;
  /** Its main log, followed from the run folder (with the system's timestamp parser). */
  readonly log: LogTail;
  /** What the flight recorder may record of it; undefined: nothing. */
  readonly capture: CaptureSpec | undefined;
  exec(command: string[]): Promise<ExecOutput>;
  /** Starts a command in the node and returns at once; it ends with the node. */
  startBackground(command: string[]): Promise<void>;
  /**
   * Capability: ends what startBackground started. A node the harness did not start (a host
   * process) has it: nothing else in its namespace is the harness's to stop.
   */
  stopBackground?(): Promise<void>;
  isRunning(): Promise<boolean>;
  /** Capability: freeze every process of the node, and thaw it (the cgroup freezer). */
  pause?(): Promise<void>;
  unpause?(): Promise<void>;
  /** Capability: hold the node to this many cores (0.05: a twentieth); undefined lifts the limit. */
  limitCpu?(cores: number | undefined): Promise<void>;
  /** Capability: send a signal to the node's main process (SIGHUP: reload its configuration). */
  kill?(signal: string): Promise<void>;
}

/** A connection an event names: the node that saw it, the peer's port and address where known. */
export interface ConnectionSighting {
  node: string;
  port?: number;
  address?: string;
}

/** A started system under test. Dispose it (or stop()) to remove every container it started. */
export interface StartedTarget extends AsyncDisposable {
  /** The system's name: 'icinga', 'stunnel'. */
  readonly system: string;
  readonly run: Run;
  readonly nodes: readonly TargetNode[];
  /** The nodes watched unless a scenario says otherwise (logs read, captures recorded). */
  readonly watched: readonly TargetNode[];
  node(name: string): TargetNode;
  /**
   * The clients the harness runs against it, for the status line: connected of total, and what
   * they are, plural (simulated peers, a load's pooled connections).
   */
  clients(): { connected: number; total: number; label: string };
  /** The connection an event names, so a capture can be cut to an incident's connections. */
  connectionIn(event: HistoryEvent): ConnectionSighting | undefined;
  /**
   * Capability: cut every simulated client's connection to the node and dial again at once, all
   * together (a reconnect burst). Returns how many connections it cut.
   */
  reconnectClients?(node: string): number;
  /** Capability: the chaos proxy in front of a node, where the target put one. */
  proxyFor?(node: string): ChaosProxy | undefined;
  stop(): Promise<unknown>;
}

/** Builds a system in a run; `signal` interrupts the set-up (what was started is removed). */
export interface TargetBuilder<Started extends StartedTarget = StartedTarget> {
  /**
   * Log the system's own TLS secrets (a key-log shim) for the captures, rotating at `maxBytes`
   * with one old generation kept; the runner sets it from --no-secrets and the disk budget.
   */
  withTlsSecrets(enabled: boolean, options?: { maxBytes?: number }): this;
  start(run: Run, progress?: Progress, signal?: AbortSignal): Promise<Started>;
}

/** Which build of a system a run is for: a catalogue version, or an image the user names. */
export type TargetSelection = { version: string } | { image: string };

/** What watches a started target (log lines, workers, resources, reactions); the runner stops it. */
export interface TargetObserver {
  stop(): Promise<void>;
}

/** One catalogue version's image, built now or reused because its inputs did not change. */
export interface ImageBuild {
  version: string;
  tag: string;
  imageId: string;
  status: 'built' | 'cached';
  seconds: number;
  /** How it was made, where not from the recipe's packages: `source git <commit>`. */
  builtFrom?: string;
  /** A compile's own figures (a source build): its seconds and the compiler cache's hits. */
  compile?: { seconds: number; cacheHits: number; cacheMisses: number };
}

/** One image of a system, as its own binaries report it (not as its tag says). */
export interface ImageListing {
  system: string;
  tag: string;
  imageId: string;
  sizeBytes: number;
  created: string;
  /** The version the catalogue built it for (its label), if it is a catalogue image. */
  catalogueVersion: string | undefined;
  /** The version its binary reports; undefined where the banner could not be read. */
  version: string | undefined;
  /** The first line of the binary's version output. */
  banner: string;
  /** The OpenSSL the image ships, where it says. */
  openssl: string | undefined;
  /** How it was made: `packages`, or `source git <commit>`. */
  builtFrom: string;
}

/** A user-named image checked to run the system: what its binary reports. */
export interface CheckedImage {
  reference: string;
  version: string;
  openssl: string | undefined;
  /** The image runs use for it, where the system layers its tools on (else the image itself). */
  runsAs?: string;
}

/** A system's images: one per catalogue version, built offline from its recipe (or reused). */
export interface SystemImages {
  tag(version: string): string;
  /** A comma-separated list of versions (the --<system> option); every one is checked first. */
  parseVersions(value: string, options?: { source?: string }): string[];
  build(
    docker: Docker,
    version: string,
    progress: Progress,
    options?: { noCache?: boolean; signal?: AbortSignal; source?: string },
  ): Promise<ImageBuild>;
  /**
   * Capability: build versions from the system's own source (`--source DIR`, a checkout of its
   * repository); the help line says what DIR is.
   */
  readonly fromSource?: {
    help: string;
    /** Checks that DIR holds the version's source (before the engine is touched): HH_USAGE or HH_VERSION_UNKNOWN. */
    check(dir: string, version: string): Promise<void>;
  };
  /** Every image of this system the harness built. */
  list(docker: Docker): Promise<ImageListing[]>;
  /** Capability: the build caches it keeps between builds (a compiler cache), with their sizes. */
  caches?(docker: Docker): Promise<Array<{ name: string; sizeBytes: number; holds: string }>>;
  /** Where the system takes user-named images: checks that one runs it (pulling it if it can). */
  check?(docker: Docker, reference: string, progress: Progress): Promise<CheckedImage>;
}

/** What `hunt watch` found of an instance running on this host: one node, and the system it is. */
export interface FoundInstance {
  /** Its node's name in the watch. */
  node: string;
  /** What was found (process, version, log, port, addresses): run.json and --dry-run --json. */
  description: Record<string, unknown>;
  /** The same for a person, a few lines. */
  lines: string[];
  /** What its capture ring records (`tcp port 5665 in its network namespace`). */
  captures: string;
  /** Whether the instance's own TLS secrets reach the run (the user opted in): captures embed them. */
  secrets?: boolean;
  /** The system as this one instance: its version as it reports it, a builder that watches it. */
  system: SystemUnderTest;
}

/**
 * Capability: watch an instance of the system that runs on this host and that the harness did
 * not start (`hunt watch`): the user's own, where the field failure lives.
 */
export interface SystemWatch {
  /** Its options (node:util parseArgs form), and their help lines. */
  options: Record<string, { type: 'string' | 'boolean' }>;
  help: string;
  /** Finds the instance; HH_USAGE (exit 2, nothing started) where it cannot. */
  find(values: Record<string, unknown>): Promise<FoundInstance>;
}

/**
 * A system under test as the runner and the CLI see it: its name, the option that picks its
 * version (`--icinga`), its catalogue, a builder for a selection, and how to observe a started
 * one. A scenario names its system; the runner knows nothing else about it.
 */
export interface SystemUnderTest<
  Builder extends TargetBuilder = TargetBuilder,
  ObserveOptions extends object = object,
> {
  /** 'icinga': also the version option's name (--icinga). */
  readonly name: string;
  readonly versions: readonly string[];
  readonly defaultVersion: string;
  readonly images: SystemImages;
  /** Its detectors: a run of it uses these unless it names others (--detectors). */
  readonly detectors: readonly Detector[];
  /** Whether a user-named image (--image) can be the system (default true). */
  readonly takesImages?: boolean;
  /** What one step of its scenarios is, plural (`reloads`, `episodes`): --steps counts these. */
  readonly stepUnit: string;
  /**
   * Which of its history's events begin and end one step: the status line's count, rate and
   * ETA, and the steps an `eachStep` expectation judges one by one. It decides by the event's
   * source and type alone (the history keeps those events whatever its budget). A system whose
   * steps leave no events of their own leaves it out; its status line shows its clients and
   * incidents.
   */
  stepOf?(event: HistoryEvent): 'begun' | 'done' | undefined;
  /**
   * Capability: each step's figures as its history tells them (its node, whether it did its job,
   * its phases' times), which the report and the matrix count and time in `stepUnit`.
   */
  readonly stepFigures?: StepFigures;
  /**
   * Its events a nemesis may be timed after (`schedule.after`), each with what it marks. Each
   * names its node in `node`. A system without any has faults timed by the clock or the seed only.
   */
  readonly anchors?: Readonly<Record<string, string>>;
  /**
   * Its events that come by the hundred per step ("source:type"): the history writes them within
   * a smaller budget, so an overnight run's file keeps room for what reports are made of.
   */
  readonly routineEvents?: readonly string[];
  /**
   * Throws HH_VERSION_UNKNOWN (exit 2) for a version it cannot run: not in the catalogue (and,
   * where the system builds from source, without an image compiled for it).
   */
  checkVersion(version: string): void | Promise<void>;
  builder(selection: TargetSelection): Builder;
  /** Capability: watch an instance the harness did not start (hunt watch). */
  readonly watch?: SystemWatch;
  /** Starts the system's recorders and reactors on a started target (the runner does, at start). */
  observe(target: StartedOf<Builder>, options: ObserveOptions): TargetObserver;
  /** Its parts of a run's report.md, in its words (a system without any leaves it out). */
  reportSections?(summary: RunSummary): ReportSections;
}

/** A system's parts of report.md: each a list of Markdown lines, empty where it has nothing to say. */
export interface ReportSections {
  /** Its versions, after the image or the watched process: "Icinga 2.13.6, OpenSSL 3.0.20". */
  versions?: string;
  /** Bullets under "What ran": what its steps did. */
  whatRan: string[];
  /** Sections after the expectations: its step figures. */
  sections: string[];
}

/** What a report needs of a system to read its run folders. */
export type ReportedSystem = Pick<
  SystemUnderTest,
  'name' | 'detectors' | 'reportSections' | 'stepUnit' | 'stepFigures'
>;

/** The started handle a builder gives. */
export type StartedOf<Builder> = Builder extends TargetBuilder<infer Started> ? Started : never;
