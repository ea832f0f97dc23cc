import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import t from 'tap';
import { ensureHostTools } from '../engine/host-tools.ts';
import { silentProgress } from '../progress.ts';
import { matrixOfRuns } from '../report/matrix-build.ts';
import { renderMatrix } from '../report/matrix-render.ts';
import { noIncident } from '../runner/expectations.ts';
import { integer } from '../runner/params.ts';
import { runScenario } from '../runner/runner.ts';
import { defineScenario } from '../runner/scenario.ts';
import { echo } from '../test-kits/echo-system/echo-system.ts';

// The seam, proved by a system the machinery has never heard of: a TLS echo server from
// test-kits/echo-system/, through the runner, its own detector, the flight recorder, the report
// and the matrix, with nothing in the machinery changed for it. Needs tcpdump (the flight
// recorder), no Docker. About half a minute.
await ensureHostTools(['tcpdump', 'tshark', 'editcap'], silentProgress);

const rounds = defineScenario({
  name: 'echo-rounds',
  summary: 'a line sent to the echo server and read back every 250 ms; its bug set off before one round',
  system: echo,
  params: {
    trigger: integer({
      default: 3,
      min: 0,
      max: 1000,
      unit: 'rounds',
      summary: 'rounds before the bug is set off',
    }),
  },
  defaultSteps: 12,
  expectations: [noIncident()],
  async run(ctx) {
    const target = await ctx.start(ctx.target());
    await ctx.capture(target, { beforeMs: 5_000, afterMs: 1_000 });
    for (let step = 0; step < ctx.limits.steps && !ctx.signal.aborted; step++) {
      if (step === ctx.params.trigger) await writeFile(target.trigger, 'set off\n');
      await target.round(step);
      await sleep(250, undefined, { signal: ctx.signal }).catch(() => undefined);
    }
  },
});

const results = t.testdir();
const run = (version: string) => runScenario({ scenario: rounds, version, resultsDir: results, seed: 3 });

t.test(
  'a regression check of a third system: 1.0 fails with the incident and its capture, 1.1 passes',
  async (t) => {
    const broken = await run('1.0');
    t.equal(
      broken.exitCode,
      1,
      `1.0: the expectation (no incident) is not met: ${broken.expectations[0]?.detail}`,
    );
    t.same(
      broken.incidents.map((incident) => `${incident.kind}@${incident.node} x${incident.count}`),
      ['wrong-answer@echo x9'],
      "one incident, at the echo node, from the echo system's own detector (nine wrong answers)",
    );
    const [incident] = broken.incidents;
    t.ok(
      incident?.evidence.includes('capture.pcapng'),
      `the flight recorder kept its capture (${incident?.evidence.join(', ')})`,
    );
    const folder = join(broken.dir, 'incidents', '001');
    t.ok((await stat(join(folder, 'capture.pcapng'))).size > 1_000, 'a real capture');
    const summary = await readFile(join(folder, 'capture.txt'), 'utf8');
    t.match(summary, /ClientHello/, 'the capture holds the rounds’ TLS handshakes');
    // Decryptable: the secrets the rounds' client logged are in the pcapng, and the short answer
    // is there to read.
    const { stdout } = await promisify(execFile)('tshark', [
      '-r',
      join(folder, 'capture.pcapng'),
      '-Y',
      'data',
      '-T',
      'fields',
      '-e',
      'data.data',
    ]);
    const plain = Buffer.from(stdout.replace(/\s+/g, ''), 'hex').toString();
    t.match(plain, /^round 3 x{12}$/m, 'the wrong answer, decrypted from the capture');

    const report = await readFile(broken.reportPath, 'utf8');
    t.match(report, /wrong-answer/, 'the report names the incident');
    t.match(report, /echo 1\.0 on this machine's Node/, "and says what ran, in the system's own words");
    t.notMatch(report, /icinga|stunnel|reload|master|endpoint/i, "and speaks no other system's words");

    const fixed = await run('1.1');
    t.equal(fixed.exitCode, 0, `1.1 passes: ${fixed.expectations[0]?.detail}`);
    t.same(fixed.incidents, []);

    const matrix = await matrixOfRuns([broken.dir, fixed.dir], [echo]);
    const cells = matrix.cells.map(
      (cell) => `${cell.target}: ${cell.incidents} incident(s), version ${cell.version}`,
    );
    t.same(
      cells,
      ['1.0: 1 incident(s), version 1.0', '1.1: 0 incident(s), version 1.1'],
      'the matrix compares the versions',
    );
    const table = renderMatrix(matrix);
    t.match(
      table,
      /\| target \| echo \| runs \| rounds \| incidents \| per 1,000 rounds \(95%\) \|/,
      'counted in rounds',
    );
    t.match(
      table,
      /\| 1\.0 \| 1\.0 \| \S+ \(failed\) \| 12 \| 1: 1 wrong-answer \| 83\.3 /,
      '1.0: 12 rounds, 1 incident',
    );
    t.notMatch(table, /icinga|stunnel|reload|master|endpoint/i, "the matrix speaks no other system's words");
  },
);
