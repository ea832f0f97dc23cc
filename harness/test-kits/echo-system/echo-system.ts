import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { CertificateAuthority } from '../../pki/certificate-authority.ts';
import { EC_P256 } from '../../pki/key-spec.ts';
import type { HistoryEvent } from '../../run/history.ts';
import { RunLayout } from '../../run/layout.ts';
import type { Run } from '../../run/run.ts';
import type { Detector, IncidentSignal } from '../../seam/detector.ts';
import { readHostProcess } from '../../seam/host-process.ts';
import { HostProcessNode } from '../../seam/host-process-node.ts';
import { LogTail } from '../../seam/log-tail.ts';
import type { ConnectionSighting, StartedTarget, SystemUnderTest, TargetBuilder } from '../../seam/target.ts';
import { eventually } from '../eventually.ts';

// A third system under test, to prove the seam: one folder, no word of the other two, and no
// change to the machinery. A TLS echo server (echo-server.ts) runs as a process of its own on
// loopback; a scenario's rounds are lines sent and read back; a detector opens an incident for
// an answer that is not the line sent. Versions: 1.0 (with a bug a trigger file sets off) and
// 1.1 (fixed). It needs no image: its daemon is this machine's Node.

const SERVER = join(import.meta.dirname, 'echo-server.ts');
const VERSIONS = ['1.0', '1.1'] as const;

/** The echo daemon, started in a run: its node (a host process), and what a round needs. */
export class StartedEcho implements StartedTarget {
  readonly system = 'echo';
  readonly run: Run;
  readonly node0: HostProcessNode;
  readonly port: number;
  readonly trigger: string;
  private readonly child: ChildProcess;
  private readonly ca: CertificateAuthority;
  private stopped: Promise<void> | undefined;

  constructor(
    run: Run,
    init: {
      node: HostProcessNode;
      port: number;
      trigger: string;
      child: ChildProcess;
      ca: CertificateAuthority;
    },
  ) {
    this.run = run;
    this.node0 = init.node;
    this.port = init.port;
    this.trigger = init.trigger;
    this.child = init.child;
    this.ca = init.ca;
  }

  get nodes() {
    return [this.node0];
  }
  get watched() {
    return [this.node0];
  }
  node(name: string) {
    if (name !== this.node0.name)
      throw new Error(`The echo system has one node, ${this.node0.name}, not ${name}.`);
    return this.node0;
  }
  clients() {
    return { connected: 0, total: 0, label: 'clients' };
  }

  /** The connection a round's event names, so a kept capture is cut to it. */
  connectionIn(event: HistoryEvent): ConnectionSighting | undefined {
    if (event.source !== 'echo' || typeof event.localPort !== 'number') return undefined;
    return { node: this.node0.name, port: event.localPort };
  }

  /** One round: a line sent over a new TLS connection and read back; recorded either way. */
  async round(step: number): Promise<void> {
    const line = `round ${step} ${'x'.repeat(32)}`;
    this.run.history.record('echo', 'round-started', { step, node: this.node0.name });
    const socket = connect({
      host: '127.0.0.1',
      port: this.port,
      ca: this.ca.certificatePem,
      servername: 'echo',
    });
    socket.on('keylog', this.run.keylog('echo-rounds').write);
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
    });
    const outcome = await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve('no answer in 5 s'), 5_000);
      socket.once('error', (error) => resolve(error.message));
      socket.once('secureConnect', () => socket.write(`${line}\n`));
      socket.on('data', () => {
        if (!answer.endsWith('\n')) return;
        clearTimeout(timer);
        resolve(answer === `${line}\n` ? undefined : `answered ${JSON.stringify(answer.trim())}`);
      });
    });
    const localPort = socket.localPort;
    socket.destroy();
    const fields = { step, node: this.node0.name, localPort };
    if (outcome === undefined) this.run.history.record('echo', 'round-finished', fields);
    else this.run.history.record('echo', 'round-failed', { ...fields, error: outcome });
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      await this.node0.stop();
      await this.node0.log.stop();
      if (this.child.exitCode === null && this.child.signalCode === null) {
        this.child.kill('SIGTERM');
        await once(this.child, 'exit');
      }
    })();
    return this.stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

export class EchoBuilder implements TargetBuilder<StartedEcho> {
  private readonly version: string;

  constructor(version: string) {
    this.version = version;
  }

