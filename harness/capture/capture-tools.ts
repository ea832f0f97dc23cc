import { AsyncLocalStorage } from 'node:async_hooks';
import { execFile, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { ErrorCodes, HuntError } from '../errors.ts';
import type { RingSegment } from './capture-window.ts';
import { DecryptedParser, type HandshakeHead, HandshakeHeadReader } from './handshake-heads.ts';
import type { SentAlert } from './handshake-verdict.ts';

const run = promisify(execFile);
/** No capture tool may take longer than this on one incident's files. */
const TOOL_TIMEOUT_MS = 120_000;
/** Nor write more than this where its output is read whole (the small listings; large ones are streamed). */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/** What stops the capture tools a piece of work runs (withToolSignal), without handing it down each call. */
const toolSignal = new AsyncLocalStorage<AbortSignal>();

/**
 * Runs `work` with its capture tools stopped when `signal` aborts: a reading of a window that an
 * interrupted run no longer waits for ends at once (the tool is killed, the call rejects).
 */
export function withToolSignal<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  return toolSignal.run(signal, work);
}

/**
 * tshark's fields of each packet a display filter selects, a row at a time (streamed): the
 * values in the order of `fields`, as tshark prints them.
 */
function fieldRows(
  input: string,
  filter: string,
  fields: readonly string[],
  onRow: (values: string[]) => void,
): Promise<void> {
  const args = ['-n', '-r', input, '-Y', filter, '-T', 'fields', '-E', 'separator=\t'];
  return toolLines('tshark', [...args, ...fields.flatMap((field) => ['-e', field])], (line) => {
    if (line) onRow(line.split('\t'));
  });
}

/** tshark's fields that name a packet's two ends; `endsOf` reads their values. */
const ENDS_FIELDS = ['ip.src', 'ipv6.src', 'tcp.srcport', 'ip.dst', 'ipv6.dst', 'tcp.dstport'];

/** A packet's ends as "address:port" (IPv4 or IPv6), from the values of ENDS_FIELDS. */
function endsOf([src4, src6, sport, dst4, dst6, dport]: readonly (string | undefined)[]): {
  from: string;
  to: string;
} {
  return { from: `${src4 || src6}:${sport}`, to: `${dst4 || dst6}:${dport}` };
}

/** Runs tshark, editcap, mergecap or capinfos; a failure is HH_CAPTURE_TOOL with its output. */
async function tool(name: string, args: string[]): Promise<string> {
  try {
    const signal = toolSignal.getStore();
    signal?.throwIfAborted();
    const running = run(name, args, { timeout: TOOL_TIMEOUT_MS, maxBuffer: MAX_OUTPUT_BYTES, signal });
    yieldToOthers(running.child.pid);
    const { stdout } = await running;
    return stdout;
  } catch (error) {
    const signal = toolSignal.getStore();
    if (signal?.aborted) throw signal.reason;
    throw toolError(name, args, error, (error as { stderr?: string }).stderr);
  }
}

/**
 * The same for a tool whose output can be large (a busy window's packets): its lines go to
 * `onLine` as they come, so no more than a line of it is held at once.
 */
async function toolLines(name: string, args: string[], onLine: (line: string) => void): Promise<void> {
  const signal = toolSignal.getStore();
  signal?.throwIfAborted();
  const child = spawn(name, args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
  yieldToOthers(child.pid);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4096);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, TOOL_TIMEOUT_MS);
  const closed = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  closed.catch(() => undefined); // awaited below; a spawn error must not count as unhandled first
  try {
    for await (const line of createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY }))
      onLine(line);
    const code = await closed;
    if (timedOut) {
      stderr = ''; // what it said before it was killed is not why it failed
      throw Object.assign(new Error(`took longer than ${TOOL_TIMEOUT_MS / 1000} s`), { code });
    }
    if (code !== 0) throw Object.assign(new Error(`exit code ${code}`), { code });
  } catch (error) {
    child.kill('SIGKILL');
    if (signal?.aborted) throw signal.reason;
    throw error instanceof HuntError ? error : toolError(name, args, error, stderr);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The capture tools run at the lowest priority: they read evidence while the system under test
 * and the harness's own clients go on, and on a small machine a tshark pass at equal priority
 * slows those into stalls of its own.
 */
function yieldToOthers(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    setPriority(pid, 19);
  } catch {
    // Gone already, or not allowed here: it runs at the harness's own priority then.
  }
}

