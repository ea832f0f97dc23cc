import type Docker from 'dockerode';
import type { StartedTestContainer } from 'testcontainers';
import type { LogTail } from './log-tail.ts';
import type { CaptureSpec, ExecOutput, TargetNode } from './target.ts';

export interface ContainerNodeInit {
  name: string;
  role: string;
  container: StartedTestContainer;
  address: string;
  log: LogTail;
  docker: Docker;
  capture?: CaptureSpec;
  /** Further tails the node owns (a console log): stopped with it. */
  tails?: readonly LogTail[];
}

/**
 * A node that is one container the harness started: what every system's node can do through
 * the engine (exec, background helpers, the cgroup freezer, a CPU quota, removal). A system's
 * room extends it with what only its nodes do (an Icinga master's API and reloads).
 */
export class ContainerNode implements TargetNode {
  readonly name: string;
  readonly role: string;
  readonly container: StartedTestContainer;
  readonly address: string;
  readonly log: LogTail;
  readonly capture: CaptureSpec | undefined;
  protected readonly docker: Docker;
  private readonly tails: readonly LogTail[];

  constructor(init: ContainerNodeInit) {
    this.name = init.name;
    this.role = init.role;
    this.container = init.container;
    this.address = init.address;
    this.log = init.log;
    this.capture = init.capture;
    this.docker = init.docker;
    this.tails = init.tails ?? [];
  }

  async pause(): Promise<void> {
    await this.engineContainer().pause();
  }

  async unpause(): Promise<void> {
    await this.engineContainer().unpause();
  }

  /** CFS quota over a 100 ms period; -1 is the kernel's "no limit". */
  async limitCpu(cores: number | undefined): Promise<void> {
    const period = 100_000;
    await this.engineContainer().update({
      CpuPeriod: period,
      CpuQuota: cores === undefined ? -1 : Math.max(1_000, Math.round(cores * period)),
    });
  }

  async exec(command: string[]): Promise<ExecOutput> {
    const { exitCode, output } = await this.container.exec(command);
    return { exitCode, output };
  }

  async isRunning(): Promise<boolean> {
    const info = await this.engineContainer()
      .inspect()
      .catch(() => undefined);
    return info?.State.Running === true;
  }

  /** Sends a signal to the container's init (tini forwards it to the main process). */
  async kill(signal: string): Promise<void> {
    await this.engineContainer().kill({ signal });
  }

  /**
   * Starts a command inside the container and returns at once (docker exec, detached): a helper
   * that lives as long as the container, like the capture ring's tcpdump. Removing the container
   * ends it, so `hunt clean` needs nothing more.
   */
  async startBackground(command: string[]): Promise<void> {
    const exec = await this.engineContainer().exec({
      Cmd: command,
      AttachStdout: false,
      AttachStderr: false,
    });
    // Detached, Docker answers at once; the response stream would still hold a socket to the
    // engine open (and the process alive): close our end.
    const stream = (await exec.start({ Detach: true })) as unknown as { destroy?: () => void } | undefined;
    stream?.destroy?.();
  }

  /** Removes the container and stops following its logs. */
  async stop(): Promise<void> {
    await this.container.stop({ remove: true, timeout: 2_000 }).catch(() => undefined);
    await this.log.stop();
    for (const tail of this.tails) await tail.stop();
  }

  protected engineContainer(): Docker.Container {
    return this.docker.getContainer(this.container.getId());
  }
}
