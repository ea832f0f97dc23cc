import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFile, rename, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { ErrorCodes, HuntError } from '../errors.ts';

/** One journal entry as `journalctl --output json` gives it (a field may be a byte array). */
export type JournalEntry = Record<string, string | number[] | null | undefined>;

/** A field's text: journalctl gives fields that are not valid UTF-8 as arrays of bytes. */
export function journalField(entry: JournalEntry, name: string): string | undefined {
  const value = entry[name];
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return Buffer.from(value).toString('utf8');
  return undefined;
}

/** The follower's file is started afresh past this (one old generation kept): a watch runs for days. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;
/** An entry longer than this is not a log line (a core dump's fields): skipped. */
const MAX_ENTRY_CHARS = 1024 * 1024;
/** How long the check may wait on journalctl. */
const CHECK_TIMEOUT_MS = 20_000;
/** How long a stopped journalctl has to go before it is killed. */
const STOP_GRACE_MS = 3_000;
/** A journalctl that ended by itself is started again after this, doubling to RESTART_MAX_MS. */
const RESTART_FIRST_MS = 1_000;
const RESTART_MAX_MS = 30_000;

export interface JournalSource {
  /** The file system the journal is under: a process's root (/proc/PID/root), or /. */
  root: string;
  /** The systemd unit whose entries are followed (journalctl --unit). */
  unit: string;
}

/**
 * --journal checked before anything starts: journalctl must be on this host, and the journal
 * under `root` must hold entries of the unit's own processes. HH_USAGE otherwise.
 */
export async function checkJournal(source: JournalSource): Promise<void> {
  const output = await new Promise<string>((resolve, reject) => {
    execFile(
      'journalctl',
      [...journalArgs(source), `_SYSTEMD_UNIT=${source.unit}`, '--lines', '1', '--quiet'],
      { timeout: CHECK_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT')
          reject(
            new HuntError(
              ErrorCodes.USAGE,
              'journalctl is not on this host: --journal reads the journal with it (Debian: apt-get install systemd). Or follow the main log with --log.',
            ),
          );
        else if (error)
          reject(
            new HuntError(
              ErrorCodes.USAGE,
              `journalctl cannot read the journal under ${source.root}: ${(stderr || error.message).trim().split('\n')[0]}`,
            ),
          );
        else resolve(stdout);
      },
    );
  });
  if (output.trim() === '')
    throw new HuntError(
      ErrorCodes.USAGE,
      `The journal under ${source.root} holds nothing the unit ${source.unit} logged. Name the daemon's unit (systemctl status <pid>), ` +
        'have the daemon log to the journal (its syslog feature; journald from 2.14), or follow its main log with --log.',
    );
}

/**
 * Follows a unit's journal entries into a file, one line each, so the ordinary LogTail (and every
 * reader of node logs) reads a journal as it reads a log file: `journalctl --follow` from now on,
 * under `setpriv --pdeathsig KILL` so it dies with the harness. Each entry becomes a line through
 * `format` (the system knows its own line shape). A new root (the daemon restarted into a new
 * mount namespace) restarts journalctl after the last entry read (its cursor; before the first
 * entry, from when the follower started). A journalctl that ends by itself (an unreadable
 * journal, a missing tool) is reported through `onEnded` and started again from there, at most
 * every 30 s. The file starts afresh past 64 MiB, the last one kept as <file>.1.
 */
export class JournalFollower {
  private readonly file: string;
  private readonly format: (entry: JournalEntry) => string | undefined;
  private readonly onEnded: (why: string) => void;
  private readonly startedAt = Date.now();
  private source: JournalSource;
  private child: ChildProcess | undefined;
  private cursor: string | undefined;
  /** A journalctl ran before: the next one starts where that left off, not from now. */
  private restarted = false;
  private restartMs = RESTART_FIRST_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private bytes = 0;
  private stopped = false;

  private constructor(
    source: JournalSource,
    file: string,
    format: (entry: JournalEntry) => string | undefined,
    onEnded: (why: string) => void,
  ) {
    this.source = source;
    this.file = file;
    this.format = format;
    this.onEnded = onEnded;
  }

  static async start(
    source: JournalSource,
    file: string,
    format: (entry: JournalEntry) => string | undefined,
    onEnded: (why: string) => void = () => {},
  ): Promise<JournalFollower> {
    const follower = new JournalFollower(source, file, format, onEnded);
    await appendFile(file, '');
    follower.bytes = (await stat(file)).size;
    follower.spawn();
    return follower;
  }

  /** Follow on under a new root (a restarted daemon's), from the entry after the last one read. */
  async repoint(root: string): Promise<void> {
    if (this.stopped || root === this.source.root) return;
    this.source = { ...this.source, root };
    await this.end();
    if (!this.stopped) this.spawn();
  }

  /** Stops journalctl; what it wrote is in the file. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.end();
    await this.writing;
  }

  private spawn(): void {
    clearTimeout(this.restartTimer);
    const from =
      this.cursor !== undefined
        ? ['--after-cursor', this.cursor]
        : this.restarted
          ? ['--since', `@${Math.floor(this.startedAt / 1000)}`]
          : ['--lines', '0'];
    this.restarted = true;
    const args = [
      ...journalArgs(this.source),
      '--unit',
      this.source.unit,
      '--follow',
      '--output',
      'json',
      ...from,
    ];
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'journalctl', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr = (stderr + text).slice(-2_000);
    });
    child.on('error', (error) => {
      stderr ||= error.message;
    });
    child.on('close', (code, signal) => {
      if (this.child !== child || this.stopped) return;
      // Ended by itself: said, and started again from where it was, later each time.
      this.child = undefined;
      const why = stderr.trim().split('\n').at(-1) ?? '';
      this.onEnded(`journalctl ended (${signal ?? `exit ${code}`})${why ? `: ${why}` : ''}`);
      this.restartTimer = setTimeout(() => {
        if (!this.stopped && !this.child) this.spawn();
      }, this.restartMs);
      this.restartTimer.unref();
      this.restartMs = Math.min(RESTART_MAX_MS, this.restartMs * 2);
    });
    const lines = createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on('line', (json) => {
      if (json.length > MAX_ENTRY_CHARS) return;
      let entry: JournalEntry;
      try {
        entry = JSON.parse(json) as JournalEntry;
      } catch {
        return;
      }
      this.cursor = journalField(entry, '__CURSOR') ?? this.cursor;
      this.restartMs = RESTART_FIRST_MS;
      const text = this.format(entry);
      if (text !== undefined) this.append(`${text.replace(/\n/g, ' ')}\n`);
    });
  }

  private append(text: string): void {
    this.writing = this.writing
      .then(async () => {
        if (this.bytes + text.length > MAX_FILE_BYTES) {
          await rename(this.file, `${this.file}.1`);
          this.bytes = 0;
        }
        await appendFile(this.file, text);
        this.bytes += Buffer.byteLength(text);
      })
      .catch(() => undefined);
  }

  private async end(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    // 'close', not 'exit': the entries still in its pipe are read (and the cursor with them) first.
    const closed = once(child, 'close');
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await closed.finally(() => clearTimeout(killer));
  }
}

/** Where journalctl reads: the journal files below a root other than ours, else the system's. */
function journalArgs(source: JournalSource): string[] {
  return ['--no-pager', ...(source.root === '/' ? [] : ['--root', source.root])];
}