function toolError(name: string, args: string[], error: unknown, stderr: string | undefined): HuntError {
  const { code } = error as { code?: string | number };
  // tshark warns about running as root on every run: that line is never the reason.
  const said = (stderr ?? '')
    .split('\n')
    .filter((line) => line.trim() && !/Running as user "root"/.test(line))
    .slice(-3)
    .join(' ');
  return new HuntError(
    ErrorCodes.CAPTURE_TOOL,
    code === 'ENOENT'
      ? `${name} is not installed: run hunt doctor (it installs tshark and wireshark-common).`
      : code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER'
        ? `${name} ${args.join(' ')} wrote more than ${MAX_OUTPUT_BYTES / 2 ** 20} MiB: the window is too busy to read whole.`
        : `${name} ${args.join(' ')} failed: ${said || (error as Error).message.split('\n')[0]}`,
    { cause: error },
  );
}

/** The span of each ring file's packets (capinfos); files without packets are left out. */
export async function describeSegments(paths: readonly string[]): Promise<RingSegment[]> {
  if (paths.length === 0) return [];
  // A ring file tcpdump is writing can end mid-packet: capinfos then exits non-zero but has still
  // described every file it read, and those lines are what we need.
  const out = await tool('capinfos', ['-T', '-r', '-a', '-e', '-S', ...paths]).catch(
    (error: HuntError) => ((error.cause as { stdout?: string } | undefined)?.stdout ?? '') as string,
  );
  const segments: RingSegment[] = [];
  for (const line of out.split('\n')) {
    const [path, first, last] = line.split('\t');
    const firstAt = Number(first) * 1000;
    const lastAt = Number(last) * 1000;
    if (path && Number.isFinite(firstAt) && Number.isFinite(lastAt)) segments.push({ path, firstAt, lastAt });
  }
  return segments;
}

/** Merges ring files into one pcapng and keeps only packets in [from, to) (ms since the epoch). */
export async function mergeWindow(
  paths: readonly string[],
  from: number,
  to: number,
  out: string,
): Promise<void> {
  const merged = `${out}.merged`;
  await tool('mergecap', ['-F', 'pcapng', '-w', merged, ...paths]);
  await tool('editcap', [
    '-F',
    'pcapng',
    '-A',
    (from / 1000).toFixed(6),
    '-B',
    (to / 1000).toFixed(6),
    merged,
    out,
  ]);
  await rm(merged, { force: true });
}

/** How many packets a capture file holds (capinfos, beside editcap in Wireshark's tools). */
export async function packetCount(input: string): Promise<number> {
  const out = await tool('capinfos', ['-c', '-M', '-T', '-r', input]);
  const count = Number(out.trim().split('\t').pop());
  if (!Number.isInteger(count))
    throw new Error(`capinfos printed no packet count for ${input}: ${out.trim()}`);
  return count;
}

/** The packets a display filter selects, into a new file. */
export async function cut(input: string, filter: string, out: string): Promise<void> {
  await tool('tshark', ['-n', '-r', input, '-Y', filter, '-F', 'pcapng', '-w', out]);
}

/** One field of every packet that matches a display filter, as tshark prints it (a line each). */
function fieldOfPackets(input: string, filter: string, field: string): Promise<string> {
  return tool('tshark', ['-n', '-r', input, '-Y', filter, '-T', 'fields', '-e', field]);
}

/** Client randoms of every ClientHello in a capture (lower-case hex): what names a TLS session's secrets. */
export async function clientRandoms(input: string): Promise<Set<string>> {
  const out = await fieldOfPackets(input, 'tls.handshake.type == 1', 'tls.handshake.random');
  return new Set(
    out
      .split(/[\n,]/)
      .map((value) => value.trim().replace(/:/g, '').toLowerCase())
      .filter(Boolean),
  );
}

