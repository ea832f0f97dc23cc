import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCodes, HuntError } from '../errors.ts';
import { writeFileAtomic } from '../fs-atomic.ts';
import { projectRoot, resultsDir } from '../paths.ts';
import { derivedRandom, type Random } from '../random.ts';
import { History, type HistoryOptions } from './history.ts';
import { KeylogFile } from './keylog-file.ts';
import { RunLayout } from './layout.ts';
import type { ManifestSection, RunManifest, RunOutcome } from './manifest.ts';

export type { RunManifest, RunOutcome } from './manifest.ts';

import { createRunFolder } from './run-folder.ts';

export interface RunOptions {
  /** Becomes part of the folder name (the scenario's name, a test's name). */
  name: string;
  /** The scenario and its parameters, as `hunt run --replay` needs them. */
  scenario?: string;
  params?: Record<string, unknown>;
  /** Every random choice of the run derives from it (default: a random one, recorded). */
  seed?: number;
  /** Where the run folder goes (default HH_RESULTS_DIR or <project>/results). */
  resultsDir?: string;
  /** The command line that started the run, for the report's "reproduce" section. */
  command?: string[];
  history?: HistoryOptions;
  /** Each key log's size before it rotates (default 128 MiB; one old generation is kept). */
  keylogBytes?: number;
}

export const RUN_FILE = RunLayout.manifest;
export const HISTORY_FILE = RunLayout.history;

/**
 * One run: its folder under results/, its seed and the randoms derived from it, run.json and the
 * history. Created first and handed to everything else (stack, swarm, proxy, storm, observers);
 * nothing else opens a history or writes run.json. Parts add what they know with describe().
 *
 *   await using run = await Run.create({ name: 'canary', seed: 7 });
 */
export class Run implements AsyncDisposable {
  readonly id: string;
  readonly dir: string;
  readonly seed: number;
  readonly history: History;
  private readonly metadata: RunManifest;
  private readonly keylogs = new Map<string, KeylogFile>();
  private writes: Promise<void> = Promise.resolve();
  private keylogBytes: number | undefined;
  private readonly writeErrorListeners = new Set<(error: Error) => void>();
  private outcome: RunOutcome | undefined;

  private constructor(id: string, dir: string, seed: number, history: History, metadata: RunManifest) {
    this.id = id;
    this.dir = dir;
    this.seed = seed;
    this.history = history;
    this.metadata = metadata;
  }

  static async create(options: RunOptions): Promise<Run> {
    const seed = options.seed ?? randomInt(1, 2 ** 31 - 1);
    if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 31)
      throw new HuntError(ErrorCodes.USAGE, `A seed is an integer from 0 to 2147483647, not ${seed}.`);
    const root = options.resultsDir ?? resultsDir();
    const folder = await createRunFolder(options.name, root).catch((error: NodeJS.ErrnoException) => {
      throw new HuntError(
        ErrorCodes.RESULTS_UNWRITABLE,
        `Cannot create a run folder in ${root} (${error.code ?? error.message}): choose a writable folder with --results or HH_RESULTS_DIR.`,
        { cause: error },
      );
    });
    const history = await History.open(join(folder.dir, HISTORY_FILE), options.history);
    const metadata: RunManifest = {
      id: folder.id,
      scenario: options.scenario ?? options.name,
      params: options.params ?? {},
      seed,
      command: options.command,
      harness: await harnessVersion(),
      host: hostFacts(),
      startedAt: new Date().toISOString(),
      endedAt: null,
      outcome: null,
      complete: false,
    };
    const run = new Run(folder.id, folder.dir, seed, history, metadata);
    history.onWriteError((error) => run.writeFailed(error));
    run.keylogBytes = options.keylogBytes;
    await run.save();
    return run;
  }

  /** A generator for one part of the run (`run.random('storm')`): the same seed and part, the same draws. */
  random(part: string): Random {
    return derivedRandom(this.seed, part);
  }

  /** An integer seed for one part, for components that take a seed number (swarm, proxy). */
  seedFor(part: string): number {
    return Math.floor(this.random(part)() * 2 ** 31);
  }

  /** A path inside the run folder. */
  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  /** Adds or replaces one section of run.json (`target`, `stack`, ...) and rewrites it atomically. */
  async describe<Section extends ManifestSection>(
    section: Section,
    value: RunManifest[Section],
  ): Promise<void> {
    this.metadata[section] = value;
    await this.save();
  }

  /** A TLS key-log file under keys/ (SSLKEYLOGFILE format), closed when the run finishes. */
  keylog(name: string): KeylogFile {
    let file = this.keylogs.get(name);
    if (!file) {
      file = new KeylogFile(this.path(RunLayout.keylog(name)), this.keylogBytes, (error) =>
        this.writeFailed(error),
      );
      this.keylogs.set(name, file);
    }
    return file;
  }

  /**
   * Hears every write error of the run's own files (history, key logs), which are streams with
   * nobody awaiting them: the runner stops the run on a full disk instead of crashing.
   */
  onWriteError(listener: (error: Error) => void): void {
    this.writeErrorListeners.add(listener);
  }

  private writeFailed(error: Error): void {
    for (const listener of this.writeErrorListeners) listener(error);
  }

  get finished(): boolean {
    return this.outcome !== undefined;
  }

  /** Records how the run ended, closes the history and key logs, writes run.json a last time. */
  async finish(outcome: RunOutcome): Promise<void> {
    if (this.outcome) return;
    this.outcome = outcome;
    this.history.record('run', 'run-finished', { ...outcome });
    await this.history.close();
    for (const file of this.keylogs.values()) await file.close();
    this.metadata.endedAt = new Date().toISOString();
    this.metadata.outcome = outcome;
    this.metadata.complete = outcome.complete;
    await this.save();
  }

  /** Disposed without finish(): the run broke off, and run.json says it is incomplete. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.finish({ status: 'error', exitCode: 3, complete: false, summary: 'the run broke off' });
  }

  private save(): Promise<void> {
    const text = `${JSON.stringify(this.metadata, null, 2)}\n`;
    this.writes = this.writes.then(() => writeFileAtomic(this.path(RUN_FILE), text));
    return this.writes;
  }
}

let cachedVersion: Promise<Record<string, string>> | undefined;

/** The harness's package version and git commit (with "-dirty" for uncommitted changes). */
function harnessVersion(): Promise<Record<string, string>> {
  cachedVersion ??= (async () => {
    const pkg = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as { version: string };
    const git = await promisify(execFile)('git', ['-C', projectRoot, 'describe', '--always', '--dirty'], {
      timeout: 5000,
    }).then(
      (result) => result.stdout.trim(),
      () => 'unknown',
    );
    return { version: pkg.version, commit: git };
  })();
  return cachedVersion;
}

function hostFacts(): RunManifest['host'] {
  return {
    kernel: release(),
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}
