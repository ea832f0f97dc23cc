import t from 'tap';
import type { HandshakeHead } from './handshake-heads.ts';
import { handshakeVerdict, type SentAlert } from './handshake-verdict.ts';

const head = (
  frame: number,
  stream: number,
  from: string,
  to: string,
  type: string,
  declaredLength: number,
) => ({ frame, stream, from, to, type, declaredLength }) satisfies HandshakeHead;
const alert = (
  frame: number,
  stream: number,
  seconds: number,
  from: string,
  to: string,
  name = 'illegal_parameter',
) => ({ frame, stream, seconds, from, to, alert: name }) satisfies SentAlert;

t.test(
  'the refused message is the last one of the peer before the alert, on the same connection',
  async (t) => {
    const heads = [
      head(4, 0, '172.21.0.1:51602', '172.21.0.2:5665', 'ClientHello', 1575),
      head(6, 0, '172.21.0.2:5665', '172.21.0.1:51602', 'ServerHello', 61),
      head(10, 0, '172.21.0.1:51602', '172.21.0.2:5665', 'Certificate', 172_642),
      head(25, 1, '172.21.0.1:51604', '172.21.0.2:5665', 'ClientHello', 1575),
      head(31, 1, '172.21.0.1:51604', '172.21.0.2:5665', 'Certificate', 172_642),
      // After the alert: not what was refused.
      head(40, 1, '172.21.0.1:51604', '172.21.0.2:5665', 'ClientKeyExchange', 66),
    ];
    const alerts = [
      alert(13, 0, 0.0098, '172.21.0.2:5665', '172.21.0.1:51602'),
      alert(36, 1, 2.1169, '172.21.0.2:5665', '172.21.0.1:51604'),
    ];
    t.equal(
      handshakeVerdict(heads, alerts, [5665]),
      "172.21.0.2 as server sent illegal_parameter after the client's Certificate (declared 172,642 bytes): 1 connection, peers 172.21.0.1 (1); first at 0.010 s\n" +
        "172.21.0.2 as server sent illegal_parameter after the client's ClientHello (declared 1,575 bytes), Certificate (declared 172,642 bytes): 1 connection, peers 172.21.0.1 (1); first at 2.117 s\n",
    );
  },
);

t.test(
  'both roles: as client, the server it dialled; one line per kind, the most connections first',
  async (t) => {
    const heads = [
      head(1, 0, '172.24.0.4:5665', '172.24.0.5:47422', 'Certificate', 2601),
      head(2, 1, '172.24.0.3:5665', '172.24.0.5:49408', 'Certificate', 2601),
      head(3, 2, '172.24.0.1:60496', '172.24.0.5:5665', 'Certificate', 2590),
    ];
    const alerts = [
      alert(5, 0, 1.5, '172.24.0.5:47422', '172.24.0.4:5665'),
      alert(6, 1, 1.2, '172.24.0.5:49408', '172.24.0.3:5665'),
      alert(7, 2, 1.0, '172.24.0.5:5665', '172.24.0.1:60496'),
      alert(9, 3, 2.0, '172.24.0.5:5665', '172.24.0.1:60510', 'decode_error'),
    ];
    t.same(handshakeVerdict(heads, alerts, [5665]).trimEnd().split('\n'), [
      "172.24.0.5 as client sent illegal_parameter after the server's Certificate (declared 2,601 bytes): 2 connections, peers 172.24.0.4 (1), 172.24.0.3 (1); first at 1.200 s",
      "172.24.0.5 as server sent illegal_parameter after the client's Certificate (declared 2,590 bytes): 1 connection, peers 172.24.0.1 (1); first at 1.000 s",
      "172.24.0.5 as server sent decode_error with no readable message of the client's before it: 1 connection, peers 172.24.0.1 (1); first at 2.000 s",
    ]);
  },
);

t.test('no alert: says so, and why there may be none to read', async (t) => {
  t.match(handshakeVerdict([], [], [5665]), /^No TLS alert in the capture \(in TLS 1\.3 without secrets/);
});

t.test('bounded: at most 12 lines, the rest counted', async (t) => {
  const alerts = Array.from({ length: 20 }, (_, i) =>
    alert(i, i, i, `10.0.0.${i}:5665`, `10.0.1.${i}:40000`),
  );
  const lines = handshakeVerdict([], alerts, [5665]).trimEnd().split('\n');
  t.equal(lines.length, 13);
  t.equal(lines.at(-1), 'and 8 more kinds of failure');
});
