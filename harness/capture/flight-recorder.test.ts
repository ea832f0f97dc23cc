import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { Run } from '../run/run.ts';
import type { StartedTarget, TargetNode } from '../seam/target.ts';
import type { StartedIcingaStack } from '../systems/icinga/stack/icinga-stack.ts';
import { FlightRecorder } from './flight-recorder.ts';

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
  const target = {
    run,
    nodes: [node],
    watched: [node],
    node: () => node,
    connectionIn: () => undefined,
  } as unknown as StartedTarget;
  const recorder = await FlightRecorder.of(target).start();
  // The header is written 300 ms after the exec is sent: start() must have waited for it.
  t.ok(headerAt > 0, 'the ring file existed before start() returned');
  await recorder.stop();
});
