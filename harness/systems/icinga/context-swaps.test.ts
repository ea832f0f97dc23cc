import { join } from 'node:path';
import { createServer, type TLSSocket } from 'node:tls';
import t from 'tap';
import { ErrorCodes } from '../../errors.ts';
import { EC_P256 } from '../../pki/key-spec.ts';
import { History, type HistoryEvent } from '../../run/history.ts';
import { eventually } from '../../test-kits/eventually.ts';
import { listenOnFixedPort, randomLoopbackHost, type Teardown } from '../../test-kits/loopback.ts';
import { tlsPeers } from '../../test-kits/tls.ts';
import {
  advisoryVerdict,
  type ContextSwapOptions,
  ContextSwaps,
  swapContexts,
  UPDATE_CERTIFICATE_ADVISORY,
} from './context-swaps.ts';
import { API_PORT } from './stack/icinga-config.ts';
import type { StartedIcingaStack } from './stack/icinga-stack.ts';
import type { JsonRpcMessage } from './swarm/messages.ts';
import { NetstringParser } from './swarm/netstring.ts';

t.test('the advisory verdict follows what the node did with the anonymous messages', async (t) => {
  t.equal(advisoryVerdict({ sent: 0, swapped: 0 }, false), undefined, 'nothing sent: no verdict');
  t.same(advisoryVerdict({ sent: 20, swapped: 13 }, false), {
    affected: true,
    evidence: '13 context swaps logged for 20 anonymous pki::UpdateCertificate sent',
  });
  t.same(advisoryVerdict({ sent: 20, swapped: 0 }, false), {
    affected: false,
    evidence: '0 context swaps logged for 20 anonymous pki::UpdateCertificate sent',
  });
  t.match(advisoryVerdict({ sent: 300, swapped: 134 }, true), {
    affected: true,
    evidence: /134 context swaps logged for 300 .*, then the daemon died$/,
  });
  // A crash within the log's first flush: no line to count, and still no "not affected".
  t.match(advisoryVerdict({ sent: 40, swapped: 0 }, true), {
    affected: true,
    evidence: /died under 40 anonymous pki::UpdateCertificate before a swap reached its log/,
  });
});

const peers = await tlsPeers();
/** master2's own certificate: what `cat` reads in its container, and what its API port presents. */
const own = await peers.ca.issue('master2', EC_P256);

/**
 * What master2 does with an anonymous pki::UpdateCertificate: swaps (closes the connection and
 * its log shows the swap, now or `lateMs` later), ignores it (a fixed version), or swaps once and
 * dies (stops listening).
 */
type Behaviour = { swap: true; lateMs?: number; dieAfter?: boolean } | { swap: false };

/** master2's API port: TLS with its own certificate, asking for (never requiring) a client one. */
async function nodePort(t: Teardown, history: History, behaviour: Behaviour) {
  const seen = { messages: [] as JsonRpcMessage[], clientCertificates: 0, connections: 0 };
  const server = createServer({
    key: own.privateKeyPem,
    cert: own.certificatePem,
    requestCert: true,
    rejectUnauthorized: false,
  });
  server.on('tlsClientError', () => undefined);
  server.on('secureConnection', (socket: TLSSocket) => {
    seen.connections++;
    if (socket.getPeerCertificate().subject) seen.clientCertificates++;
    socket.on('error', () => undefined);
    const parser = new NetstringParser(1024 * 1024);
    socket.on('data', (chunk: Buffer) => {
      for (const payload of parser.push(chunk)) {
        seen.messages.push(JSON.parse(payload.toString('utf8')) as JsonRpcMessage);
        if (!behaviour.swap) continue;
        if (behaviour.dieAfter) server.close();
        socket.destroy();
        const logged = () =>
          history.record('icinga', 'disruption-started', { kind: 'context-swap', node: 'master2' });
        if (behaviour.lateMs) setTimeout(logged, behaviour.lateMs);
        else logged();
      }
    });
  });
  return { address: (await listenOnFixedPort(t, server, API_PORT)).host, seen };
}