/** Embeds TLS secrets in the pcapng (a Decryption Secrets Block): Wireshark and tshark need no key file. */
export async function injectSecrets(input: string, secretsFile: string, out: string): Promise<void> {
  await tool('editcap', ['--inject-secrets', `tls,${secretsFile}`, input, out]);
}

/**
 * capture.txt: per packet that carries TLS handshake messages or alerts, or a TCP reset: who sent
 * it, the handshake types with their declared lengths, the alert. Decrypted where secrets are in.
 * The first MAX_LISTED_LINES such packets, and how many more there were.
 */
export async function summarize(input: string): Promise<string> {
  const fields = [
    'frame.number',
    'frame.time_relative',
    'ip.src',
    'tcp.srcport',
    'ip.dst',
    'tcp.dstport',
    'tls.handshake.type',
    'tls.handshake.length',
    'tls.alert_message.desc',
    'tcp.flags.reset',
  ];
  const rows: string[] = [];
  let more = 0;
  await fieldRows(input, 'tls.handshake or tls.alert_message or tcp.flags.reset == 1', fields, (row) => {
    if (rows.length >= MAX_LISTED_LINES) {
      more++;
      return;
    }
    const [frame, time, src, sport, dst, dport, types, lengths, alert, reset] = row;
    const messages = (types ?? '')
      .split(',')
      .filter(Boolean)
      .map(
        (type, i) =>
          `${HANDSHAKE_TYPES[type] ?? `type ${type}`} (${(lengths ?? '').split(',')[i] ?? '?'} bytes)`,
      );
    const what = [
      ...messages,
      ...(alert ? [`alert: ${ALERTS[alert] ?? alert}`] : []),
      ...(reset === '1' || reset === 'True' ? ['TCP RST'] : []),
    ];
    if (what.length > 0)
      rows.push(
        `${String(frame).padStart(6)}  ${Number(time).toFixed(6).padStart(12)}  ${src}:${sport} -> ${dst}:${dport}  ${what.join(', ')}`,
      );
  });
  const header = [
    'frame',
    'seconds',
    'from -> to',
    'TLS handshake messages (declared length), alerts, resets',
  ].join('  ');
  return `${header}\n${rows.map((row) => `${row}\n`).join('')}${more > 0 ? `... ${more} more lines (see the pcapng)\n` : ''}`;
}

/** Lines a listing in capture.txt keeps: the start of a busy window, the rest is in the pcapng. */
export const MAX_LISTED_LINES = 300;

/** The first MAX_LISTED_LINES lines of a listing, and how many more there were. */
export function bounded(listing: string, max = MAX_LISTED_LINES): string {
  // A final newline ends the last line; it does not start one more.
  const lines = listing.replace(/\n$/, '').split('\n');
  if (lines.length <= max) return listing;
  return `${lines.slice(0, max).join('\n')}\n... ${lines.length - max} more lines (see the pcapng)\n`;
}

/**
 * Per second of the capture: new connections (SYNs without ACK), connections that completed
 * their close (FIN), and TCP resets by the address that sent them: what a stall looks like on the
 * wire (accepts stop, then a burst, and a reset for each connection a client gave up on).
 */
