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

t.test('connections: the swarm by local port (exact), else peers by address, bounded', async (t) => {
  t.equal(
    connectionFilter({ ports: [40001, 40002, 40001], addresses: ['172.20.0.1'] }),
    'tcp.port==40001 || tcp.port==40002',
  );
  t.equal(
    connectionFilter({ ports: [], addresses: ['172.20.0.1', '172.20.0.3'] }),
    'ip.addr==172.20.0.1 || ip.addr==172.20.0.3',
  );
  t.equal(
    connectionFilter({ ports: [0, 70000], addresses: ['x"; rm -rf'] }),
    undefined,
    'nothing usable: no filter',
  );
  const many = connectionFilter({ ports: Array.from({ length: 500 }, (_, i) => 30000 + i), addresses: [] });
  t.equal(many?.split(' || ').length, 200, 'at most 200 ports');
});

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