/** A stack of master1 and master2 with only what the swaps call: the CA, the history, exec and isRunning. */
async function swapStack(
  t: Teardown & { testdir(): string },
  node: Partial<{
    address: string;
    behaviour: Behaviour;
    cat: () => Promise<{ exitCode: number; output: string }>;
    isRunning: () => Promise<boolean>;
  }> = {},
) {
  const history = await History.open(join(t.testdir(), 'history.jsonl'));
  t.teardown(() => history.close());
  const port = node.behaviour ? await nodePort(t, history, node.behaviour) : undefined;
  const master2 = {
    name: 'master2',
    // Nothing listens at a fresh loopback address: a node whose daemon is gone.
    address: port?.address ?? node.address ?? randomLoopbackHost(),
    exec: node.cat ?? (async () => ({ exitCode: 0, output: `cat: a warning first\n${own.certificatePem}` })),
    isRunning: node.isRunning ?? (async () => true),
  };
  const nodes = [{ name: 'master1' }, master2];
  const stack = {
    masters: nodes,
    node: (name: string) => nodes.find((candidate) => candidate.name === name),
    ca: peers.ca,
    history,
  } as unknown as StartedIcingaStack;
  const events = (type: string): HistoryEvent[] =>
    history.recent().filter((event) => event.source === 'jsonrpc' && event.type === type);
  /** The per-second counts added up: they account for the whole run. */
  const perSecond = (field: string) =>
    events('second').reduce((sum, event) => sum + Number(event[field] ?? 0), 0);
  return { stack, history, events, perSecond, seen: port?.seen };
}

const swapOptions = (more: Partial<ContextSwapOptions> = {}): ContextSwapOptions => ({
  node: 'master2',
  ratePerSecond: 50,
  senders: 2,
  connectLoad: 0,
  maxSwaps: 3,
  ...more,
});

t.test(
  'swaps out of bounds, or at a node that is not a master, are refused before anything runs',
  async (t) => {
    let reads = 0;
    const { stack, events } = await swapStack(t, {
      cat: async () => {
        reads++;
        return { exitCode: 0, output: own.certificatePem };
      },
    });
    const refused = async (more: Partial<ContextSwapOptions>, message: string) =>
      t.rejects(ContextSwaps.start(stack, swapOptions(more)), {
        code: ErrorCodes.USAGE,
        message: `Context swaps: ${message}.`,
      });
    await refused({ node: 'agent-1' }, 'agent-1 is not a master of this stack');
    for (const ratePerSecond of [0, 501, 2.5])
      await refused({ ratePerSecond }, `the rate is 1 to 500 per second, not ${ratePerSecond}`);
    for (const connectLoad of [-1, 65, 1.5])
      await refused({ connectLoad }, `the connect load is 0 to 64 loops, not ${connectLoad}`);
    for (const maxSwaps of [0, 1_000_001, 0.5])
      await refused({ maxSwaps }, `maxSwaps is 1 to 1000000, not ${maxSwaps}`);
    t.equal(reads, 0, 'the node is not even asked for its certificate');
    t.equal(events('swaps-started').length, 0);
  },
);

t.test('a node whose own certificate cannot be read is not ready: nothing is sent', async (t) => {
  for (const read of [
    { exitCode: 1, output: 'cat: /var/lib/icinga2/certs/master2.crt: No such file or directory\n' },
    { exitCode: 0, output: 'not a certificate\n' },
  ]) {
    const { stack, events } = await swapStack(t, { cat: async () => read });
    await t.rejects(ContextSwaps.start(stack, swapOptions()), {
      code: ErrorCodes.STACK_NOT_READY,
      message: `Cannot read master2's own certificate: ${read.output.trim()}`,
    });
    t.equal(events('swaps-started').length, 0);
  }
});

