import t from 'tap';
import type { Incident } from '../observe/incidents.ts';
import { oneIncidentPerMaster } from '../systems/icinga/expectations.ts';
import {
  dependingOn,
  eachStep,
  judge,
  MAX_JUDGED_STEPS,
  noIncident,
  oneIncidentPerNode,
  StepSpans,
} from './expectations.ts';

const incident = (id: number, kind: string, master: string, evidence: string[] = []): Incident => ({
  id,
  kind,
  node: master,
  summary: '',
  firstSeen: '',
  lastSeen: '',
  count: 3,
  peers: [],
  clients: [],
  reasons: [],
  evidence,
  findings: {},
});

t.test('one incident per master with its log excerpt: met, and each way of missing it', async (t) => {
  const expect = oneIncidentPerMaster('tls-handshake-failed');
  const nodes = [
    { name: 'master1', role: 'master' },
    { name: 'master2', role: 'master' },
    { name: 'agent-1', role: 'agent' },
  ];
  const m1 = incident(1, 'tls-handshake-failed', 'master1', ['log-master1.txt']);
  const both = [
    incident(1, 'tls-handshake-failed', 'master1', ['log-master1.txt']),
    incident(2, 'tls-handshake-failed', 'master2', ['log-master2.txt']),
  ];
  t.ok(expect.check({ incidents: both, nodes }).ok);
  t.match(expect.check({ incidents: [m1], nodes }), { ok: false, detail: /master2 has 0/ });
  t.match(expect.check({ incidents: [m1, incident(2, 'tls-handshake-failed', 'master2')], nodes }), {
    ok: false,
    detail: /#2 lacks log-master2.txt/,
  });
  t.match(expect.check({ incidents: [], nodes }), { ok: false, detail: /master1 has 0; master2 has 0/ });
});

t.test('no incident, or none but the allowed kinds', async (t) => {
  t.ok(noIncident().check({ incidents: [], nodes: [] }).ok);
  t.match(noIncident().check({ incidents: [incident(1, 'crash', 'master1')], nodes: [] }), {
    ok: false,
    detail: /#1 crash@master1 x3/,
  });
  t.ok(
    noIncident({ except: ['crash'] }).check({ incidents: [incident(1, 'crash', 'master1')], nodes: [] }).ok,
  );
  t.same(judge([noIncident()], { incidents: [], nodes: [] }), [
    { description: 'no incident', ok: true, detail: 'incidents: none' },
  ]);
});

t.test('one incident per node of any role, or of every node', async (t) => {
  const nodes = [
    { name: 'stunnel', role: 'stunnel' },
    { name: 'backend', role: 'backend' },
  ];
  const stall = incident(1, 'stall', 'stunnel', ['log-stunnel.txt']);
  t.ok(oneIncidentPerNode('stall', { role: 'stunnel' }).check({ incidents: [stall], nodes }).ok);
  t.match(oneIncidentPerNode('stall').check({ incidents: [stall], nodes }), {
    ok: false,
    detail: /backend has 0/,
  });
  t.equal(
    oneIncidentPerNode('stall', { role: 'stunnel' }).description,
    'one stall incident per stunnel, with evidence',
  );
});

t.test('one incident on the named nodes, and none of that kind elsewhere', async (t) => {
  const nodes = [
    { name: 'master1', role: 'master' },
    { name: 'master2', role: 'master' },
  ];
  const expect = oneIncidentPerNode('field-signature', { nodes: ['master1'], evidence: [] });
  t.ok(expect.check({ incidents: [incident(1, 'field-signature', 'master1')], nodes }).ok);
  t.match(
    expect.check({
      incidents: [incident(1, 'field-signature', 'master1'), incident(2, 'field-signature', 'master2')],
      nodes,
    }),
    { ok: false, detail: /also on master2/ },
  );
  t.match(expect.check({ incidents: [], nodes }), { ok: false, detail: /master1 has 0/ });
});

t.test(
  'the description of named nodes reads as a sentence, and names evidence only when asked',
  async (t) => {
    t.equal(
      oneIncidentPerNode('field-signature', { nodes: ['master1'], evidence: [] }).description,
      'one field-signature incident on master1 and none elsewhere',
    );
    t.equal(
      oneIncidentPerNode('field-signature', { nodes: ['master1', 'master2'], evidence: ['capture.pcapng'] })
        .description,
      'one field-signature incident on master1, master2 and none elsewhere, with evidence',
    );
  },
);

