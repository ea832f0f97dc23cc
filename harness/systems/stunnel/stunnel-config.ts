import { ErrorCodes, HuntError } from '../../errors.ts';

/** Where stunnel listens in its container, and where the backend serves. */
export const STUNNEL_PORT = 443;
export const BACKEND_PORT = 80;
/** The paths the backend serves (docker/stunnel/entrypoint.sh writes them): 100 B, 16 KiB, 1 MiB. */
export const BACKEND_PATHS = ['/small', '/medium', '/large'] as const;
/** The log sink's file, inside the stunnel container (bind-mounted from the run folder). */
export const SYSLOG_FILE = '/var/log/hh/syslog.log';
/** stunnel's own `output =` file, when a scenario asks for one. */
export const OUTPUT_FILE = '/var/log/hh/stunnel.log';
/** The FIFO stunnel writes to with the `fifo` sink; hh-log-reader copies it to OUTPUT_FILE. */
export const OUTPUT_FIFO = '/run/hh/stunnel.fifo';
/** The port the collector (rsyslogd with imtcp) takes forwarded lines on. */
export const COLLECTOR_PORT = 514;

/**
 * Where stunnel's log lines go:
 * - `rsyslog`: syslog to /dev/log, read by rsyslogd in stunnel's container, written to a file;
 * - `rsyslog-forward`: the same, and rsyslogd also forwards every line over TCP to a collector
 *   container (the field's likely set-up): a collector that stops reading fills rsyslogd's
 *   queue, then /dev/log, then stunnel blocks;
 * - `fifo`: no syslog; `output =` a FIFO whose reader (hh-log-reader) copies it to a file.
 */
export type LogSink = 'rsyslog' | 'rsyslog-forward' | 'fifo';

export interface StunnelSettings {
  /** stunnel's `debug` level, 0-7 (7 logs every connection and every accept). */
  debug: number;
  /** Log through syslog (/dev/log, served by rsyslogd in the container). */
  syslog: boolean;
  /** Also log to a file (`output =`): OUTPUT_FILE, or OUTPUT_FIFO with the fifo sink. */
  output: boolean;
  sink: LogSink;
  /** rsyslogd's main queue, in messages (its default is 100,000: minutes at debug 7 before a forward stall reaches stunnel). */
  sinkQueue: number;
  /** `delay = yes`: resolve the backend per connection. */
  delay: boolean;
  /** TIMEOUTbusy / TIMEOUTidle / TIMEOUTclose / TIMEOUTconnect, seconds. */
  timeouts: { busy: number; idle: number; close: number; connect: number };
  /** Where stunnel connects: the backend's name (or the proxy in front of it) and port. */
  connect: { host: string; port: number };
}

export const defaultStunnelSettings = (connect: { host: string; port: number }): StunnelSettings => ({
  debug: 5,
  syslog: true,
  output: false,
  sink: 'rsyslog',
  sinkQueue: 100_000,
  delay: false,
  timeouts: { busy: 300, idle: 43_200, close: 60, connect: 10 },
  connect,
});

export function checkSettings(settings: StunnelSettings): void {
  if (!Number.isInteger(settings.debug) || settings.debug < 0 || settings.debug > 7)
    throw new HuntError(ErrorCodes.USAGE, `stunnel's debug level is 0 to 7, not ${settings.debug}.`);
  if (!settings.syslog && !settings.output)
    throw new HuntError(
      ErrorCodes.USAGE,
      'stunnel must log somewhere: keep syslog on, or turn output on (withLogging).',
    );
  if (settings.sink === 'fifo' && settings.syslog)
    throw new HuntError(
      ErrorCodes.USAGE,
      'The fifo sink is stunnel without syslog: withLogging({ syslog: false }).',
    );
  if (!Number.isInteger(settings.sinkQueue) || settings.sinkQueue < 10 || settings.sinkQueue > 10_000_000)
    throw new HuntError(
      ErrorCodes.USAGE,
      `rsyslog's queue is 10 to 10000000 messages, not ${settings.sinkQueue}.`,
    );
  for (const [name, seconds] of Object.entries(settings.timeouts))
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 86_400)
      throw new HuntError(ErrorCodes.USAGE, `stunnel's TIMEOUT${name} is 0 to 86400 s, not ${seconds}.`);
}

