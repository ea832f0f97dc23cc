import { readFile, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { ensureEngine } from '../engine/docker-engine.ts';
import { managedFilter } from '../engine/labels.ts';
import { ErrorCodes, HuntError } from '../errors.ts';
import { pkiTicket } from '../pki/ticket.ts';
import { silentProgress } from '../progress.ts';
import { Run } from '../run/run.ts';
import type { CheckResult } from '../systems/icinga/api/icinga-api.ts';
import { IcingaErrorCodes } from '../systems/icinga/icinga-errors.ts';
import { catalogue } from '../systems/icinga/images/catalogue.ts';
import { IcingaStack, type StartedIcingaStack } from '../systems/icinga/stack/icinga-stack.ts';

const { docker } = await ensureEngine(silentProgress);

async function leftovers(runId: string): Promise<number> {
  const filters = JSON.stringify(managedFilter(runId));
  return (
    (await docker.listContainers({ all: true, filters })).length +
    (await docker.listNetworks({ filters })).length
  );
}

/** Waits until every agent's "load" service has a result that its agent produced. */
async function agentCheckResults(
  stack: StartedIcingaStack,
  timeoutMs: number,
): Promise<Map<string, CheckResult>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const services = await stack
      .master(1)
      .api.objects<{ last_check_result: CheckResult | null }>('services', ['last_check_result']);
    const results = new Map(
      services.flatMap((s) =>
        s.attrs.last_check_result ? [[s.name, s.attrs.last_check_result] as const] : [],
      ),
    );
    if (results.size === stack.topology.agents.length || Date.now() > deadline) return results;
    await sleep(1000);
  }
}

// Small key-log generations, so that 20 reloads rotate master1's several times over.
const KEYLOG_GENERATION = 8 * 1024;
const KEYLOG_LINE = /^([A-Z_0-9]+) ([0-9a-f]{64}) [0-9a-f]{64,128}$/;
// OpenSSL logs these five for each TLS 1.3 session it completes (as client or server).
const TLS13_LABELS = [
  'CLIENT_HANDSHAKE_TRAFFIC_SECRET',
  'SERVER_HANDSHAKE_TRAFFIC_SECRET',
  'CLIENT_TRAFFIC_SECRET_0',
  'SERVER_TRAFFIC_SECRET_0',
  'EXPORTER_SECRET',
];

/**
 * master1's daemon key log rotated under load from the root process and its nagios workers:
 * both generations within the size, owned as the entrypoint made the file (or the workers could
 * not append), whole lines only, no line lost, and the daemon still writing after rotating.
 */
async function keylogRotated(t: Test, stack: StartedIcingaStack): Promise<void> {
  await stack.ready({ timeoutMs: 30_000 });
  const current = stack.run.path('keys', 'nodes', 'master1.keylog');
  const previous = `${current}.1`;
  const nagios = Number((await stack.master(1).container.exec(['id', '-u', 'nagios'])).output.trim());
  const [now, before] = await Promise.all([stat(current), stat(previous)]);
  t.ok(before.size > KEYLOG_GENERATION - 512, `the old generation is full (${before.size} bytes)`);
  t.ok(now.size <= KEYLOG_GENERATION && before.size <= KEYLOG_GENERATION, 'each within its size');
  t.same(
    [now.uid, now.mode & 0o777, before.uid, before.mode & 0o777],
    [nagios, 0o660, nagios, 0o660],
    'both generations nagios-owned, mode 0660, as the entrypoint made the first',
  );
  const lines = `${await readFile(previous, 'utf8')}${await readFile(current, 'utf8')}`.split('\n');
  t.equal(lines.pop(), '', 'ends with a whole line');
  t.same(
    lines.filter((line) => !KEYLOG_LINE.test(line)),
    [],
    `${lines.length} SSLKEYLOGFILE lines, none torn`,
  );
  // A dropped line shows as a completed TLS 1.3 session missing some of its five secrets. The
  // sessions that began before the old generation did (its first lines) may have lines in the
  // one already gone. (A TLS 1.2 session logs a single CLIENT_RANDOM line: nothing to check.)
  const sessions = new Map<string, { first: number; labels: Set<string> }>();
  lines.forEach((line, index) => {
    const [, label = '', random = ''] = KEYLOG_LINE.exec(line) ?? [];
    const session = sessions.get(random) ?? { first: index, labels: new Set<string>() };
    session.labels.add(label);
    sessions.set(random, session);
  });
  const incomplete = [...sessions.values()].filter(
    (session) =>
      session.first >= 20 &&
      session.labels.has('CLIENT_TRAFFIC_SECRET_0') &&
      TLS13_LABELS.some((label) => !session.labels.has(label)),
  );
  t.same(incomplete, [], 'every completed TLS 1.3 session has its five secrets');
  // Written after the last rotation: a reload reconnects master1, which logs new secrets.
  await stack.master(1).reload({ via: 'signal', timeoutMs: 30_000 });
  await stack.ready({ timeoutMs: 30_000 });
  const after = await Promise.all([stat(current), stat(previous)]);
  t.ok(
    after[0].size !== now.size || after[1].ino !== before.ino,
    'the daemon goes on writing secrets after rotating',
  );
}

