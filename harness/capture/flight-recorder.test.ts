import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { HistoryEvent } from '../run/history.ts';
import { Run } from '../run/run.ts';
import type { ConnectionSighting, StartedTarget, TargetNode } from '../seam/target.ts';
import type { StartedIcingaStack } from '../systems/icinga/stack/icinga-stack.ts';
import { eventually } from '../test-kits/eventually.ts';
import { listenOnLoopback } from '../test-kits/loopback.ts';
import { recordLoopback } from '../test-kits/loopback-capture.ts';
import { FlightRecorder, type StartedFlightRecorder } from './flight-recorder.ts';

/** A started target of one recorded node: what the flight recorder reads of a target. */
function oneNodeTarget(
  run: Run,
  node: TargetNode,
  connectionIn: (event: HistoryEvent) => ConnectionSighting | undefined,
): StartedTarget {
  return { run, nodes: [node], watched: [node], node: () => node, connectionIn } as unknown as StartedTarget;
}

// Settings are checked before any node is touched (no Docker needed).
const stack = { topology: { masters: [] } } as unknown as StartedIcingaStack;

t.test('a ring that holds nothing, or without bound, is refused before anything runs', async (t) => {
  for (const ring of [
    { fileMb: 0, files: 4 },
    { fileMb: 8, files: 0 },
    { fileMb: 1.5, files: 2 },
    { fileMb: 8, files: 5000 },
  ])
    await t.rejects(FlightRecorder.of(stack).ring(ring).start(), {
      code: 'HH_CAPTURE_CONFIG',
      message: /must hold something, and be bounded/,
    });
  await t.rejects(FlightRecorder.of(stack).window({ beforeMs: -1, afterMs: 0 }).start(), {
    code: 'HH_CAPTURE_CONFIG',
  });
});

t.test('start() returns once tcpdump writes its ring, not when the exec is merely sent', async (t) => {
  const run = await Run.create({ name: 'recorder', seed: 1, resultsDir: t.testdir() });
  t.teardown(() => run.finish({ status: 'passed', exitCode: 0, complete: true }));
  const hostDir = join(run.dir, 'captures', 'master1');
  await mkdir(hostDir, { recursive: true });
  let headerAt = 0;
  const node = {
    name: 'master1',
    role: 'master',
    capture: { filter: 'tcp port 5665', nodeDir: '/captures', hostDir },
    exec: async () => ({ exitCode: 0, stdout: '', stderr: '' }),
    // As tcpdump does, a moment later: the libpcap header of the first ring file.
    startBackground: async () => {
      setTimeout(() => {
        headerAt = performance.now();
        void writeFile(join(hostDir, 'ring.pcap0'), Buffer.alloc(24));
      }, 300);
    },
  } as unknown as TargetNode;
  const target = oneNodeTarget(run, node, () => undefined);
  const recorder = await FlightRecorder.of(target).start();
  // The header is written 300 ms after the exec is sent: start() must have waited for it.
  t.ok(headerAt > 0, 'the ring file existed before start() returned');
  await recorder.stop();
});

/**
 * A run whose one node's "ring" holds real packets: two servers on loopback, one exchange with
 * each. Its events name the connection they saw by its server port.
 */
async function recordedTarget(t: Test) {
  const run = await Run.create({ name: 'recorder', seed: 1, resultsDir: t.testdir() });
  t.teardown(() => run.finish({ status: 'passed', exitCode: 0, complete: true }));
  const hostDir = join(run.dir, 'captures', 'node1');
  await mkdir(hostDir, { recursive: true });
  // Two servers on loopback, one exchange with each: real packets in the node's "ring".
  const ports: number[] = [];
  for (let i = 0; i < 2; i++) {
    const server = createServer((socket) => socket.end('pong'));
    ports.push((await listenOnLoopback(t, server)).port);
  }
  await recordLoopback(t, ports, join(hostDir, 'recorded.pcap'), async () => {
    for (const port of ports) {
      const socket = connect(port, '127.0.0.1');
      socket.end('ping');
      socket.resume();
      await once(socket, 'close');
    }
  });
  // The recording ends with a UDP marker packet; the ring holds the TCP exchanges alone.
  execFileSync('tshark', [
    '-r',
    join(hostDir, 'recorded.pcap'),
    '-Y',
    'tcp',
    '-F',
    'pcap',
    '-w',
    join(hostDir, 'ring.pcap0'),
  ]);
  const node = {
    name: 'node1',
    role: 'server',
    capture: { filter: 'tcp', nodeDir: '/captures', hostDir },
    exec: async () => ({ exitCode: 0, stdout: '', stderr: '' }),
    startBackground: async () => undefined,
    stopBackground: async () => undefined,
  } as unknown as TargetNode;
  // The test's events name the connection they saw by its server port.
  const target = oneNodeTarget(run, node, (event) =>
    typeof event.port === 'number' ? { node: 'node1', port: event.port } : undefined,
  );
  return { run, target, ports };
}

