import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { Run } from '../../../run/run.ts';
import { HostProcessNode } from '../../../seam/host-process-node.ts';
import { LogTail } from '../../../seam/log-tail.ts';
import { eventually } from '../../../test-kits/eventually.ts';
import { followDisruptions } from './watched-icinga.ts';

const at = (text: string) => `[2026-12-06 19:08:33 +0000] ${text}\n`;

t.test("the daemon's own reload and an unreachable peer, read off its log, are disruptions", async (t) => {
  const dir = t.testdir();
  const logPath = join(dir, 'icinga2.log');
  await writeFile(logPath, '');
  const run = await Run.create({ name: 'watch-test', resultsDir: dir });
  t.teardown(() => run[Symbol.asyncDispose]());
  const log = new LogTail(logPath, { pollMs: 10 });
  const master = new HostProcessNode({
    name: 'master1',
    role: 'master',
    pid: process.pid,
    startTicks: 0,
    address: '127.0.0.1',
    log,
  });
  const stop = followDisruptions({ master, run });
  t.teardown(async () => {
    stop();
    await log.stop();
  });
  const disruptions = () =>
    run.history
      .recent()
      .filter((event) => event.type.startsWith('disruption-'))
      .map((event) => `${event.type} ${event.node} ${event.kind}`);
  await appendFile(
    logPath,
    at('information/Application: Received request to shut down.') +
      at("critical/ApiListener: Cannot connect to host 'master2' on port '5665': Connection refused") +
      at('information/Application: Received request to shut down.'),
  );
  await eventually('the lines read', () => disruptions().length >= 3 || undefined, { timeoutMs: 5_000 });
  t.same(
    disruptions(),
    [
      'disruption-started master1 reload',
      'disruption-started master2 unreachable',
      'disruption-ended master2 unreachable',
    ],
    'a reload under way is one disruption, however often the line comes',
  );
  await appendFile(logPath, at("information/ApiListener: Started new listener on '[0.0.0.0]:5665'"));
  await eventually('the listener line read', () => disruptions().length >= 4 || undefined, {
    timeoutMs: 5_000,
  });
  t.equal(disruptions().at(-1), 'disruption-ended master1 reload', "the new worker's listener ends it");
  // A peer's dying worker took the dial and hung it until Icinga gave up: that peer is reloading.
  await appendFile(
    logPath,
    at(
      "critical/ApiListener: Timeout while reconnecting to endpoint 'master2' via host 'master2' and port '5665', cancelling attempt",
    ),
  );
  await eventually('the timeout line read', () => disruptions().length >= 6 || undefined, {
    timeoutMs: 5_000,
  });
  t.same(disruptions().slice(4), [
    'disruption-started master2 unreachable',
    'disruption-ended master2 unreachable',
  ]);
  await appendFile(logPath, at('information/ApiListener: New client connection (no client certificate)'));
  await log.stop();
  t.equal(disruptions().length, 6, 'other lines are no disruption');
});
