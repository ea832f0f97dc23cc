import { connect } from 'node:net';
import type Docker from 'dockerode';
import t from 'tap';
import { ErrorCodes } from '../errors.ts';
import { Run } from '../run/run.ts';
import { TargetLaunch } from './target-launch.ts';

/** An engine that only knows networks: what a launch asks of it besides the nodes. */
function fakeEngine(gateway: string | undefined) {
  const calls: string[] = [];
  const docker = {
    createNetwork: async ({ Name }: { Name: string }) => void calls.push(`create ${Name}`),
    getNetwork: (name: string) => ({
      inspect: async () => ({ IPAM: { Config: gateway ? [{ Gateway: gateway }] : [{}] } }),
      remove: async () => void calls.push(`remove ${name}`),
    }),
  };
  return { docker: docker as unknown as Docker, calls };
}

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });

t.test('a start that fails removes what it started, newest first, and keeps its own error', async (t) => {
  await using run = await Run.create({ name: 'launch', resultsDir: t.testdir() });
  const { docker, calls } = fakeEngine('127.0.0.1');
  let port = 0;
  const failure = (async () => {
    await using launch = await TargetLaunch.open(run, undefined, undefined, docker);
    const network = await launch.network();
    t.equal(network, `hh-${run.id}`);
    t.equal(await launch.network(), network, 'one network however often asked');
    const proxy = await launch.proxy('node-a');
    port = proxy.listen.port;
    t.equal(proxy.listen.host, '127.0.0.1', 'the proxy listens on the gateway');
    // Two nodes stopping at once: each waits for the other to have begun.
    let begun = 0;
    let bothBegun: () => void = () => undefined;
    const both = new Promise<void>((resolve) => {
      bothBegun = resolve;
    });
    const node = (name: string, fails = false) => ({
      stop: async () => {
        calls.push(`stop ${name}`);
        if (++begun === 2) bothBegun();
        await both;
        if (fails) throw new Error('would not stop');
      },
    });
    launch.ownsNode(node('node-a'));
    launch.ownsNode(node('node-b', true));
    launch.owns('swarm', async (name) => void calls.push(`stop ${name}`));
    launch.owns('load', (): Promise<void> => {
      throw new Error('a stop that throws before it is a promise');
    });
    throw new Error('node-c refused its configuration');
  })();
  await t.rejects(failure, { message: 'node-c refused its configuration' }, "the start's own error");
  t.same(
    calls,
    [`create hh-${run.id}`, 'stop swarm', 'stop node-a', 'stop node-b', `remove hh-${run.id}`],
    'the newest part first, the nodes together (a failing one too), the network last',
  );
  t.ok(await refused(port), 'the proxy closed');
});

t.test('handed over, the parts stay: the started handle stops them', async (t) => {
  await using run = await Run.create({ name: 'launch', resultsDir: t.testdir() });
  const { docker, calls } = fakeEngine('10.9.0.1');
  {
    await using launch = await TargetLaunch.open(run, undefined, undefined, docker);
    await launch.network();
    launch.ownsNode({ stop: async () => void calls.push('stop node-a') });
    launch.recordAddresses([{ name: 'node-a', address: '10.9.0.2' }]);
    launch.handOver();
    t.throws(() => launch.owns('late', async () => undefined), /handed over/, 'nothing is taken on after');
  }
  t.same(calls, [`create hh-${run.id}`]);
  t.match(
    run.history.recent().filter((event) => event.type === 'node-addresses'),
    [{ source: 'stack', addresses: { '10.9.0.2': 'node-a' }, gateway: '10.9.0.1' }],
  );
});

t.test('a network without a gateway cannot take proxies; an aborted start begins nothing', async (t) => {
  await using run = await Run.create({ name: 'launch', resultsDir: t.testdir() });
  const { docker, calls } = fakeEngine(undefined);
  {
    await using launch = await TargetLaunch.open(run, undefined, undefined, docker);
    await t.rejects(launch.proxy('node-a'), {
      code: ErrorCodes.ENGINE_UNAVAILABLE,
      message: `Network hh-${run.id} has no gateway address.`,
    });
  }
  t.same(calls, [`create hh-${run.id}`, `remove hh-${run.id}`]);
  {
    await using launch = await TargetLaunch.open(run, undefined, undefined, docker);
    t.throws(() => launch.ownsNode({ stop: async () => undefined }), /needs the network first/);
  }
  await t.rejects(TargetLaunch.open(run, undefined, AbortSignal.abort(), docker), { name: 'AbortError' });
});
