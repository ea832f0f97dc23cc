import type { HistoryEvent } from '../../../run/history.ts';
import type { ConnectionSighting } from '../../../seam/target.ts';

const ICINGA_STAMP = /^\[(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) ([+-]\d{2})(\d{2})\]/;

/** "[2026-11-21 07:30:01 +0000] critical/..." -> ms since the epoch. */
export function parseIcingaTimestamp(line: string): number | undefined {
  const match = ICINGA_STAMP.exec(line);
  if (!match) return undefined;
  const value = Date.parse(`${match[1]}T${match[2]}${match[3]}:${match[4]}`);
  return Number.isNaN(value) ? undefined : value;
}

const TLS_PEER = /\((?:from|to) \[(?:::ffff:)?([^\]]+)\]:(\d+)\)/;

/** The peer of an ApiListener TLS line: "Client TLS handshake failed (from [10.1.0.3]:40022)". */
export function connectionInLogLine(line: string): { address: string; port: number } | undefined {
  const match = TLS_PEER.exec(line);
  return match ? { address: match[1] as string, port: Number(match[2]) } : undefined;
}

/** The connection a recorded TLS failure line names: the node that logged it, the peer's address and port. */
export function connectionInLogMatch(event: HistoryEvent): ConnectionSighting | undefined {
  if (event.source !== 'observe' || event.type !== 'log-match' || event.kind !== 'tls-handshake-failed')
    return undefined;
  const peer = connectionInLogLine(String(event.line));
  return peer && { node: String(event.node), ...peer };
}
