import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { knownDetectors, systems } from '../cli/systems.ts';
import { writeReport } from '../report/report-writer.ts';
import type { Run } from '../run/run.ts';
import type { StartedTarget, SystemUnderTest, TargetBuilder } from '../seam/target.ts';
import { noIncident } from './expectations.ts';
import { runScenario } from './runner.ts';
import { defineScenario } from './scenario.ts';

// The runner with a system that starts no container: what it owns (observation, the verdict)
// does not depend on Docker.

const FIELD_LINE =
  '[2026-11-21 10:00:01 +0000] critical/ApiListener: Client TLS handshake failed (from [::ffff:172.20.0.1]:55460): excessive message size';

interface Probe {
  observed: string[];
  stopped: string[];
}

function fakeSystem(probe: Probe): SystemUnderTest<TargetBuilder, { tag?: string }> {
  const builder = (): TargetBuilder => ({
    withTlsSecrets() {
      return this;
    },
    async start(run: Run): Promise<StartedTarget> {
      return {
        system: 'fake',
        run,
        nodes: [],
        watched: [],
        node: () => {
          throw new Error('no nodes');
        },
        clients: () => ({ connected: 0, total: 0, label: 'clients' }),
        connectionIn: () => undefined,
        stop: async () => probe.stopped.push('target'),
        [Symbol.asyncDispose]: async () => undefined,
      };
    },
  });
  return {
    name: 'fake',
    versions: ['1.0'],
    defaultVersion: '1.0',
    stepUnit: 'steps',
    detectors: knownDetectors,
    images: {
      tag: (version) => `fake:${version}`,
      parseVersions: (value) => value.split(','),
      build: async () => {
        throw new Error('the fake system has no image');
      },
      list: async () => [],
    },
    checkVersion() {},
    builder,
    observe(started, options) {
      // What a system's observer records: here, the field line in its log.
      probe.observed.push(options.tag ?? 'default');
      started.run.history.record('observe', 'log-match', {
        node: 'node1',
        seq: 1,
        kind: 'tls-handshake-failed',
        line: FIELD_LINE,
        before: [],
      });
      return { stop: async () => void probe.stopped.push('observer') };
    },
  };
}

t.test('ctx.start starts the observers although the scenario never asked; both are stopped', async (t) => {
  const probe: Probe = { observed: [], stopped: [] };
  const result = await runScenario({
    scenario: defineScenario({
      name: 'forgets-observe',
      summary: 'starts a target and does nothing else',
      system: fakeSystem(probe),
      params: {},
      defaultSteps: 1,
      expectations: [noIncident()],
      async run(ctx) {
        await ctx.start(ctx.target());
      },
    }),
    resultsDir: t.testdir(),
    seed: 5,
  });
  t.same(probe.observed, ['default']);
  t.same(probe.stopped, ['observer', 'target']);
  t.equal(result.exitCode, 1, 'the log line it read is an incident: noIncident() is not met');
  t.same(
    result.incidents.map((i) => `${i.id} ${i.kind}@${i.node}`),
    ['1 tls-handshake-failed@node1'],
  );
});

t.test('observe: false turns observation off; the verdict then sees nothing', async (t) => {
  const probe: Probe = { observed: [], stopped: [] };
  const result = await runScenario({
    scenario: defineScenario({
      name: 'observe-off',
      summary: 'starts a target without observers',
      system: fakeSystem(probe),
      params: {},
      defaultSteps: 1,
      expectations: [noIncident()],
      async run(ctx) {
        await ctx.start(ctx.target(), { observe: false });
      },
    }),
    resultsDir: t.testdir(),
    seed: 5,
  });
  t.same(probe.observed, []);
  t.equal(result.exitCode, 0);
});

t.test('the verdict, the report and every incident.json agree with `hunt report`', async (t) => {
  const probe: Probe = { observed: [], stopped: [] };
  const result = await runScenario({
    scenario: defineScenario({
      name: 'one-truth',
      summary: 'an incident from the observer, one from the scenario itself',
      system: fakeSystem(probe),
      params: {},
      defaultSteps: 1,
      expectations: [noIncident()],
      async run(ctx) {
        await ctx.start(ctx.target(), { observe: { tag: 'tuned' } });
        ctx.run.history.record('reload', 'reload-failed', { master: 'node1', step: 1, error: 'refused' });
      },
    }),
    resultsDir: t.testdir(),
    seed: 5,
  });
  t.same(probe.observed, ['tuned']);
  const meta = JSON.parse(await readFile(join(result.dir, 'run.json'), 'utf8'));
  t.match(meta, { outcome: { status: 'failed', exitCode: 1 }, verdict: { incidents: 2 } });
  const { summary } = await writeReport(result.dir, systems);
  const ids = (incidents: readonly { id: number; kind: string }[]) =>
    incidents.map((i) => `${i.id} ${i.kind}`);
  t.same(ids(summary.incidents), ids(result.incidents));
  for (const incident of result.incidents) {
    const folder = join(result.dir, 'incidents', String(incident.id).padStart(3, '0'));
    t.match(JSON.parse(await readFile(join(folder, 'incident.json'), 'utf8')), {
      id: incident.id,
      kind: incident.kind,
      count: incident.count,
    });
  }
});

t.test('a ring size alone, or one past half the disk cap, is refused before the run exists', async (t) => {
  const results = t.testdir();
  const request = (limits: { ringBytes: number; diskCapBytes?: number }) =>
    runScenario({
      scenario: defineScenario({
        name: 'ringed',
        summary: 'never starts',
        system: fakeSystem({ observed: [], stopped: [] }),
        params: {},
        expectations: [noIncident()],
        async run() {},
      }),
      resultsDir: results,
      ...limits,
    });
  await t.rejects(request({ ringBytes: 64e6 }), {
    code: 'HH_USAGE',
    message: 'a ring size is a share of the disk cap: give --disk-cap too.',
  });
  await t.rejects(request({ ringBytes: 600e6, diskCapBytes: 1e9 }), {
    code: 'HH_USAGE',
    message: /more than half/,
  });
  t.strictSame(await readdir(results), [], 'no run folder');
});
