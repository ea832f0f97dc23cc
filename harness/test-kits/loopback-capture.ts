import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { eventually } from './eventually.ts';
import type { Teardown } from './loopback.ts';

/**
 * Records with tcpdump (as root) the loopback packets of the given TCP ports into `path` (pcap)
 * while `traffic` runs, and returns what it returned: real captures for the capture tools' tests,
 * without containers. tcpdump is killed at teardown whatever happens.
 *
 * The capture ends with one UDP datagram (a marker, from and to one loopback port): tcpdump is
 * stopped only once the marker is in the file, so every packet before it is in too.
 */
export async function recordLoopback<T>(
  t: Teardown,
  ports: readonly number[],
  path: string,
  traffic: () => Promise<T>,
): Promise<T> {
  const marker = createSocket('udp4');
  marker.bind(0, '127.0.0.1');
  await once(marker, 'listening');
  t.teardown(() => marker.close());
  const markerPort = marker.address().port;
  const filter = [...ports.map((port) => `tcp port ${port}`), `udp port ${markerPort}`].join(' or ');
  // --immediate-mode: each packet reaches tcpdump (and, with -U, the file) as it is seen, instead
  // of in blocks a kernel timer hands over. setpriv --pdeathsig: tcpdump dies with this process
  // even when teardowns never run (a test file that throws at top level, a killed run); -Z root,
  // for a change of user (tcpdump's default) would clear that signal.
  const tcpdump = spawn(
    'setpriv',
    [
      '--pdeathsig',
      'KILL',
      '--',
      'tcpdump',
      '-i',
      'lo',
      '-Z',
      'root',
      '--immediate-mode',
      '-U',
      '-w',
      path,
      filter,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  let failed: Error | undefined;
  tcpdump.stderr.setEncoding('utf8');
  tcpdump.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  tcpdump.on('error', (error) => {
    failed = error;
  });
  const running = () => tcpdump.exitCode === null && tcpdump.signalCode === null && !failed;
  t.teardown(() => {
    if (running()) tcpdump.kill('SIGKILL');
  });
  // tcpdump says "listening on" once its filter is attached: from then on nothing is missed.
  await eventually('tcpdump listening on lo', () => {
    if (!running()) throw new Error(`tcpdump did not start: ${failed?.message ?? stderr.trim()}`);
    return stderr.includes('listening on');
  });
  const result = await traffic();
  const token = randomBytes(16);
  // Sent again until it shows: one datagram may be dropped, or written late, on a busy machine.
  await eventually(
    'the marker in the capture',
    async () => {
      if ((await readFile(path)).includes(token)) return true;
      marker.send(token, markerPort, '127.0.0.1');
      return false;
    },
    { timeoutMs: 15_000, everyMs: 250 },
  );
  tcpdump.kill('SIGINT');
  await eventually('tcpdump exited', () => !running());
  if (tcpdump.exitCode !== 0) throw new Error(`tcpdump failed (${tcpdump.exitCode}): ${stderr.trim()}`);
  return result;
}