t.test('each swap is one anonymous connection carrying the node its own certificate and CA', async (t) => {
  const { stack, events, perSecond, seen } = await swapStack(t, { behaviour: { swap: true } });
  const swaps = await ContextSwaps.start(stack, swapOptions({ maxSwaps: 3 }));
  const summary = await swaps.finished();
  t.same(summary, {
    sent: 3,
    closedByNode: 3,
    unanswered: 0,
    connects: 0,
    connectFailures: 0,
    swapped: 3,
    stoppedBy: 'count',
  });
  // The cat output is read from its certificate on: a warning before it is left out.
  const message = {
    jsonrpc: '2.0',
    method: 'pki::UpdateCertificate',
    params: { cert: own.certificatePem, ca: peers.ca.certificatePem },
  };
  t.same(seen?.messages, [message, message, message], 'never more than maxSwaps, and the same message');
  t.equal(seen?.clientCertificates, 0, 'anonymous: no client certificate');
  t.match(events('swaps-started'), [{ node: 'master2', ratePerSecond: 50, connectLoad: 0, maxSwaps: 3 }]);
  t.match(events('swaps-stopped'), [{ node: 'master2', ...summary }]);
  t.same(
    events('advisory').map(({ advisory, node, affected, evidence }) => ({
      advisory,
      node,
      affected,
      evidence,
    })),
    [
      {
        advisory: UPDATE_CERTIFICATE_ADVISORY,
        node: 'master2',
        affected: true,
        evidence: '3 context swaps logged for 3 anonymous pki::UpdateCertificate sent',
      },
    ],
  );
  t.equal(perSecond('swapsSent'), 3, 'the seconds add up to what was sent');
  t.equal(perSecond('closedByNode'), 3);
  t.same(await swaps.end('signal'), summary, 'ending it afterwards changes nothing');
});

t.test('a swap the node logs a moment after it closed the connection still counts', async (t) => {
  const { stack, events } = await swapStack(t, { behaviour: { swap: true, lateMs: 300 } });
  const summary = await (await ContextSwaps.start(stack, swapOptions({ maxSwaps: 1 }))).finished();
  t.match(summary, { sent: 1, closedByNode: 1, swapped: 1, stoppedBy: 'count' });
  t.match(events('advisory'), [{ affected: true }]);
});

t.test('a node that ignores the message leaves it unanswered: not affected', async (t) => {
  const { stack, events, seen } = await swapStack(t, { behaviour: { swap: false } });
  const summary = await (await ContextSwaps.start(stack, swapOptions({ maxSwaps: 1 }))).finished();
  t.same(summary, {
    sent: 1,
    closedByNode: 0,
    unanswered: 1,
    connects: 0,
    connectFailures: 0,
    swapped: 0,
    stoppedBy: 'count',
  });
  t.equal(seen?.messages.length, 1, 'it did arrive');
  t.match(events('advisory'), [
    { affected: false, evidence: '0 context swaps logged for 1 anonymous pki::UpdateCertificate sent' },
  ]);
});

t.test('a node that ignores every swap refuses them: the swaps stop early, not affected', async (t) => {
  const { stack, events } = await swapStack(t, { behaviour: { swap: false } });
  const started = performance.now();
  const summary = await (
    await ContextSwaps.start(stack, swapOptions({ maxSwaps: 1000, refusedAfter: 2 }))
  ).finished();
  t.match(summary, { swapped: 0, closedByNode: 0, stoppedBy: 'refused' });
  t.ok(summary.unanswered >= 2, `every swap sent went unanswered (${summary.unanswered} of ${summary.sent})`);
  t.equal(summary.unanswered, summary.sent);
  t.ok(
    summary.sent < 10,
    `it stopped after the first unanswered swaps, not 1,000 of them (${summary.sent} sent)`,
  );
  t.ok(performance.now() - started < 30_000, 'within one round of timeouts');
  t.match(events('advisory'), [{ affected: false }]);
});

t.test('a node whose connections all fail is gone; nothing sent, no verdict', async (t) => {
  const { stack, events, perSecond } = await swapStack(t, { isRunning: async () => false });
  const swaps = await ContextSwaps.start(
    stack,
    swapOptions({ ratePerSecond: 500, maxSwaps: 1000, connectLoad: 1 }),
  );
  const summary = await swaps.finished();
  t.match(summary, { sent: 0, closedByNode: 0, swapped: 0, connects: 0, stoppedBy: 'node-gone' });
  t.ok(summary.connectFailures >= 1, 'the connect loop failed too');
  t.equal(perSecond('connectFailures'), summary.connectFailures);
  t.match(events('second'), [{ reason: /ECONNREFUSED/ }]);
  t.match(events('node-unreachable'), [{ node: 'master2', error: /ECONNREFUSED/ }]);
  t.equal(events('advisory').length, 0, 'nothing sent: no verdict');
});

