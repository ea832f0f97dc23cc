import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { connect as connectTcp, createServer as createTcpServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import t from 'tap';
import { eventually } from '../test-kits/eventually.ts';
import { listenOnLoopback } from '../test-kits/loopback.ts';
import { recordLoopback } from '../test-kits/loopback-capture.ts';
import { writeRandomPcapng } from '../test-kits/pcapng.ts';
import { tlsPeers } from '../test-kits/tls.ts';
import {
  alertsIn,
  bounded,
  clientRandoms,
  cut,
  describeSegments,
  handshakeHeadsIn,
  headsSummary,
  httpStreams,
  injectSecrets,
  MAX_LISTED_LINES,
  mergeWindow,
  summarize,
  trafficPerSecond,
  unreadNote,
  withoutStreams,
  withToolSignal,
} from './capture-tools.ts';
import { handshakeVerdict } from './handshake-verdict.ts';

const run = promisify(execFile);

/**
 * One real capture for the whole file, made on loopback: four connections one after the other, so
 * they are tcp.stream 0 to 3.
 *   0: TLS 1.2 with client certificates, a JSON-RPC line each way, closed with close_notify;
 *   1: the same with ALPN http/1.1 and a REST request (Basic auth), as the harness's API calls;
 *   2: a client without a certificate: the server alerts handshake_failure;
 *   3: a plain TCP connection the client resets.
 * The client's key log holds the secrets of the three TLS sessions.
 */
const peers = await tlsPeers();
const dir = t.testdir();
const keyLines: string[] = [];
let serverSidesClosed = 0;
const serverSide = (socket: Socket) => {
  socket.on('error', () => undefined);
  socket.on('close', () => serverSidesClosed++);
};
const tlsServer = createServer({
  key: peers.server.privateKeyPem,
  cert: peers.server.certificatePem,
  ca: peers.ca.certificatePem,
  requestCert: true,
  rejectUnauthorized: true,
  maxVersion: 'TLSv1.2',
  ALPNProtocols: ['http/1.1'],
});
tlsServer.on('secureConnection', (socket: TLSSocket) => {
  serverSide(socket);
  socket.once('data', () =>
    socket.end(
      socket.alpnProtocol === 'http/1.1'
        ? 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok'
        : '{"jsonrpc":"2.0","method":"event::Heartbeat"}\n',
    ),
  );
});
tlsServer.on('tlsClientError', (_error, socket: TLSSocket) => serverSide(socket));
const tls = await listenOnLoopback(t, tlsServer);
const tcp = await listenOnLoopback(t, createTcpServer(serverSide));

/**
 * Waits for both ends of the connection to close, so the next one starts after this one's last
 * packet (stream numbers and windows depend on the order); resolves with the client's port.
 */
async function closed(socket: Socket, connection: number): Promise<number> {
  let clientClosed = false;
  let port: number | undefined;
  socket.once('connect', () => {
    port = socket.localPort;
  });
  socket.on('close', () => {
    clientClosed = true;
  });
  socket.on('error', () => undefined);
  await eventually(
    `connection ${connection} closed at both ends`,
    () => clientClosed && serverSidesClosed === connection + 1,
  );
  if (port === undefined) throw new Error(`connection ${connection} never connected`);
  return port;
}

function tlsConversation(connection: number, request: string, options: { alpn?: string; anonymous?: true }) {
  const socket = connect({
    host: '127.0.0.1',
    port: tls.port,
    servername: 'master1',
    ca: peers.ca.certificatePem,
    ...(options.anonymous ? {} : { key: peers.client.privateKeyPem, cert: peers.client.certificatePem }),
    ...(options.alpn ? { ALPNProtocols: [options.alpn] } : {}),
  });
  socket.on('keylog', (line: Buffer) => keyLines.push(line.toString().trim()));
  socket.once('secureConnect', () => socket.write(request));
  socket.resume();
  return closed(socket, connection);
}

const pcap = join(dir, 'loopback.pcap');
const clients = await recordLoopback(t, [tls.port, tcp.port], pcap, async () => {
  const ports = [
    await tlsConversation(0, '{"jsonrpc":"2.0","method":"icinga::Hello"}\n', {}),
    await tlsConversation(
      1,
      'GET /v1/status HTTP/1.1\r\nHost: master1\r\nAuthorization: Basic cm9vdDpzZWNyZXQ=\r\n\r\n',
      { alpn: 'http/1.1' },
    ),
    await tlsConversation(2, 'never sent', { anonymous: true }),
  ];
  const socket = connectTcp(tcp.port, '127.0.0.1');
  const reset = closed(socket, 3);
  socket.once('connect', () => socket.resetAndDestroy());
  return [...ports, await reset];
});
const keyLog = join(dir, 'keys.log');
await writeFile(keyLog, `${keyLines.join('\n')}\n`);
/** Client randoms of the key log, in connection order (TLS 1.2: CLIENT_RANDOM <random> <master secret>). */
const randoms = keyLines
  .map((line) => line.split(' '))
  .flatMap(([label, random]) => (label === 'CLIENT_RANDOM' && random ? [random.toLowerCase()] : []));
const injected = join(dir, 'loopback.pcapng');
await injectSecrets(pcap, keyLog, injected);

/** Each connection's client end, by connection (tcp.stream) number. */
const client = clients.map((port) => `127.0.0.1:${port}`) as [string, string, string, string];
const server = `127.0.0.1:${tls.port}`;

/** tshark's fields of the packets a display filter selects: one array per packet. */
async function fields(file: string, filter: string, ...names: string[]): Promise<string[][]> {
  const { stdout } = await run('tshark', [
    '-n',
    '-r',
    file,
    ...(filter ? ['-Y', filter] : []),
    '-T',
    'fields',
    '-E',
    'separator=\t',
    ...names.flatMap((name) => ['-e', name]),
  ]);
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\t'));
}
/** Each packet's timestamp as tshark prints it (ns digits): exact, no float. */
const times = async (file: string, filter = '') =>
  (await fields(file, filter, 'frame.time_epoch')).map(([time]) => time as string);
/** A tshark timestamp in ms since the epoch, as mergeWindow takes it. */
const ms = (time: string) => Number(time) * 1000;

/**
 * A Certificate message's declared length: a 3-byte list length, then each DER with its 3-byte
 * length. OpenSSL sends the leaf and the CA (it completes the chain from the trusted CAs).
 */
const certificateLength = (leafPem: string) =>
  3 +
  [leafPem, peers.ca.certificatePem].reduce((sum, pem) => sum + 3 + new X509Certificate(pem).raw.length, 0);
const serverCertificate = certificateLength(peers.server.certificatePem);
const clientCertificate = certificateLength(peers.client.certificatePem);

/** A summary row after its frame and seconds, as a pattern: `#` stands for a length that varies. */
const row = (from: string, to: string, ...what: string[]) =>
  new RegExp(
    `^${from} -> ${to}  ${what.join(', ')}$`.replace(/[.()]/g, (c) => `\\${c}`).replace(/#/g, '\\d+'),
  );
const summaryRows = (summary: string) =>
  summary
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((line) => line.replace(/^\s*\d+\s+\d+\.\d{6}\s+/, ''));

t.test('the capture: three TLS sessions and a reset, their client randoms in the key log', async (t) => {
  t.equal(randoms.length, 3, 'one CLIENT_RANDOM per TLS connection');
  t.same(
    (await fields(pcap, 'tcp.flags.syn == 1 && tcp.flags.ack == 0', 'tcp.srcport')).map(([port]) =>
      Number(port),
    ),
    clients,
    'each connection seen from its SYN, in order',
  );
});

t.test('summarize: the handshake messages by name with their declared lengths, alerts, resets', async (t) => {
  const summary = await summarize(pcap);
  t.equal(
    summary.split('\n')[0],
    'frame  seconds  from -> to  TLS handshake messages (declared length), alerts, resets',
  );
  t.match(summary.split('\n')[1], /^\s+\d+\s+\d+\.\d{6} {2}127\.0\.0\.1:\d+ -> /, 'frame, seconds, then who');
  const flight = (c: string) => [
    row(c, server, 'ClientHello (# bytes)'),
    // X25519 share (1 + 32) signed with RSA 2048: 4 + 33 + 2 + 2 + 256.
    row(
      server,
      c,
      'ServerHello (# bytes)',
      `Certificate (${serverCertificate} bytes)`,
      'ServerKeyExchange (296 bytes)',
      'CertificateRequest (# bytes)',
      'ServerHelloDone (0 bytes)',
    ),
  ];
  const expected = [
    ...[client[0], client[1]].flatMap((c) => [
      ...flight(c),
      // ECDSA signatures vary in length; an X25519 share is 1 + 32 bytes.
      row(
        c,
        server,
        `Certificate (${clientCertificate} bytes)`,
        'ClientKeyExchange (33 bytes)',
        'CertificateVerify (# bytes)',
      ),
      row(server, c, 'NewSessionTicket (# bytes)'),
    ]),
    ...flight(client[2]),
    row(client[2], server, 'Certificate (3 bytes)', 'ClientKeyExchange (33 bytes)'),
    row(server, client[2], 'alert: handshake_failure'),
    row(client[3], `127.0.0.1:${tcp.port}`, 'TCP RST'),
  ];
  const rows = summaryRows(summary);
  t.equal(rows.length, expected.length, `${expected.length} rows: ${summary}`);
  t.match(rows, expected, 'without secrets: the plaintext handshake, the clear alert, the reset');
});

t.test('alertsIn and the verdict: who alerted, in which role, after which flight of its peer', async (t) => {
  const alerts = await alertsIn(pcap);
  t.match(
    alerts,
    [{ from: server, to: client[2], alert: 'handshake_failure' }],
    'the clear alert, by connection',
  );
  t.equal(alerts.length, 1);
  t.strictSame(
    (await alertsIn(injected)).map((alert) => alert.alert),
    ['handshake_failure'],
    'decrypted, the close_notify of the normal closes is no failure',
  );
  t.equal(
    handshakeVerdict((await handshakeHeadsIn(pcap)).heads, alerts, [tls.port]).replace(
      /first at [\d.]+ s/,
      'first at # s',
    ),
    "127.0.0.1 as server sent handshake_failure after the client's Certificate (declared 3 bytes), ClientKeyExchange (declared 33 bytes): 1 connection, peers 127.0.0.1 (1); first at # s\n",
    'the empty client chain it refused',
  );
});

t.test('injectSecrets: the pcapng carries the key log, tshark decrypts with no key file', async (t) => {
  t.same(await times(injected), await times(pcap), 'every packet kept');
  const decrypted = summaryRows(await summarize(injected));
  const finished = (from: string, to: string) =>
    decrypted.filter((r) => r.startsWith(`${from} -> ${to} `) && r.includes('Finished (12 bytes)'));
  for (const c of [client[0], client[1]]) {
    t.equal(finished(c, server).length, 1, `${c}'s Finished decrypted`);
    t.equal(finished(server, c).length, 1, `the server's Finished to ${c} decrypted`);
    t.ok(decrypted.includes(`${server} -> ${c}  alert: close_notify`), 'the encrypted close_notify read');
    t.ok(decrypted.includes(`${c} -> ${server}  alert: close_notify`), 'and the answer to it');
  }
  t.equal(finished(client[2], server).length, 1, 'the refused client Finished decrypted too');

  // As the flight recorder does: only the secrets of the sessions wanted.
  const dir = t.testdir();
  const one = join(dir, 'one.keys');
  await writeFile(one, `${keyLines.find((line) => line.includes(randoms[0] as string))}\n`);
  const partly = join(dir, 'partly.pcapng');
  await injectSecrets(pcap, one, partly);
  t.same(
    summaryRows(await summarize(partly))
      .filter((r) => r.includes('Finished'))
      .map((r) => r.split(' ')[0]),
    [client[0], server],
    'only session 0 decrypted',
  );
});

t.test('clientRandoms: the randoms of the ClientHellos, those the key log names', async (t) => {
  t.same([...(await clientRandoms(pcap))].sort(), [...randoms].sort());
  t.same([...(await clientRandoms(injected))].sort(), [...randoms].sort(), 'the same with secrets in');
});

t.test('cut: the packets a display filter selects, as pcapng', async (t) => {
  const dir = t.testdir();
  const out = join(dir, 'hellos.pcapng');
  await cut(injected, 'tls.handshake.type == 1', out);
  t.same(
    (await readFile(out)).subarray(0, 4),
    Buffer.from([0x0a, 0x0d, 0x0d, 0x0a]),
    'a pcapng section header',
  );
  t.same(
    (await fields(out, '', 'tcp.srcport')).map(([port]) => Number(port)),
    clients.slice(0, 3),
    'the three ClientHello packets, nothing else',
  );
  t.same([...(await clientRandoms(out))].sort(), [...randoms].sort(), 'whole: their randoms still read');
  const none = join(dir, 'none.pcapng');
  await cut(injected, 'tls.handshake.type == 1 && tcp.port == 1', none);
  t.same([...(await clientRandoms(none))], [], 'a filter that selects nothing: an empty capture');
});

t.test('mergeWindow: ring files merged in time order, kept to [from, to)', async (t) => {
  const dir = t.testdir();
  const ringDir = join(dir, 'ring');
  await mkdir(ringDir);
  // editcap -c: 20 packets a file, as a small ring would hold them.
  await run('editcap', ['-c', '20', pcap, join(ringDir, 'ring.pcap')]);
  const ring = (await readdir(ringDir)).sort().map((name) => join(ringDir, name));
  const all = await times(pcap);
  t.equal(ring.length, Math.ceil(all.length / 20));
  const segments = await describeSegments(ring);
  t.same(
    segments.map((s) => s.path),
    ring,
  );
  t.ok(
    segments.every((s, i) => i === 0 || s.firstAt >= (segments[i - 1]?.lastAt as number)),
    'each file after the one before',
  );
  const everything = join(dir, 'all.pcapng');
  await mergeWindow([...ring].reverse(), ms(all[0] as string), ms(all.at(-1) as string) + 1, everything);
  t.same(await times(everything), all, 'given newest first, merged oldest first, none lost');
  t.same(
    (await readdir(dir)).filter((name) => name.endsWith('.merged')),
    [],
    'no merge left behind',
  );

  // From connection 1's SYN to connection 2's SYN: that SYN is the first packet left out.
  const [from, to] = (await times(pcap, 'tcp.flags.syn == 1 && tcp.flags.ack == 0')).slice(1, 3) as [
    string,
    string,
  ];
  const window = join(dir, 'window.pcapng');
  await mergeWindow(ring, ms(from), ms(to), window);
  const kept = await times(window);
  t.same(
    kept,
    all.filter((time) => Number(time) >= Number(from) && Number(time) < Number(to)),
  );
  t.equal(kept[0], from, 'the packet at `from` is in');
  t.notOk(kept.includes(to), 'the packet at `to` is not');
  t.same(
    [
      ...new Set(
        (await fields(window, 'tls.handshake.type == 1', 'tcp.srcport')).map(([port]) => Number(port)),
      ),
    ],
    [clients[1]],
    "connection 1's handshake, no other",
  );
});

t.test('trafficPerSecond: new connections, FINs and resets by sender, per second', async (t) => {
  const traffic = await trafficPerSecond(pcap);
  const [totals, header, ...rows] = traffic.split('\n').filter(Boolean);
  t.equal(totals, 'TCP resets in all: 1 from 127.0.0.1');
  t.equal(header, ' second  new conns  FINs  resets');
  const parsed = rows.map((line) => /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.+)$/.exec(line)?.slice(1) ?? [line]);
  const sum = (column: number) => parsed.reduce((n, r) => n + Number(r[column]), 0);
  t.equal(sum(1), 4, 'four SYNs without ACK');
  // Each end of the three TLS connections closes with a FIN, as a rule: a teardown racing the
  // last alert may end one with less, so the packets themselves are the reference.
  const fins = (await fields(pcap, 'tcp.flags.fin == 1', 'frame.number')).length;
  t.ok(fins >= 4, `FINs on the wire: ${fins}`);
  t.equal(sum(2), fins, 'every FIN, in its second');
  t.same(
    parsed.map((r) => r[3]).filter((r) => r !== '-'),
    ['1 from 127.0.0.1'],
    'the reset in its second',
  );

  // The same traffic again 100 s later: its seconds are told apart, the resets added up.
  const dir = t.testdir();
  const later = join(dir, 'later.pcap');
  await run('editcap', ['-t', '100', pcap, later]);
  const both = join(dir, 'both.pcapng');
  const all = await times(pcap);
  await mergeWindow([pcap, later], ms(all[0] as string), ms(all.at(-1) as string) + 101_000, both);
  const [twice, , ...twiceRows] = (await trafficPerSecond(both)).split('\n').filter(Boolean);
  t.equal(twice, 'TCP resets in all: 2 from 127.0.0.1');
  const seconds = twiceRows.map((line) => Number(line.trim().split(/\s+/)[0]));
  t.same(
    seconds,
    [...parsed.map((r) => Number(r[0])), ...parsed.map((r) => Number(r[0]) + 100)],
    'rows by second, ascending',
  );
});

t.test('headsSummary: every message tshark names, read from its header', async (t) => {
  const [summary, plainHeads, text, hellos, decrypted] = await Promise.all([
    summarize(pcap),
    handshakeHeadsIn(pcap),
    headsSummary(pcap),
    fields(pcap, 'tls.handshake.type == 1', 'frame.number', 'tls.handshake.length'),
    handshakeHeadsIn(injected),
  ]);
  const named = summary
    .split('\n')
    .slice(1)
    .flatMap((line) =>
      [...line.matchAll(/(\w+) \((\d+) bytes\)/g)].map(
        ([, type, length]) => `${Number(line.trim().split(/\s+/)[0])} ${type} ${length}`,
      ),
    );
  const heads = plainHeads.heads.map((h) => `${h.frame} ${h.type} ${h.declaredLength}`);
  t.equal(named.length, 28, '10 in each session that completes, 8 in the refused one');
  t.same(
    named.filter((message) => !heads.includes(message)),
    [],
    'each with the same frame and declared length',
  );
  // After ChangeCipherSpec a TLS 1.2 handshake record is encrypted: its first bytes are no header.
  t.same(heads, named, 'and no more: the encrypted Finished is not read as a header');

  const [frame, length] = hellos[0] as [string, string];
  t.ok(
    text
      .split('\n')
      .includes(
        `${frame.padStart(6)}  ${client[0]} -> ${server}  ClientHello, declared ${Number(length).toLocaleString('en')} bytes`,
      ),
    'a line per message: frame, who, type, declared length (with separators)',
  );
  t.match(
    text,
    new RegExp(
      `  ${server} -> ${client[0]}  Certificate, declared ${serverCertificate.toLocaleString('en')} bytes\n`,
    ),
  );

  // With the secrets in, TLS 1.2's encrypted Finished is read from the record tshark decrypted.
  t.equal(decrypted.unreadRecords, 0);
  t.same(
    decrypted.heads
      .filter((h) => h.type === 'Finished')
      .map((h) => `${h.from} -> ${h.to} ${h.declaredLength}`),
    [
      `${client[0]} -> ${server} 12`,
      `${server} -> ${client[0]} 12`,
      `${client[1]} -> ${server} 12`,
      `${server} -> ${client[1]} 12`,
      `${client[2]} -> ${server} 12`,
    ],
  );
});

t.test('httpStreams finds the REST requests once decrypted; withoutStreams removes them', async (t) => {
  t.same(await httpStreams(pcap), [], 'without secrets the requests are opaque');
  t.same(await httpStreams(injected), [1], 'the ALPN http/1.1 connection, not the JSON-RPC one');

  const dir = t.testdir();
  const out = join(dir, 'without.pcapng');
  await withoutStreams(injected, [1], out);
  t.same(
    await times(out),
    await times(injected, `!(tcp.port == ${clients[1]})`),
    'every packet of connection 1 gone, everything else kept',
  );
  t.same(await httpStreams(out), [], 'no REST request left');
  t.same(
    summaryRows(await summarize(out)),
    summaryRows(await summarize(injected)).filter((r) => !r.includes(client[1])),
    'the rest reads as before, decrypted: the secrets stay in',
  );

  const two = join(dir, 'without-two.pcapng');
  await withoutStreams(injected, [0, 1], two);
  t.same(
    await times(two),
    await times(injected, `!(tcp.port == ${clients[0]}) && !(tcp.port == ${clients[1]})`),
    'a list of streams (Wireshark 4.0 wants commas)',
  );
});

t.test('bounded: the first lines of a listing, and how many more there were', async (t) => {
  const listing = (n: number, end = '\n') =>
    `${Array.from({ length: n }, (_, i) => `line ${i + 1}`).join('\n')}${end}`;
  t.equal(bounded(listing(3), 3), listing(3), 'as many lines as allowed: all of them');
  t.equal(bounded(listing(3, ''), 3), listing(3, ''), 'with or without a final newline');
  t.equal(bounded(listing(5), 3), `${listing(3)}... 2 more lines (see the pcapng)\n`);
  t.equal(
    bounded(listing(4, ''), 3),
    `${listing(3)}... 1 more lines (see the pcapng)\n`,
    'never one line too many',
  );
  t.equal(bounded(''), '');
  const long = bounded(listing(1000));
  t.equal(
    long.split('\n').length,
    MAX_LISTED_LINES + 2,
    `${MAX_LISTED_LINES} lines, the note, the final newline`,
  );
  t.match(long, /\nline 300\n\.\.\. 700 more lines \(see the pcapng\)\n$/);
});

t.test('a capture tool that fails is HH_CAPTURE_TOOL saying why', async (t) => {
  const dir = t.testdir({ 'garbage.pcap': 'not a capture\n' });
  // tshark's last words, not its warning about running as root (which comes first).
  await t.rejects(summarize(join(dir, 'missing.pcap')), {
    code: 'HH_CAPTURE_TOOL',
    message:
      /^tshark -n -r \S+missing\.pcap -Y .* failed: tshark: The file "\S+missing\.pcap" doesn't exist\.$/,
  });
  await t.rejects(headsSummary(join(dir, 'garbage.pcap')), {
    code: 'HH_CAPTURE_TOOL',
    message:
      /failed: tshark: The file "\S+garbage\.pcap" isn't a capture file in a format TShark understands\.$/,
  });
  await t.rejects(cut(pcap, 'tcp.port ==', join(dir, 'cut.pcapng')), {
    code: 'HH_CAPTURE_TOOL',
    message: /^tshark -n -r \S+ -Y tcp\.port == .* failed: tshark: Unexpected end of filter expression\.$/,
  });
  await t.rejects(injectSecrets(pcap, join(dir, 'no.keys'), join(dir, 'out.pcapng')), {
    code: 'HH_CAPTURE_TOOL',
    message: /^editcap --inject-secrets tls,\S+no\.keys .* failed: editcap: "\S+no\.keys" could not be read/,
  });
  t.same(
    await describeSegments([join(dir, 'garbage.pcap')]),
    [],
    'describeSegments: a file it cannot read is left out',
  );

  // No tshark on the PATH: the way out is named.
  const path = process.env.PATH;
  process.env.PATH = dir;
  try {
    await t.rejects(trafficPerSecond(pcap), {
      code: 'HH_CAPTURE_TOOL',
      message: 'tshark is not installed: run hunt doctor (it installs tshark and wireshark-common).',
    });
  } finally {
    process.env.PATH = path;
  }
});

t.test(
  'a ring file cut mid-packet (tcpdump still writing) is still described, beside the others',
  async (t) => {
    const dir = t.testdir();
    const whole = join(dir, 'ring.pcap0');
    const cut = join(dir, 'ring.pcap1');
    await writeRandomPcapng(whole, 20);
    await writeRandomPcapng(cut, 20);
    const bytes = await readFile(cut);
    await writeFile(cut, bytes.subarray(0, bytes.length - 700));
    const segments = await describeSegments([whole, cut]);
    t.same(
      segments.map((segment) => segment.path),
      [whole, cut],
      'capinfos complains about the cut file, and both are described',
    );
    t.ok(segments.every((segment) => segment.lastAt >= segment.firstAt && segment.firstAt > 0));
  },
);

t.test('withToolSignal: a reading that is no longer waited for stops, with the reason', async (t) => {
  const reason = new Error('the run was interrupted');
  await t.rejects(
    withToolSignal(AbortSignal.abort(reason), () => summarize(pcap)),
    reason,
    'before it starts',
  );
  const controller = new AbortController();
  const reading = withToolSignal(controller.signal, () => handshakeHeadsIn(injected));
  controller.abort(reason);
  await t.rejects(reading, reason, 'while it runs');
  t.ok((await handshakeHeadsIn(injected)).heads.length > 0, 'outside it, the same reading runs as ever');
});

t.test('past the cap of decrypted plaintext, the records not read are counted and said', async (t) => {
  const whole = await handshakeHeadsIn(injected);
  const capped = await handshakeHeadsIn(injected, { maxDecryptedBytes: 16 });
  t.ok(capped.unreadRecords > 0, `${capped.unreadRecords} records not read`);
  t.ok(
    capped.heads.filter((h) => h.type === 'Finished').length <
      whole.heads.filter((h) => h.type === 'Finished').length,
    'the encrypted Finished messages past the cap are missing',
  );
  t.match(unreadNote(capped), /decrypted records after the first 32 MiB of plaintext were not read/);
  t.equal(unreadNote(whole), '', 'nothing to say when all was read');
});
