import type { HistoryEvent } from '../../../run/history.ts';
import { type JournalEntry, journalField } from '../../../seam/journal-follower.ts';
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

/** Syslog priorities as Icinga's syslog and journald loggers map its severities (LOG_CRIT for critical). */
const SEVERITY_OF_PRIORITY: Record<string, string> = {
  '2': 'critical',
  '4': 'warning',
  '5': 'notice',
  '6': 'information',
  '7': 'debug',
};

/**
 * A journal entry of the daemon's unit as a main-log line, "[2026-12-07 00:53:04 +0000]
 * critical/ApiListener: ...", so the log's readers (detectors, excerpts, timestamps) take a journal
 * as they take the file. What the daemon printed to stdout before closing it already is one; the
 * syslog feature gives the bare message (its facility is then the identifier, icinga2); 2.14's
 * journald feature adds ICINGA2_FACILITY.
 */
export function icingaJournalLine(entry: JournalEntry): string | undefined {
  const message = journalField(entry, 'MESSAGE');
  if (message === undefined) return undefined;
  if (ICINGA_STAMP.test(message)) return message;
  const micros = Number(journalField(entry, '__REALTIME_TIMESTAMP'));
  const stamp = Number.isFinite(micros)
    ? `${new Date(Math.floor(micros / 1000)).toISOString().slice(0, 19).replace('T', ' ')} +0000`
    : '';
  const severity = SEVERITY_OF_PRIORITY[journalField(entry, 'PRIORITY') ?? ''] ?? 'information';
  const facility =
    journalField(entry, 'ICINGA2_FACILITY') ?? journalField(entry, 'SYSLOG_IDENTIFIER') ?? 'journal';
  return `[${stamp}] ${severity}/${facility}: ${message}`;
}