export async function trafficPerSecond(input: string): Promise<string> {
  const seconds = new Map<number, { syn: number; fin: number; resets: Map<string, number> }>();
  const resetTotals = new Map<string, number>();
  const set = (flag: string | undefined) => flag === '1' || flag === 'True';
  await fieldRows(
    input,
    'tcp.flags.syn == 1 or tcp.flags.reset == 1 or tcp.flags.fin == 1',
    ['frame.time_relative', 'ip.src', 'tcp.flags.syn', 'tcp.flags.ack', 'tcp.flags.reset', 'tcp.flags.fin'],
    ([time, src, syn, ack, reset, fin]) => {
      const second = Math.floor(Number(time));
      if (!Number.isFinite(second)) return;
      const row = seconds.get(second) ?? { syn: 0, fin: 0, resets: new Map<string, number>() };
      seconds.set(second, row);
      if (set(syn) && !set(ack)) row.syn++;
      if (set(fin)) row.fin++;
      if (set(reset)) {
        const sender = src ?? '?';
        row.resets.set(sender, (row.resets.get(sender) ?? 0) + 1);
        resetTotals.set(sender, (resetTotals.get(sender) ?? 0) + 1);
      }
    },
  );
  const rows = [...seconds.entries()]
    .sort(([a], [b]) => a - b)
    .map(
      ([second, row]) =>
        `${String(second).padStart(6)}  ${String(row.syn).padStart(8)}  ${String(row.fin).padStart(6)}  ${
          [...row.resets.entries()].map(([sender, n]) => `${n} from ${sender}`).join(', ') || '-'
        }`,
    );
  const totals = [...resetTotals.entries()].map(([sender, n]) => `${n} from ${sender}`).join(', ') || 'none';
  return `TCP resets in all: ${totals}\n second  new conns  FINs  resets\n${bounded(rows.join('\n'))}\n`;
}

/** The TLS alerts of a capture: who sent which, on which connection (decrypted where secrets are in). */
export async function alertsIn(input: string): Promise<SentAlert[]> {
  const alerts: SentAlert[] = [];
  await fieldRows(
    input,
    'tls.alert_message',
    ['frame.number', 'tcp.stream', 'frame.time_relative', 'tls.alert_message.desc', ...ENDS_FIELDS],
    ([frame, stream, time, descriptions, ...ends]) => {
      // close_notify and user_canceled end connections normally; they are no failure.
      for (const description of (descriptions ?? '').split(','))
        if (description !== '' && description !== '0' && description !== '90')
          alerts.push({
            frame: Number(frame),
            stream: Number(stream),
            seconds: Number(time),
            ...endsOf(ends),
            alert: ALERTS[description] ?? `alert ${description}`,
          });
    },
  );
  return alerts;
}

/**
 * The handshake messages by their headers, incomplete ones included (handshake-heads.ts):
 * the lines capture.txt adds after tshark's own view.
 */
export async function headsSummary(input: string): Promise<string> {
  const read = await handshakeHeadsIn(input);
  return `${headsListing(read.heads)}${unreadNote(read)}`;
}

/** What capture.txt says under the messages when the plaintext cap left records unread; else nothing. */
export function unreadNote({ unreadRecords }: HandshakeHeads): string {
  return unreadRecords > 0
    ? `\n(${unreadRecords.toLocaleString('en')} decrypted records after the first ${MAX_DECRYPTED_BYTES / 1024 / 1024} MiB of plaintext were not read: their handshake messages, if any, are not listed; open capture.pcapng in Wireshark)`
    : '';
}

/** One line per handshake message: frame, who to whom, its type and declared length. */
export function headsListing(heads: readonly HandshakeHead[]): string {
  return heads
    .map(
      (h) =>
        `${String(h.frame).padStart(6)}  ${h.from} -> ${h.to}  ${h.type}, declared ${h.declaredLength.toLocaleString('en')} bytes${h.uncompressedLength === undefined ? '' : ` (uncompressed ${h.uncompressedLength.toLocaleString('en')} bytes)`}`,
    )
    .join('\n');
}

export interface HandshakeHeads {
  heads: HandshakeHead[];
  /** Decrypted records past the plaintext cap: not read, so their handshake messages are missing. */
  unreadRecords: number;
}