/** stunnel.conf: one TLS service in front of the backend, in the foreground, logging as set. */
export function renderStunnelConf(settings: StunnelSettings): string {
  const { timeouts } = settings;
  return [
    '; written by handshake-hunter',
    'foreground = yes',
    'pid =',
    `debug = ${settings.debug}`,
    `syslog = ${settings.syslog ? 'yes' : 'no'}`,
    ...(settings.output ? [`output = ${settings.sink === 'fifo' ? OUTPUT_FIFO : OUTPUT_FILE}`] : []),
    '',
    '[service]',
    `accept = 0.0.0.0:${STUNNEL_PORT}`,
    `connect = ${settings.connect.host}:${settings.connect.port}`,
    'cert = /etc/hh/stunnel.crt',
    'key = /etc/hh/stunnel.key',
    `delay = ${settings.delay ? 'yes' : 'no'}`,
    `TIMEOUTbusy = ${timeouts.busy}`,
    `TIMEOUTidle = ${timeouts.idle}`,
    `TIMEOUTclose = ${timeouts.close}`,
    `TIMEOUTconnect = ${timeouts.connect}`,
    '',
  ].join('\n');
}

/**
 * rsyslog as stunnel's log sink: /dev/log without rate limiting (every line counts), each line
 * with the time stunnel reported and the time rsyslog received it, so a line held up in a
 * stalled sink is told from one stunnel never wrote.
 */
export function renderRsyslogConf(settings: Pick<StunnelSettings, 'sink' | 'sinkQueue'>): string {
  return [
    '# written by handshake-hunter',
    `main_queue(queue.size="${settings.sinkQueue}")`,
    'module(load="imuxsock" SysSock.RateLimit.Interval="0")',
    'template(name="hh" type="string"',
    '  string="%timereported:::date-rfc3339% %timegenerated:::date-rfc3339% %syslogtag%%msg%\\n")',
    `*.* action(type="omfile" file="${SYSLOG_FILE}" template="hh")`,
    ...(settings.sink === 'rsyslog-forward'
      ? [`*.* action(type="omfwd" target="collector" port="${COLLECTOR_PORT}" protocol="tcp")`]
      : []),
    '',
  ].join('\n');
}

/** The collector: rsyslogd taking forwarded lines over TCP into a file (a scenario stops it reading). */
export function renderCollectorConf(): string {
  return [
    '# written by handshake-hunter',
    'module(load="imtcp")',
    `input(type="imtcp" port="${COLLECTOR_PORT}")`,
    '*.* action(type="omfile" file="/var/log/hh/collected.log")',
    '',
  ].join('\n');
}

/** stunnel's own output line: "2026.11.30 08:00:41 LOG7[12]: ..." (the container's clock is UTC). */
export function parseOutputTimestamp(line: string): number | undefined {
  const match = /^(\d{4})\.(\d{2})\.(\d{2}) (\d{2}:\d{2}:\d{2})/.exec(line);
  if (!match) return undefined;
  const at = Date.parse(`${match[1]}-${match[2]}-${match[3]}T${match[4]}Z`);
  return Number.isNaN(at) ? undefined : at;
}

/** nginx: plain HTTP with keep-alive, the few static files, no access log (it is not the subject). */
export function renderNginxConf(): string {
  return [
    '# written by handshake-hunter',
    'worker_processes 2;',
    'error_log stderr warn;',
    'pid /run/nginx.pid;',
    'events { worker_connections 4096; }',
    'http {',
    '  access_log off;',
    '  keepalive_timeout 75s;',
    '  keepalive_requests 1000000;',
    '  server {',
    `    listen ${BACKEND_PORT};`,
    '    root /srv/hh;',
    '    location / { default_type application/octet-stream; }',
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * A syslog line as the sink writes it: "<reported> <received> stunnel: LOG7[...]: ...". The
 * reported time is the one to read (stunnel's own clock, second precision from glibc).
 */
export function parseSinkTimestamps(line: string): { reported: number; received: number } | undefined {
  const match = /^(\S+) (\S+) /.exec(line);
  if (!match) return undefined;
  const reported = Date.parse(match[1] as string);
  const received = Date.parse(match[2] as string);
  if (Number.isNaN(reported) || Number.isNaN(received)) return undefined;
  return { reported, received };
}
