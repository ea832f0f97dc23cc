import t from 'tap';
import { connectionFilter, incidentWindow, secretsFor, segmentsFor } from './capture-window.ts';

t.test('the window around an incident and the ring files that cover it', async (t) => {
  const window = incidentWindow('2026-11-21T10:00:30.000Z', 30_000, 10_000);
  t.same(window, {
    from: Date.parse('2026-11-21T10:00:00.000Z'),
    to: Date.parse('2026-11-21T10:00:40.000Z'),
  });
  const at = (s: number) => Date.parse('2026-11-21T10:00:00.000Z') + s * 1000;
  const ring = [
    { path: 'ring.pcap2', firstAt: at(35), lastAt: at(60) },
    { path: 'ring.pcap0', firstAt: at(-50), lastAt: at(-1) },
    { path: 'ring.pcap1', firstAt: at(-1), lastAt: at(35) },
    { path: 'ring.pcap3', firstAt: at(61), lastAt: at(70) },
  ];
  t.same(
    segmentsFor(ring, window).map((s) => s.path),
    ['ring.pcap1', 'ring.pcap2'],
    'overlapping ones, oldest first',
  );
  t.same(segmentsFor(ring, { from: at(100), to: at(110) }), [], 'none when the ring has moved on');
});

t.test(
  'connections: each by its address and port, by port alone (the swarm), by address alone; bounded',
  async (t) => {
    t.equal(
      connectionFilter([{ port: 40001 }, { port: 40002 }, { port: 40001 }]),
      'tcp.port==40001 || tcp.port==40002',
      "the swarm's local ports, once each",
    );
    t.equal(
      connectionFilter([
        { address: '172.20.0.1', port: 52230 },
        { address: '172.20.0.4', port: 5665 },
        { address: '172.20.0.3' },
      ]),
      '(ip.addr==172.20.0.1 && tcp.port==52230) || (ip.addr==172.20.0.4 && tcp.port==5665) || ip.addr==172.20.0.3',
      "a dialled peer's listener port names its connections with that peer only, not every connection",
    );
    t.equal(
      connectionFilter([{ port: 0 }, { port: 70000 }, { address: 'x"; rm -rf' }]),
      undefined,
      'nothing usable: no filter',
    );
    const many = connectionFilter(Array.from({ length: 500 }, (_, i) => ({ port: 30000 + i })));
    t.equal(many?.split(' || ').length, 200, 'at most 200 connections');
  },
);

t.test('secrets: only the lines of the sessions in the capture', async (t) => {
  const keylog = [
    'CLIENT_HANDSHAKE_TRAFFIC_SECRET AABB01 1111',
    'SERVER_HANDSHAKE_TRAFFIC_SECRET aabb01 2222',
    'CLIENT_HANDSHAKE_TRAFFIC_SECRET ccdd02 3333',
    '',
    'garbage',
  ].join('\n');
  t.same(secretsFor(keylog, new Set(['aabb01'])), [
    'CLIENT_HANDSHAKE_TRAFFIC_SECRET AABB01 1111',
    'SERVER_HANDSHAKE_TRAFFIC_SECRET aabb01 2222',
  ]);
});
