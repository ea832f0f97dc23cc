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

/** A connection an incident's events name: the peer's address, the port, or both. */
export interface Involved {
  address?: string;
  port?: number;
}

/** Terms a filter holds at most: the first connections of a storm name it well enough. */
const MAX_TERMS = 200;

/**
 * A tshark display filter for the incident's connections: each by its peer's address and port
 * where both are known (a log line's "[address]:port"; a dialled peer's port is its listener's,
 * which alone would name every connection), by its port alone where only that is known (the
 * swarm's local ports: exact, every simulated endpoint shares the gateway's address), else by
 * address. Undefined when nothing names a connection (then the cut is the whole window).
 */
export function connectionFilter(involved: readonly Involved[]): string | undefined {
  const address = (a: string | undefined) => (a !== undefined && /^[0-9a-f.:]+$/i.test(a) ? a : undefined);
  const port = (p: number | undefined) =>
    p !== undefined && Number.isInteger(p) && p > 0 && p < 65536 ? p : undefined;
  const terms = new Set<string>();
  for (const one of involved) {
    const a = address(one.address);
    const p = port(one.port);
    // `||` rather than `in {...}`: the set syntax changed between Wireshark 3 and 4.
    // tshark's ip.addr takes IPv4 only; an IPv6 peer is ipv6.addr.
    const host = a === undefined ? undefined : `${a.includes(':') ? 'ipv6' : 'ip'}.addr==${a}`;
    if (host !== undefined && p !== undefined) terms.add(`(${host} && tcp.port==${p})`);
    else if (p !== undefined) terms.add(`tcp.port==${p}`);
    else if (host !== undefined) terms.add(host);
    if (terms.size >= MAX_TERMS) break;
  }
  return terms.size > 0 ? [...terms].join(' || ') : undefined;
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
