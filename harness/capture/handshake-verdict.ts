import type { HandshakeHead } from './handshake-heads.ts';

/** A TLS alert as the capture shows it: who sent it, on which connection, when. */
export interface SentAlert {
  frame: number;
  stream: number;
  /** Seconds from the capture's start. */
  seconds: number;
  from: string;
  to: string;
  alert: string;
}

/** Lines a verdict lists at most; the rest are counted. */
const MAX_LINES = 12;

/**
 * What a maintainer asks first of a failing handshake, read off the packets: who sent which
 * alert, in which role, right after which message of its peer (its type and declared length:
 * the refused one), with whom, how often, since when. One line per (sender, role, alert, refused
 * message); `serverPorts` tell the roles apart (a sender on one of them is the server).
 */
export function handshakeVerdict(
  heads: readonly HandshakeHead[],
  alerts: readonly SentAlert[],
  serverPorts: readonly number[],
): string {
  const groups = new Map<
    string,
    { line: string; peers: Map<string, number>; connections: Set<number>; first: number }
  >();
  for (const alert of alerts) {
    const flight = lastFlight(heads, alert);
    const role = serverPorts.includes(portOf(alert.from)) ? 'as server' : 'as client';
    const peerRole = role === 'as server' ? "the client's" : "the server's";
    const after =
      flight.length > 0
        ? `after ${peerRole} ${flight.map(describe).join(', ')}`
        : `with no readable message of ${peerRole} before it`;
    const key = `${hostOf(alert.from)}|${role}|${alert.alert}|${after}`;
    const group = groups.get(key) ?? {
      line: `${hostOf(alert.from)} ${role} sent ${alert.alert} ${after}`,
      peers: new Map<string, number>(),
      connections: new Set<number>(),
      first: alert.seconds,
    };
    group.peers.set(hostOf(alert.to), (group.peers.get(hostOf(alert.to)) ?? 0) + 1);
    group.connections.add(alert.stream);
    group.first = Math.min(group.first, alert.seconds);
    groups.set(key, group);
  }
  if (groups.size === 0)
    return 'No TLS alert in the capture (in TLS 1.3 without secrets, alerts after the ServerHello are encrypted).\n';
  const lines = [...groups.values()]
    .sort((a, b) => b.connections.size - a.connections.size || a.first - b.first)
    .map(
      (group) =>
        `${group.line}: ${group.connections.size} connection${group.connections.size === 1 ? '' : 's'}, ` +
        `peers ${[...group.peers].map(([peer, n]) => `${peer} (${n})`).join(', ')}; first at ${group.first.toFixed(3)} s`,
    );
  const shown = lines.slice(0, MAX_LINES);
  if (lines.length > MAX_LINES) shown.push(`and ${lines.length - MAX_LINES} more kinds of failure`);
  return `${shown.join('\n')}\n`;
}

/**
 * The peer's messages the alert answered: its last flight on that connection (the messages it
 * sent after the alerting side's last one). The refused one is among them: OpenSSL reads a
 * flight in order, and an oversized message is the last one that was read at all.
 */
function lastFlight(heads: readonly HandshakeHead[], alert: SentAlert): HandshakeHead[] {
  const before = heads.filter((head) => head.stream === alert.stream && head.frame < alert.frame);
  const flight: HandshakeHead[] = [];
  for (let i = before.length - 1; i >= 0; i--) {
    const head = before[i] as HandshakeHead;
    if (head.from !== alert.to) break;
    flight.unshift(head);
  }
  return flight;
}

function describe(head: HandshakeHead): string {
  const uncompressed =
    head.uncompressedLength === undefined
      ? ''
      : `, ${head.uncompressedLength.toLocaleString('en')} uncompressed`;
  return `${head.type} (declared ${head.declaredLength.toLocaleString('en')} bytes${uncompressed})`;
}

function hostOf(address: string): string {
  return address.slice(0, address.lastIndexOf(':'));
}

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}