/** The handshake messages of a capture by their headers (decrypted with the secrets it embeds). */
export async function handshakeHeadsIn(
  input: string,
  options: { maxDecryptedBytes?: number } = {},
): Promise<HandshakeHeads> {
  // Handshakes are at the start of each direction of a connection: what a long connection
  // carries later (a log stream's megabytes) is never a handshake message, so it is not read.
  const early = `tcp.seq < ${HEAD_BYTES_PER_DIRECTION}`;
  const parser = new DecryptedParser(options.maxDecryptedBytes ?? MAX_DECRYPTED_BYTES);
  await toolLines('tshark', ['-n', '-r', input, '-P', '-x', '-Y', `tls && ${early}`], (line) =>
    parser.line(line),
  );
  const reader = new HandshakeHeadReader(parser.end());
  await fieldRows(
    input,
    `tcp.len > 0 && ${early}`,
    ['frame.number', 'tcp.stream', 'tcp.payload', ...ENDS_FIELDS],
    ([frame, stream, payload, ...ends]) => {
      reader.push({
        frame: Number(frame),
        stream: Number(stream),
        ...endsOf(ends),
        payload: Buffer.from((payload ?? '').replace(/:/g, ''), 'hex'),
      });
    },
  );
  return { heads: reader.heads, unreadRecords: parser.dropped };
}

/**
 * Bytes of each direction of a connection read for handshake messages. A handshake of the
 * largest trust bundle the harness builds (1,000 CAs in CertificateRequest, about 100 KB) and an
 * oversized Certificate's header fit well within it.
 */
const HEAD_BYTES_PER_DIRECTION = 1024 * 1024;
/** Decrypted plaintext held while reading handshake heads (the rest of a busy window is skipped). */
const MAX_DECRYPTED_BYTES = 32 * 1024 * 1024;

const HANDSHAKE_TYPES: Record<string, string> = {
  '1': 'ClientHello',
  '2': 'ServerHello',
  '4': 'NewSessionTicket',
  '8': 'EncryptedExtensions',
  '11': 'Certificate',
  '12': 'ServerKeyExchange',
  '13': 'CertificateRequest',
  '14': 'ServerHelloDone',
  '15': 'CertificateVerify',
  '16': 'ClientKeyExchange',
  '20': 'Finished',
  '25': 'CompressedCertificate',
};

const ALERTS: Record<string, string> = {
  '0': 'close_notify',
  '10': 'unexpected_message',
  '20': 'bad_record_mac',
  '22': 'record_overflow',
  '40': 'handshake_failure',
  '42': 'bad_certificate',
  '47': 'illegal_parameter',
  '48': 'unknown_ca',
  '50': 'decode_error',
  '51': 'decrypt_error',
  '70': 'protocol_version',
  '80': 'internal_error',
  '116': 'certificate_required',
};

/** The ports TLS clients dialled in a capture: where each ClientHello went. */
async function tlsServerPorts(input: string): Promise<number[]> {
  const out = await fieldOfPackets(input, 'tls.handshake.type == 1', 'tcp.dstport');
  return [...new Set(out.split('\n').filter(Boolean).map(Number))].sort((a, b) => a - b);
}

/**
 * The TCP streams of a capture that carry HTTP once decrypted with the secrets it embeds: REST
 * requests, whose Basic auth header holds an API password. A server may speak its own protocol
 * and HTTP on one port (Icinga's cluster and API do), so the decrypted data on every TLS server
 * port of the capture is read as HTTP where it is HTTP.
 */
export async function httpStreams(input: string): Promise<number[]> {
  const ports = await tlsServerPorts(input);
  if (ports.length === 0) return [];
  const out = await tool('tshark', [
    '-n',
    '-r',
    input,
    ...ports.flatMap((port) => ['-d', `tls.port==${port},http`]),
    '-Y',
    'http.request',
    '-T',
    'fields',
    '-e',
    'tcp.stream',
  ]);
  return [...new Set(out.split('\n').filter(Boolean).map(Number))].sort((a, b) => a - b);
}

/** A copy of a capture without the given TCP streams (their packets gone; everything else kept).
 * Set elements take commas: Wireshark 4.0 refuses a list separated by spaces alone. */
export async function withoutStreams(input: string, streams: readonly number[], out: string): Promise<void> {
  await tool('tshark', [
    '-n',
    '-r',
    input,
    '-Y',
    `!(tcp.stream in {${streams.join(', ')}})`,
    '-F',
    'pcapng',
    '-w',
    out,
  ]);
}