  withTlsSecrets(): this {
    return this;
  }

  async start(run: Run): Promise<StartedEcho> {
    const name = 'echo';
    const ca = await CertificateAuthority.create({ keySpec: EC_P256 });
    const issued = await ca.issue(name, EC_P256);
    const logs = run.path(RunLayout.nodeLogs(name));
    const captures = run.path(RunLayout.captures(name));
    await mkdir(logs, { recursive: true });
    await mkdir(captures, { recursive: true });
    const log = join(logs, 'echo.log');
    const config = join(logs, 'config.json');
    const trigger = join(logs, 'trigger');
    await writeFile(log, '');
    await writeFile(
      config,
      JSON.stringify({
        version: this.version,
        key: issued.privateKeyPem,
        cert: issued.certificatePem,
        log,
        trigger,
      }),
      { mode: 0o600 },
    );
    // setpriv --pdeathsig: the daemon dies with the harness, even a killed one (setpriv execs
    // it, so the pid is the daemon's).
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', process.execPath, SERVER, config], {
      stdio: 'ignore',
    });
    // A spawn that fails (no setpriv) is an error of the start, not an uncaught one.
    const failed = new Promise<never>((_resolve, reject) => child.once('error', reject));
    failed.catch(() => undefined);
    let tail: LogTail | undefined;
    try {
      const port = await Promise.race([
        failed,
        eventually(
          'the echo server listening',
          async () => Number(/listening on (\d+)/.exec(await readFile(log, 'utf8'))?.[1]) || undefined,
          { timeoutMs: 10_000, everyMs: 50 },
        ),
      ]);
      const process_ = await readHostProcess(child.pid as number);
      tail = new LogTail(log, {
        parseTimestamp: (line) => Date.parse(line.split(' ')[0] ?? '') || undefined,
      });
      const node = new HostProcessNode({
        name,
        role: 'echo',
        pid: child.pid as number,
        startTicks: process_?.startTicks ?? 0,
        netns: process_?.netns,
        address: '127.0.0.1',
        log: tail,
        capture: { filter: `tcp port ${port}`, nodeDir: captures, hostDir: captures },
      });
      await run.describe('stack', {
        version: this.version,
        description: `echo ${this.version} on this machine's Node ${process.version}`,
      });
      run.history.record('stack', 'node-addresses', { addresses: { '127.0.0.1': name } });
      return new StartedEcho(run, { node, port, trigger, child, ca });
    } catch (error) {
      // Whatever failed, nothing of the start runs on: the daemon and its log's tail.
      child.kill('SIGKILL');
      await tail?.stop();
      throw error;
    }
  }
}

/** An answer that is not the line sent is an incident at the echo node. */
const wrongAnswer: Detector = {
  name: 'wrong-answer',
  summary: 'a round whose answer is not the line it sent',
  kinds: ['wrong-answer'],
  reads: ['echo:round-failed'],
  init: () => undefined,
  step(_state, event): IncidentSignal[] {
    if (event.type !== 'round-failed') return [];
    return [
      {
        kind: 'wrong-answer',
        at: event.at,
        node: String(event.node),
        summary: `round ${String(event.step)}: ${String(event.error)}`,
        reason: 'wrong-answer',
      },
    ];
  },
};

export const echo: SystemUnderTest<EchoBuilder, object> = {
  name: 'echo',
  versions: VERSIONS,
  defaultVersion: '1.1',
  stepUnit: 'rounds',
  stepOf(event) {
    if (event.source !== 'echo') return undefined;
    if (event.type === 'round-started') return 'begun';
    if (event.type === 'round-finished' || event.type === 'round-failed') return 'done';
    return undefined;
  },
  takesImages: false,
  detectors: [wrongAnswer],
  images: {
    tag: (version) => `echo:${version}`,
    parseVersions: (value) => value.split(','),
    build: async () => {
      throw new Error('the echo system runs on Node itself: it has no image');
    },
    list: async () => [],
  },
  checkVersion(version) {
    if (!(VERSIONS as readonly string[]).includes(version)) throw new Error(`echo has no version ${version}`);
  },
  builder: (selection) => new EchoBuilder('version' in selection ? selection.version : '1.1'),
  // Its recorder is the rounds themselves (the scenario's driver writes them).
  observe: () => ({ stop: async () => undefined }),
};