t.test('a node that swaps and then dies is affected: its container exited', async (t) => {
  const { stack, events } = await swapStack(t, {
    behaviour: { swap: true, dieAfter: true },
    isRunning: () => Promise.reject(new Error('no such container')),
  });
  // One sender: the first swap is sent before the node dies, and only it.
  const swaps = await ContextSwaps.start(
    stack,
    swapOptions({ ratePerSecond: 500, senders: 1, maxSwaps: 1000 }),
  );
  const summary = await swaps.finished();
  t.match(summary, { sent: 1, closedByNode: 1, swapped: 1, stoppedBy: 'node-gone' });
  t.match(events('advisory'), [
    {
      affected: true,
      evidence: '1 context swaps logged for 1 anonymous pki::UpdateCertificate sent, then the daemon died',
    },
  ]);
});

t.test('connections failing in a row are not a death while the container still runs', async (t) => {
  let checks = 0;
  const { stack, events } = await swapStack(t, {
    behaviour: { swap: true, dieAfter: true },
    isRunning: async () => {
      checks++;
      return true;
    },
  });
  const swaps = await ContextSwaps.start(
    stack,
    swapOptions({ ratePerSecond: 500, senders: 1, maxSwaps: 1000 }),
  );
  const summary = await swaps.finished();
  t.match(summary, { sent: 1, swapped: 1, stoppedBy: 'node-gone' });
  t.ok(checks > 1, 'it gave the container time to exit');
  t.match(events('advisory'), [
    { affected: true, evidence: '1 context swaps logged for 1 anonymous pki::UpdateCertificate sent' },
  ]);
});

t.test('a signal that came before the start stops it at once: no connection is made', async (t) => {
  const { stack, events, seen } = await swapStack(t, { behaviour: { swap: true } });
  const aborted = new AbortController();
  aborted.abort();
  const before = await ContextSwaps.start(stack, swapOptions({ connectLoad: 2, signal: aborted.signal }));
  t.match(await before.finished(), { sent: 0, connects: 0, stoppedBy: 'signal' });
  t.equal(seen?.connections, 0, 'no connection made');
  t.equal(events('advisory').length, 0);
});

t.test('connect loops open and close anonymous connections until stopped, counted each second', async (t) => {
  const { stack, events, perSecond } = await swapStack(t, { behaviour: { swap: true } });
  const run = new AbortController();
  // No sender: the connect load alone, as the renewals run it.
  const swaps = await ContextSwaps.start(
    stack,
    swapOptions({ senders: 0, connectLoad: 2, maxSwaps: 1, signal: run.signal }),
  );
  await eventually('connects counted', () => events('second').some((second) => Number(second.connects) > 0));
  run.abort();
  const summary = await swaps.finished();
  t.match(summary, { sent: 0, connectFailures: 0, stoppedBy: 'signal' });
  t.ok(summary.connects >= 1);
  t.equal(perSecond('connects'), summary.connects, 'the seconds add up to the connects');
  t.equal(events('advisory').length, 0);
});

t.test('swapContexts holds a run whose node is gone until the observers had their time', async (t) => {
  const { stack, events } = await swapStack(t, { isRunning: async () => false });
  const run = new AbortController();
  let resolved = false;
  const swapping = swapContexts(run, stack, swapOptions({ ratePerSecond: 500, maxSwaps: 1000 })).then(
    (summary) => {
      resolved = true;
      return summary;
    },
  );
  await eventually('the swaps stopped', () => events('swaps-stopped').length > 0);
  t.notOk(resolved, 'still settling after the swaps stopped');
  run.abort();
  t.match(await swapping, { stoppedBy: 'node-gone' }, 'the signal ends the settling, not the reason');
});

t.test('swapContexts returns the summary once the swaps are done', async (t) => {
  const { stack } = await swapStack(t, { behaviour: { swap: true } });
  const summary = await swapContexts(
    { signal: new AbortController().signal },
    stack,
    swapOptions({ maxSwaps: 2 }),
  );
  t.match(summary, { sent: 2, swapped: 2, stoppedBy: 'count' });
});
