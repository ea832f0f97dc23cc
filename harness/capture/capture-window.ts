/** One file of a node's capture ring, with the time span of its packets (ms since the epoch). */
export interface RingSegment {
  path: string;
  firstAt: number;
  lastAt: number;
}

export interface Window {
  from: number;
  to: number;
}

/** The time window kept for an incident: from `beforeMs` before its first sighting to `afterMs` after. */
export function incidentWindow(firstSeen: string, beforeMs: number, afterMs: number): Window {
  const at = Date.parse(firstSeen);
  return { from: at - beforeMs, to: at + afterMs };
}

/** The ring segments whose packets overlap the window, oldest first. */
export function segmentsFor(segments: readonly RingSegment[], window: Window): RingSegment[] {
  return segments
    .filter((segment) => segment.lastAt >= window.from && segment.firstAt <= window.to)
    .sort((a, b) => a.firstAt - b.firstAt);
}

/** What names the connections of an incident: peer addresses from log lines, local ports of the swarm. */
export interface Involved {
  addresses: readonly string[];
  ports: readonly number[];
}

/**
 * A tshark display filter for the incident's connections: the swarm's own connections by their
 * local port (exact: every simulated endpoint shares the gateway's address), else the peers'
 * addresses. Undefined when nothing names a connection (then the cut is the whole window).
 */
export function connectionFilter(involved: Involved): string | undefined {
  const ports = [...new Set(involved.ports)].filter(
    (port) => Number.isInteger(port) && port > 0 && port < 65536,
  );
  // `||` rather than `in {...}`: the set syntax changed between Wireshark 3 and 4.
  if (ports.length > 0)
    return ports
      .slice(0, 200)
      .map((port) => `tcp.port==${port}`)
      .join(' || ');
  const addresses = [...new Set(involved.addresses)].filter((address) => /^[0-9a-f.:]+$/i.test(address));
  if (addresses.length > 0)
    return addresses
      .slice(0, 50)
      .map((address) => `ip.addr==${address}`)
      .join(' || ');
  return undefined;
}

/** The key-log lines (SSLKEYLOGFILE format) whose client random is one of `randoms`. */
export function secretsFor(keylog: string, randoms: ReadonlySet<string>): string[] {
  const lines: string[] = [];
  for (const line of keylog.split('\n')) {
    const random = line.split(' ')[1];
    if (random && randoms.has(random.toLowerCase())) lines.push(line);
  }
  return lines;
}

/** Ring settings, checked: a ring must hold something. */
export interface RingOptions {
  /** Size of one ring file in MB (tcpdump -C; 1 MB = 1,000,000 bytes). */
  fileMb: number;
  /** Files in the ring (tcpdump -W). */
  files: number;
}
