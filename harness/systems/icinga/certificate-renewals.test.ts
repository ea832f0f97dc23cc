import { createPrivateKey, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { createServer, type TLSSocket } from 'node:tls';
import t from 'tap';
import { ErrorCodes } from '../../errors.ts';
import { EC_P256 } from '../../pki/key-spec.ts';
import { History, type HistoryEvent } from '../../run/history.ts';
import { eventually } from '../../test-kits/eventually.ts';
import { listenOnFixedPort, type Teardown } from '../../test-kits/loopback.ts';
import { tlsPeers } from '../../test-kits/tls.ts';
import { type RenewalOptions, renewCertificates } from './certificate-renewals.ts';
import { reloadFailed } from './icinga-errors.ts';
import { API_PORT } from './stack/icinga-config.ts';
import type { StartedIcingaStack } from './stack/icinga-stack.ts';

const peers = await tlsPeers();
/** master2's own certificate: what `cat` reads in its container, and what its API port presents. */
const own = await peers.ca.issue('master2', EC_P256);
const DAY_MS = 24 * 60 * 60 * 1000;

/** What the node does after a reload's signal: logs a swap, logs nothing, or refuses the reload. */
type Outcome = 'swap' | 'none' | 'fail';

interface Call {
  what: 'plant' | 'reload';
  path?: string;
  content?: string;
}

/**
 * A stack with one renewing node, master2, implementing only what the renewals call: the
 * node's exec (the plant), isRunning and reload, the CA, the history. A swap is what the node's
 * log observer records: a `context-swap` disruption, a moment after the reload answered.
 */
async function renewalStack(
  t: Teardown & { testdir(): string },
  outcomes: (step: number) => Outcome,
  node: Partial<{
    address: string;
    isRunning(): Promise<boolean>;
    execExit: number;
    onReload(): Promise<unknown>;
  }> = {},
) {
  const history = await History.open(join(t.testdir(), 'history.jsonl'));
  t.teardown(() => history.close());
  const calls: Call[] = [];
  let reloads = 0;
  const master2 = {
    name: 'master2',
    address: node.address ?? '127.0.0.1',
    isRunning: node.isRunning ?? (async () => true),
    exec: async (command: string[]) => {
      if (command[0] === 'cat') return { exitCode: 0, output: own.certificatePem };
      calls.push({ what: 'plant', path: command[5], content: command[4] });
      return node.execExit
        ? {
            exitCode: node.execExit,
            output: "sh: can't create /var/lib/icinga2/certs/master2.crt.hh: Permission denied\n",
          }
        : { exitCode: 0, output: '' };
    },
    reload: async (options: { via?: string; onSignalled?: () => void }) => {
      const step = ++reloads;
      calls.push({ what: 'reload' });
      options.onSignalled?.();
      await node.onReload?.();
      const outcome = outcomes(step);
      if (outcome === 'fail')
        throw reloadFailed(`Reload of master2 was refused (${step}).`, { node: 'master2' });
      if (outcome === 'swap')
        setTimeout(
          () => history.record('icinga', 'disruption-started', { kind: 'context-swap', node: 'master2' }),
          20,
        );
      return { node: 'master2', via: options.via, oldPid: 100 + step, newPid: 200 + step, ms: 300 };
    },
  };
  const master1 = { name: 'master1', address: '127.0.0.1', isRunning: async () => true };
  const nodes = [master1, master2];
  const stack = {
    masters: nodes,
    node: (name: string) => nodes.find((candidate) => candidate.name === name),
    ca: peers.ca,
    history,
  } as unknown as StartedIcingaStack;
  const events = (source: string, type: string): HistoryEvent[] =>
    history.recent().filter((event) => event.source === source && event.type === type);
  return { stack, history, calls, events };
}

const options = (more: Partial<RenewalOptions> = {}) => ({
  node: 'master2',
  renewals: 3,
  keySpec: EC_P256,
  connectLoad: 0,
  ...more,
});

const signal = () => ({ signal: new AbortController().signal });

t.test(
  'a node that is not a master, or a count out of bounds, is refused before anything runs',
  async (t) => {
    const { stack, calls } = await renewalStack(t, () => 'swap');
    await t.rejects(renewCertificates(signal(), stack, options({ node: 'agent-1' })), {
      code: ErrorCodes.USAGE,
      message: 'Renewals: agent-1 is not a master of this stack.',
    });
    for (const renewals of [0, 10_001, 2.5])
      await t.rejects(renewCertificates(signal(), stack, options({ renewals })), {
        code: ErrorCodes.USAGE,
        message: `Renewals: 1 to 10000, not ${renewals}.`,
      });
    t.same(calls, [], 'nothing planted, nothing reloaded');
  },
);

t.test('each renewal plants the expiring pair, reloads, and counts the swap the node logs', async (t) => {
  const { stack, calls, events } = await renewalStack(t, () => 'swap');
  const before = Date.now();
  const summary = await renewCertificates(signal(), stack, options());
  const after = Date.now();
  t.same(summary, { planted: 3, swapped: 3, missed: 0, stoppedBy: 'count' });
  const crt = '/var/lib/icinga2/certs/master2.crt';
  const key = '/var/lib/icinga2/certs/master2.key';
  t.same(
    calls.map((call) => call.path ?? call.what),
    [crt, key, 'reload', crt, key, 'reload', crt, key, 'reload'],
    'planted before each reload',
  );
  const crts = calls.filter((call) => call.path === crt).map((call) => call.content);
  const keys = calls.filter((call) => call.path === key).map((call) => call.content);
  t.equal(new Set(crts).size, 1, 'the same certificate every time');
  t.equal(new Set(keys).size, 1, 'and the same key');
  const certificate = new X509Certificate(crts[0] as string);
  t.equal(certificate.subject, 'CN=master2');
  t.ok(
    certificate.checkPrivateKey(createPrivateKey(keys[0] as string)),
    "the planted key is the certificate's",
  );
  // Under Icinga's 30-day renewal threshold: 20 days by default (the clock is read in seconds).
  const expires = Date.parse(certificate.validTo);
  t.ok(expires >= before + 20 * DAY_MS - 1000 && expires <= after + 20 * DAY_MS, certificate.validTo);
  t.same(
    events('reload', 'reload-finished').map(({ step, master, newPid, barrierMs }) => ({
      step,
      master,
      newPid,
      barrierMs,
    })),
    [
      { step: 1, master: 'master2', newPid: 201, barrierMs: 300 },
      { step: 2, master: 'master2', newPid: 202, barrierMs: 300 },
      { step: 3, master: 'master2', newPid: 203, barrierMs: 300 },
    ],
  );
  t.same(
    events('reload', 'reload-signalled').map((event) => event.step),
    [1, 2, 3],
  );
  t.same(
    events('renewal', 'swapped').map(({ step, node }) => ({ step, node })),
    [
      { step: 1, node: 'master2' },
      { step: 2, node: 'master2' },
      { step: 3, node: 'master2' },
    ],
  );
  t.match(events('renewal', 'renewals-finished'), [
    { node: 'master2', planted: 3, swapped: 3, missed: 0, stoppedBy: 'count' },
  ]);
});

t.test('three renewals missed in a row end it: this version does not renew here', async (t) => {
  const { stack, history, calls, events } = await renewalStack(t, () => 'none');
  // Swaps of another node, and other disruptions of this one, are not its renewal.
  history.subscribe((event) => {
    if (event.type !== 'reload-signalled') return;
    history.record('icinga', 'disruption-started', { kind: 'context-swap', node: 'master1' });
    history.record('remedy', 'disruption-started', { kind: 'restart', node: 'master2' });
  });
  const before = Date.now();
  const summary = await renewCertificates(
    signal(),
    stack,
    options({ renewals: 10, days: 7, deadlineMs: 100 }),
  );
  const after = Date.now();
  t.same(summary, { planted: 3, swapped: 0, missed: 3, stoppedBy: 'no-renewal' });
  t.same(
    events('renewal', 'missed').map(({ step, node, deadlineMs }) => ({ step, node, deadlineMs })),
    [
      { step: 1, node: 'master2', deadlineMs: 100 },
      { step: 2, node: 'master2', deadlineMs: 100 },
      { step: 3, node: 'master2', deadlineMs: 100 },
    ],
  );
  const planted = new X509Certificate(String(calls.find((call) => call.path?.endsWith('.crt'))?.content));
  const expires = Date.parse(planted.validTo);
  t.ok(expires >= before + 7 * DAY_MS - 1000 && expires <= after + 7 * DAY_MS, planted.validTo);
});

t.test('a swap resets the misses in a row', async (t) => {
  const pattern: Outcome[] = ['swap', 'none', 'none', 'swap', 'none', 'none', 'swap'];
  const { stack, events } = await renewalStack(t, (step) => pattern[step - 1] ?? 'none');
  const summary = await renewCertificates(signal(), stack, options({ renewals: 7, deadlineMs: 100 }));
  t.same(summary, { planted: 7, swapped: 3, missed: 4, stoppedBy: 'count' });
  t.same(
    events('renewal', 'swapped').map((event) => event.step),
    [1, 4, 7],
  );
  t.same(
    events('renewal', 'missed').map((event) => event.step),
    [2, 3, 5, 6],
  );
});

t.test('a reload refused is a miss: three in a row end it, each reload recorded as failed', async (t) => {
  const { stack, events } = await renewalStack(t, () => 'fail');
  const summary = await renewCertificates(signal(), stack, options({ renewals: 10 }));
  t.same(summary, { planted: 3, swapped: 0, missed: 3, stoppedBy: 'no-renewal' });
  t.same(
    events('reload', 'reload-failed').map(({ step, master, error }) => ({ step, master, error })),
    [1, 2, 3].map((step) => ({ step, master: 'master2', error: `Reload of master2 was refused (${step}).` })),
  );
  t.equal(events('reload', 'reload-finished').length, 0);
});

t.test('a node whose container stopped ends the renewals', async (t) => {
  let checks = 0;
  const { stack, calls } = await renewalStack(t, () => 'swap', { isRunning: async () => ++checks < 2 });
  const summary = await renewCertificates(signal(), stack, options({ renewals: 5 }));
  t.same(summary, { planted: 1, swapped: 1, missed: 0, stoppedBy: 'node-gone' });
  t.equal(calls.filter((call) => call.what === 'reload').length, 1, 'no reload of a node that is gone');
});

t.test('the run signal stops the renewals, also while one waits for its swap, without a miss', async (t) => {
  const { stack, calls, events } = await renewalStack(t, () => 'none');
  const aborted = new AbortController();
  aborted.abort();
  t.same(await renewCertificates({ signal: aborted.signal }, stack, options()), {
    planted: 0,
    swapped: 0,
    missed: 0,
    stoppedBy: 'signal',
  });
  t.same(calls, []);
  // A swap deadline far beyond the test's timeout: only the signal can end this wait.
  const run = new AbortController();
  const unsubscribe = stack.history.subscribe((event) => {
    if (event.type === 'reload-finished') setTimeout(() => run.abort(), 50);
  });
  t.teardown(unsubscribe);
  const summary = await renewCertificates(run, stack, options({ deadlineMs: 600_000 }));
  t.same(summary, { planted: 1, swapped: 0, missed: 0, stoppedBy: 'signal' });
  t.equal(events('renewal', 'missed').length, 0, 'an interrupted wait is not a miss');
});

t.test('a certificate that cannot be written fails the renewals, which still record their end', async (t) => {
  const { stack, calls, events } = await renewalStack(t, () => 'swap', { execExit: 2 });
  await t.rejects(renewCertificates(signal(), stack, options()), {
    code: ErrorCodes.STACK_NOT_READY,
    message:
      "Cannot write /var/lib/icinga2/certs/master2.crt in master2: sh: can't create /var/lib/icinga2/certs/master2.crt.hh: Permission denied",
  });
  t.equal(calls.filter((call) => call.what === 'reload').length, 0, 'no reload without the certificate');
  t.match(events('renewal', 'renewals-finished'), [{ node: 'master2', planted: 0, swapped: 0 }]);
});

t.test('anonymous connect loops run beside the renewals, send no swap, and end with them', async (t) => {
  const server = createServer({ key: own.privateKeyPem, cert: own.certificatePem });
  server.on('tlsClientError', () => undefined);
  server.on('secureConnection', (socket: TLSSocket) => socket.on('error', () => undefined));
  const { host: address } = await listenOnFixedPort(t, server, API_PORT);
  const { stack, history, events } = await renewalStack(t, () => 'swap', {
    address,
    // Each reload returns once the load has counted a connection: the loops run beside the renewals.
    onReload: () =>
      eventually('a load connection', () =>
        history.recent().some((event) => event.type === 'second' && Number(event.connects) > 0),
      ),
  });
  const summary = await renewCertificates(signal(), stack, options({ renewals: 2, connectLoad: 2 }));
  t.same(summary, { planted: 2, swapped: 2, missed: 0, stoppedBy: 'count' });
  t.match(events('jsonrpc', 'swaps-started'), [
    { node: 'master2', ratePerSecond: 1, connectLoad: 2, maxSwaps: 1 },
  ]);
  const [stopped] = events('jsonrpc', 'swaps-stopped');
  t.match(stopped, { node: 'master2', sent: 0, stoppedBy: 'signal', connectFailures: 0 });
  t.ok(Number(stopped?.connects) >= 1, 'the load connected');
  t.equal(events('jsonrpc', 'advisory').length, 0, 'no verdict on the anonymous swap from a renewal run');
  const order = stack.history.recent().map((event) => `${event.source}:${event.type}`);
  t.ok(
    order.indexOf('jsonrpc:swaps-stopped') < order.indexOf('renewal:renewals-finished'),
    'the load has ended when the renewals finish',
  );
});
