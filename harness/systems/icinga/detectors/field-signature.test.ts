import t from 'tap';
import { DetectorChain } from '../../../observe/detection.ts';
import { IncidentLedger, standaloneIncidents } from '../../../observe/incidents.ts';
import type { HistoryEvent } from '../../../run/history.ts';
import fieldSignature from './field-signature.ts';

let clock = 0;
function event(source: string, type: string, fields: Record<string, unknown>, at?: number): HistoryEvent {
  clock += 100;
  const t = at ?? clock;
  return { t, at: new Date(Date.UTC(2026, 10, 30, 10) + t).toISOString(), source, type, ...fields };
}

const ADDRESSES = event('stack', 'node-addresses', {
  addresses: {
    '172.20.0.2': 'master1',
    '172.20.0.3': 'master2',
    '172.20.0.4': 'agent-1',
    '172.20.0.5': 'agent-2',
  },
  gateway: '172.20.0.1',
});

/** A line of `node`'s icinga2.log as the log recorder records it. */
function line(node: string, direction: 'from' | 'to', address: string, reason: string, at?: number) {
  return event(
    'observe',
    'log-match',
    {
      node,
      kind: 'tls-handshake-failed',
      line: `[2026-11-30 10:00:01 +0000] critical/ApiListener: Client TLS handshake failed (${direction} [${address}]:5665): ${reason}`,
    },
    at,
  );
}

function detect(events: HistoryEvent[]) {
  const ledger = new IncidentLedger();
  const chain = new DetectorChain([fieldSignature], (signal) => ledger.apply(signal));
  for (const e of events) chain.feed(e);
  return ledger.list();
}

t.test(
  '2.13/2.14 shape: one master failing with three peers, as server and client, is the signature',
  async (t) => {
    const [incident, ...rest] = detect([
      ADDRESSES,
      line('master1', 'from', '::ffff:172.20.0.4', 'excessive message size'),
      line('master1', 'from', '172.20.0.5', 'excessive message size'),
      line('master1', 'to', '172.20.0.3', 'excessive message size (SSL routines)'),
    ]);
    t.same(rest, []);
    t.match(incident, { kind: 'field-signature', node: 'master1', detector: 'field-signature', count: 1 });
    t.match(incident?.summary, /3 peers as server and as client .*agent-1, agent-2, master2/);
    t.same(
      [...(incident?.peers ?? [])].sort(),
      ['agent-1', 'agent-2', 'master2'],
      'every peer it opened with is listed',
    );
  },
);

t.test(
  '2.12.3 shape: the peers see alert 47 and name the failing node; the swarm counts by name',
  async (t) => {
    const [incident] = detect([
      ADDRESSES,
      // master2 dialled master1, which could not read its certificate: master1 failed as server.
      line('master2', 'to', '172.20.0.2', 'sslv3 alert illegal parameter'),
      // master1 dialled agent-1 and could not read its certificate: master1 failed as client.
      line('agent-1', 'from', '172.20.0.2', 'sslv3 alert illegal parameter'),
      event('swarm', 'handshake-failed', {
        master: 'master1',
        endpoint: 'sim-7',
        code: 'ERR_SSL_SSLV3_ALERT_ILLEGAL_PARAMETER',
        error: 'sslv3 alert illegal parameter',
      }),
    ]);
    t.match(incident, { kind: 'field-signature', node: 'master1' });
    t.match(incident?.summary, /master2.*agent-1.*sim-7|3 peers/);
  },
);

t.test("the canary's one bad peer is never the signature, however often", async (t) => {
  const events = [ADDRESSES];
  for (let i = 0; i < 50; i++) {
    events.push(line('master1', 'from', '172.20.0.1', 'excessive message size'));
    events.push(line('master2', 'from', '172.20.0.1', 'excessive message size'));
  }
  t.same(detect(events), [], 'the gateway is the swarm: one endpoint, counted by name from its own events');
});

