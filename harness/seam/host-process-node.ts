import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readHostProcess } from './host-process.ts';
import type { LogTail } from './log-tail.ts';
import type { CaptureSpec, ExecOutput, TargetNode } from './target.ts';

/** Longest a command run in the node's namespace may take. */
const EXEC_TIMEOUT_MS = 60_000;
/** Most output kept of one such command. */
const EXEC_MAX_BYTES = 1024 * 1024;
/** How long a background helper gets to end on SIGINT before it is killed. */
const STOP_GRACE_MS = 3_000;

export interface HostProcessNodeInit {
  name: string;
  role: string;
  /** The process the node is: its network namespace is where commands and captures run. */
  pid: number;
  /** Its start time (/proc's startTicks): a reused pid is not the node. */
  startTicks: number;
  /** Its network namespace (readlink of /proc/PID/ns/net), to tell when a restart moved it. */
  netns?: string;
  address: string;
  log: LogTail;
  capture?: CaptureSpec;
}

/**
 * A node that is a process on this host which the harness did not start: a user's daemon,
 * installed on the host or in a container someone else runs (`hunt watch`). Commands and
 * captures run with the host's own tools inside the process's network namespace (nsenter), so
 * the same node serves both. The harness never signals, stops, pauses or limits it (it has none
 * of those capabilities): what it starts
 * beside it (a capture's tcpdump) is its own, ends with stop() and dies with the harness
 * (`--pdeathsig`), even when the harness is killed.
 */
export class HostProcessNode implements TargetNode {
  readonly name: string;
  readonly role: string;
  readonly address: string;
  readonly log: LogTail;
  readonly capture: CaptureSpec | undefined;
  private process: { pid: number; startTicks: number; netns: string | undefined };
  /** What the harness started beside it, and the command of each (to start again after a move). */
  private readonly helpers = new Map<ChildProcess, string[]>();
  private stopped = false;

  constructor(init: HostProcessNodeInit) {
    this.name = init.name;
    this.role = init.role;
    this.address = init.address;
    this.log = init.log;
    this.capture = init.capture;
    this.process = { pid: init.pid, startTicks: init.startTicks, netns: init.netns };
  }

  get pid(): number {
    return this.process.pid;
  }

  /**
   * The daemon was restarted: the node is now this process. In a new network namespace (a
   * container started again) the helpers' old one holds nothing more: they start over in the new.
   */
  async follow(pid: number, startTicks: number, netns?: string): Promise<void> {
    const moved = netns !== this.process.netns;
    this.process = { pid, startTicks, netns };
    if (!moved || this.stopped) return;
    const commands = [...this.helpers.values()];
    await this.stopBackground();
    for (const command of commands) await this.startBackground(command);
  }

  /** Runs a host command inside the process's network namespace. */
  exec(command: string[]): Promise<ExecOutput> {
    return new Promise((resolve) => {
      execFile(
        'nsenter',
        [`--net=/proc/${this.pid}/ns/net`, '--', ...command],
        { timeout: EXEC_TIMEOUT_MS, maxBuffer: EXEC_MAX_BYTES, encoding: 'utf8' },
        (error, stdout, stderr) => {
          const code = (error as { code?: unknown } | null)?.code;
          resolve({ exitCode: error ? (typeof code === 'number' ? code : 127) : 0, output: stdout + stderr });
        },
      );
    });
  }

  /** Starts a host command inside the process's network namespace; stopBackground() ends it. */
  async startBackground(command: string[]): Promise<void> {
    // After stop() nothing starts again (a restart followed while the watch was ending).
    if (this.stopped) return;
    const child = spawn(
      'setpriv',
      ['--pdeathsig', 'KILL', '--', 'nsenter', `--net=/proc/${this.pid}/ns/net`, '--', ...command],
      { stdio: 'ignore' },
    );
    this.helpers.set(child, command);
    child.once('exit', () => this.helpers.delete(child));
    await Promise.race([once(child, 'spawn'), once(child, 'error').then(([error]) => Promise.reject(error))]);
  }

  /** Ends what startBackground started: SIGINT (tcpdump flushes its file), then SIGKILL. */
  async stopBackground(): Promise<void> {
    await Promise.all(
      [...this.helpers.keys()].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  async isRunning(): Promise<boolean> {
    const now = await readHostProcess(this.pid);
    return now !== undefined && now.startTicks === this.process.startTicks;
  }

  /** Ends the harness's helpers and the log's tail; the process itself runs on. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.stopBackground();
    await this.log.stop();
  }
}