for (const { version } of catalogue) {
  t.test(
    `Icinga ${version}: 2 masters + 2 agents, real checks, 20 verified reloads, key logs rotated, nothing left behind`,
    async (t) => {
      await using run = await Run.create({ name: `it-${version}` });
      const stack = await IcingaStack.version(version)
        .masters(2)
        .agents(2)
        .withCheckInterval(5)
        .withTlsSecrets(true, { maxBytes: KEYLOG_GENERATION })
        .start(run);
      let stopped = false;
      t.teardown(async () => {
        if (!stopped) await stack.stop();
      });
      await stack.ready({ timeoutMs: 60_000 });
      t.equal(
        (await stack.master(1).api.icingaApplication()).version.replace(/^v?r?/, '').split('-')[0],
        version,
      );

      const results = await agentCheckResults(stack, 90_000);
      for (const agent of stack.topology.agents) {
        const result = results.get(`${agent}!load`);
        t.equal(result?.check_source, agent, `${agent}'s check ran on ${agent}`);
        t.match(
          result?.output,
          /^(LOAD )?(OK|WARNING|CRITICAL) - (total )?load average: /,
          'output from the real check_load plugin',
        );
        t.ok(result && result.state >= 0 && result.state <= 2, `state ${result?.state}`);
      }

      const pids = new Set<number>();
      for (let i = 1; i <= 20; i++) {
        const reload = await stack.master(1).reload({ via: 'signal', timeoutMs: 30_000 });
        t.not(reload.newPid, reload.oldPid);
        pids.add(reload.newPid);
        await stack.ready({ timeoutMs: 30_000 });
      }
      t.equal(
        pids.size,
        20,
        '20 reloads, 20 new workers, each verified and the stack ready again after each',
      );
      t.pass(`last barrier ${(await stack.master(1).reload()).ms} ms`);
      await keylogRotated(t, stack);

      await stack.stop();
      stopped = true;
      t.equal(await leftovers(stack.run.id), 0, 'no labelled container or network of this run remains');
    },
  );
}

t.test('a failed reload leaves the old worker serving and says why', async (t) => {
  await using run = await Run.create({ name: 'it-bad-reload' });
  await using stack = await IcingaStack.version('2.13.6').masters(1).start(run);
  await stack.ready();
  const master = stack.master(1);
  const before = await master.api.icingaApplication();
  await master.writeConfig('broken', 'object Host "broken" { check_command = "no-such-command" }\n');
  const error = await master.reload().catch((e: unknown) => e);
  t.ok(error instanceof HuntError && error.code === IcingaErrorCodes.RELOAD_FAILED, 'HH_RELOAD_FAILED');
  t.match((error as HuntError).message, /old worker \(pid \d+\) is still running[\s\S]*no-such-command/);
  t.equal((await master.api.icingaApplication()).pid, before.pid, 'the old worker still answers');
  await master.removeConfig('broken');
  const recovered = await master.reload({ via: 'api' });
  t.not(recovered.newPid, before.pid, 'a good reload through the API works afterwards');
});

t.test('a config snippet that fails validation stops the start with the reason, and cleans up', async (t) => {
  await using run = await Run.create({ name: 'it-bad-config' });
  const error = await IcingaStack.version('2.13.6')
    .masters(1)
    .withConfig('typo', 'object Hots "x" { }\n')
    .start(run)
    .catch((e: unknown) => e);
  t.ok(error instanceof HuntError && error.code === ErrorCodes.CONFIG_INVALID);
  t.match((error as HuntError).message, /master1 exited at start[\s\S]*Hots/);
  t.same(
    await docker.listContainers({ all: true, filters: JSON.stringify(managedFilter(run.id)) }),
    [],
    'nothing left running',
  );
});

t.test('tickets match what icinga2 pki ticket computes', async (t) => {
  await using run = await Run.create({ name: 'it-ticket' });
  await using stack = await IcingaStack.version('2.14.6').masters(1).start(run);
  const result = await stack
    .master(1)
    .container.exec(['icinga2', 'pki', 'ticket', '--cn', 'agent-42', '--salt', 'hh-salt']);
  t.equal(result.output.trim(), await pkiTicket('agent-42', 'hh-salt'));
});