t.test(
  'an incident that involved every connection of the window keeps one capture file, not two equal ones',
  async (t) => {
    const { run, target, ports } = await recordedTarget(t);
    const recorder = await FlightRecorder.of(target)
      .window({ beforeMs: 20_000, afterMs: 0 })
      .secrets(false)
      .start();
    const keptFiles = async (incident: number, ...seen: number[]) => {
      for (const port of seen) run.history.record('test', 'connection-seen', { port });
      run.history.record('incidents', 'incident-opened', { incident, node: 'node1', kind: 'test' });
      return eventually(
        `incident ${incident}'s capture`,
        () => {
          const event = run.history
            .recent()
            .find((e) => e.type === 'capture-kept' && e.incident === incident);
          return event ? (event.files as string[]) : undefined;
        },
        { timeoutMs: 20_000, everyMs: 100 },
      );
    };
    t.same(
      await keptFiles(1, ports[0] as number),
      ['capture.pcapng', 'window.pcapng', 'capture.txt'],
      'a part of the window: both',
    );
    t.same(await keptFiles(2, ...ports), ['capture.pcapng', 'capture.txt'], 'all of it: one file');
    t.match(
      await readFile(join(run.dir, 'incidents', '002', 'capture.txt'), 'utf8'),
      /capture\.pcapng is the whole window \(no window\.pcapng\)/,
    );
    await recorder.stop();
  },
);

/**
 * A recorder whose window for incident 1 is still open (it ends 10 minutes on), stopped in a hurry
 * by `stop`: the window must be kept, not read, and capture.txt must say so.
 */
async function hurriedStop(t: Test, stop: (recorder: StartedFlightRecorder) => Promise<void>) {
  const { run, target } = await recordedTarget(t);
  const recorder = await FlightRecorder.of(target)
    .window({ beforeMs: 20_000, afterMs: 600_000 })
    .secrets(false)
    .start();
  run.history.record('incidents', 'incident-opened', { incident: 1, node: 'node1', kind: 'test' });
  await stop(recorder);
  t.same(recorder.kept.get(1), { files: ['capture.pcapng', 'capture.txt'] }, 'the window is kept');
  const text = await readFile(join(run.dir, 'incidents', '001', 'capture.txt'), 'utf8');
  t.match(text, /\(not read: the run was interrupted; open capture\.pcapng in Wireshark\)/);
  t.notMatch(text, /TCP resets in all/, 'no reading ran');
  t.match(text, /The run was interrupted: capture\.pcapng is the whole window, its TLS secrets not embedded/);
}

t.test('stopped in a hurry (an interrupted run), an open window is kept but not read', (t) =>
  hurriedStop(t, (recorder) => recorder.stop({ hurry: AbortSignal.abort() })),
);

t.test('an interrupt while the recorder stops hurries the windows still to be read', (t) =>
  hurriedStop(t, async (recorder) => {
    // The run ended by its duration: its recorder reads what is queued, until Ctrl-C comes.
    const interrupt = new AbortController();
    const stopped = recorder.stop({ hurry: interrupt.signal });
    interrupt.abort('interrupted');
    await stopped;
  }),
);

t.test(
  'incidents of one moment on one node share a window: kept and read once, in each folder',
  async (t) => {
    const { run, target } = await recordedTarget(t);
    const recorder = await FlightRecorder.of(target)
      .window({ beforeMs: 20_000, afterMs: 0 })
      .secrets(false)
      .start();
    for (const incident of [1, 2])
      run.history.record('incidents', 'incident-opened', { incident, node: 'node1', kind: 'test' });
    await recorder.stop();
    const kept = run.history.recent().filter((event) => event.type === 'capture-kept');
    t.match(kept, [
      { incident: 1, files: ['capture.pcapng', 'capture.txt'] },
      { incident: 2, files: ['capture.pcapng', 'capture.txt'], sharedWith: 1, bytes: 0 },
    ]);
    const [first, second] = await Promise.all(
      ['001', '002'].map((folder) => stat(join(run.dir, 'incidents', folder, 'capture.pcapng'))),
    );
    t.equal(second?.ino, first?.ino, 'one file on disk, in both folders');
    t.match(
      await readFile(join(run.dir, 'incidents', '002', 'capture.txt'), 'utf8'),
      /One window for incidents 1, 2 \(opened within 5 s of each other on node1\)/,
    );
  },
);