t.test('one role only, or peers spread over more than a minute: not the signature', async (t) => {
  t.same(
    detect([
      ADDRESSES,
      line('master1', 'from', '172.20.0.4', 'excessive message size'),
      line('master1', 'from', '172.20.0.5', 'excessive message size'),
      line('master1', 'from', '172.20.0.3', 'excessive message size'),
    ]),
    [],
    'server side only',
  );
  t.same(
    detect([
      ADDRESSES,
      line('master1', 'from', '172.20.0.4', 'excessive message size', 1_000),
      line('master1', 'from', '172.20.0.5', 'excessive message size', 40_000),
      line('master1', 'to', '172.20.0.3', 'excessive message size', 80_000),
    ]),
    [],
    'more than 60 s apart',
  );
});

t.test('a failure after the node reloaded says the reload did not clear it', async (t) => {
  const [incident] = detect([
    ADDRESSES,
    line('master1', 'from', '172.20.0.4', 'excessive message size'),
    line('master1', 'from', '172.20.0.5', 'excessive message size'),
    line('master1', 'to', '172.20.0.3', 'excessive message size'),
    event('reload', 'reload-started', { master: 'master1' }),
    event('reload', 'reload-finished', { master: 'master1', newPid: 9 }),
    line('master1', 'from', '172.20.0.4', 'excessive message size'),
  ]);
  t.match(incident, { count: 2, findings: { survivedReloads: 1 } });
});

t.test(
  'the signature absorbs the handshake failures it is made of: one failure, one incident judged',
  async (t) => {
    const ledger = new IncidentLedger();
    const chain = new DetectorChain([fieldSignature], (signal) => ledger.apply(signal));
    // The log-lines detector's incidents, as it opens them before the signature is complete.
    const handshakeFailed = (node: string, peer: string, at = '2026-11-30T10:00:00.000Z') =>
      ledger.apply({ kind: 'tls-handshake-failed', at, node, peer, summary: '' });
    // A failure of a peer the day before: another story, not a part.
    handshakeFailed('agent-1', '172.20.0.8', '2026-11-29T10:00:00.000Z');
    handshakeFailed('master1', '172.20.0.4');
    handshakeFailed('agent-2', '172.20.0.9');
    for (const e of [
      ADDRESSES,
      line('master1', 'from', '172.20.0.4', 'excessive message size'),
      line('master1', 'from', '172.20.0.5', 'excessive message size'),
      line('master1', 'to', '172.20.0.3', 'excessive message size'),
    ])
      chain.feed(e);
    // master2, its peer, logs its side after the signature opened.
    handshakeFailed('master2', '172.20.0.2');
    handshakeFailed('agent-9', '172.20.0.2');
    const byNode = (kind: string, node: string) =>
      ledger.list().find((i) => i.kind === kind && i.node === node);
    const signature = byNode('field-signature', 'master1');
    t.equal(
      byNode('tls-handshake-failed', 'master1')?.partOf,
      signature?.id,
      "the failing node's own failures",
    );
    t.equal(
      byNode('tls-handshake-failed', 'agent-2')?.partOf,
      signature?.id,
      'a peer that was refused, seen before',
    );
    t.equal(
      byNode('tls-handshake-failed', 'master2')?.partOf,
      signature?.id,
      'a peer whose failures open later',
    );
    t.equal(
      byNode('tls-handshake-failed', 'agent-9')?.partOf,
      undefined,
      'a node that is no peer of it stays apart',
    );
    t.equal(
      byNode('tls-handshake-failed', 'agent-1')?.partOf,
      undefined,
      "a peer's failure from before the signature's minute stays apart",
    );
    t.equal(signature?.partOf, undefined);
    t.same(
      standaloneIncidents(ledger.list()).map((i) => `${i.kind}@${i.node}`),
      ['tls-handshake-failed@agent-1', 'field-signature@master1', 'tls-handshake-failed@agent-9'],
    );
  },
);