t.test('dependingOn judges and names only the case the parameter chose', async (t) => {
  const nodes = [{ name: 'stunnel', role: 'stunnel' }];
  const expect = dependingOn('cause', {
    fifo: [oneIncidentPerNode('stall', { role: 'stunnel' })],
    none: [noIncident()],
    other: [],
  });
  const stall = incident(1, 'stall', 'stunnel', ['log-stunnel.txt']);
  t.same(expect.check({ incidents: [stall], nodes, params: { cause: 'fifo' } }), {
    ok: true,
    description: 'cause=fifo: one stall incident per stunnel, with evidence',
    detail: 'found: #1 stall@stunnel x3',
  });
  t.same(expect.check({ incidents: [stall], nodes, params: { cause: 'none' } }), {
    ok: false,
    description: 'cause=none: no incident',
    detail: 'NOT MET: incidents: #1 stall@stunnel x3',
  });
  t.same(expect.check({ incidents: [stall], nodes, params: { cause: 'other' } }), {
    ok: true,
    description: 'cause=other: nothing expected',
    detail: 'nothing expected',
  });
  t.same(
    judge([expect], { incidents: [], nodes, params: { cause: 'none' } }).map((r) => r.description),
    ['cause=none: no incident'],
    "the verdict's line is the chosen case's",
  );
});

t.test('eachStep: every step judged on its own incidents, a cut-short last step not at all', async (t) => {
  const nodes = [{ name: 'stunnel', role: 'proxy' }];
  const at = (second: number) => new Date(Date.UTC(2026, 11, 7, 12, 0, second)).toISOString();
  const seen = (id: number, kind: string, second: number): Incident => ({
    ...incident(id, kind, 'stunnel'),
    firstSeen: at(second),
  });
  const expect = eachStep(oneIncidentPerNode('throughput-stall', { nodes: ['stunnel'], evidence: [] }));
  const steps = [0, 10, 20].map((second) => ({ begunAt: Date.parse(at(second)), done: true }));
  const facts = (incidents: Incident[], spans = steps) => ({
    incidents,
    nodes,
    steps: spans,
    stepUnit: 'episodes',
  });
  const everyEpisode = [
    seen(1, 'throughput-stall', 5),
    seen(2, 'throughput-stall', 12),
    seen(3, 'throughput-stall', 29),
  ];
  t.match(expect.check(facts(everyEpisode)), {
    ok: true,
    description: 'in each of the episodes: one throughput-stall incident on stunnel and none elsewhere',
    detail: '3 of 3 episodes met',
  });
  t.match(
    expect.check(
      facts([
        seen(1, 'throughput-stall', 5),
        seen(3, 'throughput-stall', 29),
        seen(4, 'throughput-stall', 25),
      ]),
    ),
    { ok: false, detail: /^1 of 3 episodes met; NOT MET in episode #2: stunnel has 0 .*, #3: stunnel has 2/ },
    'one missing and one twice: each episode named',
  );
  t.match(
    expect.check(
      facts([
        seen(1, 'throughput-stall', -30),
        seen(2, 'throughput-stall', 12),
        seen(3, 'throughput-stall', 29),
      ]),
    ),
    { ok: true },
    'one before the first step counts with the first',
  );
  const cut = [...steps.slice(0, 2), { begunAt: Date.parse(at(20)), done: false }];
  t.match(
    expect.check(facts(everyEpisode.slice(0, 2), cut)),
    { ok: true, detail: "2 of 2 episodes met (1 cut short by the run's end, not judged)" },
    'the soak ended mid-episode: that episode is not judged',
  );
  t.match(
    expect.check(facts([], [{ begunAt: 0, done: false }])),
    { ok: false, detail: /^0 of 0 episodes met/ },
    'no step ended: nothing met',
  );
  t.match(
    expect.check({ ...facts(everyEpisode.slice(0, 1)), incidentsFullAt: at(11) }),
    {
      ok: true,
      detail: "1 of 1 episodes met (2 not over when the run's incidents reached their cap, not judged)",
    },
    'the ledger full at 11 s: the episodes from 10 s on are not all known',
  );
  t.match(
    expect.check({ incidents: everyEpisode, nodes }),
    { ok: false, description: /^in the run \(no steps told\)/, detail: /stunnel has 3/ },
    'a run that tells no steps is judged whole',
  );
});

t.test(
  'StepSpans: steps from the history, each ended by the first done after it began; bounded',
  async (t) => {
    const spans = new StepSpans((event) =>
      event.type === 'b' ? 'begun' : event.type === 'd' ? 'done' : undefined,
    );
    const event = (type: string, second: number) => ({
      t: second,
      at: new Date(second * 1000).toISOString(),
      source: 's',
      type,
    });
    for (const e of [event('d', 0), event('b', 1), event('x', 2), event('d', 3), event('b', 4)]) spans.see(e);
    t.same(spans.spans, [
      { begunAt: 1000, done: true },
      { begunAt: 4000, done: false },
    ]);
    for (let i = 0; i < MAX_JUDGED_STEPS + 5; i++) spans.see(event('b', 5));
    t.equal(spans.spans.length, MAX_JUDGED_STEPS);
  },
);
