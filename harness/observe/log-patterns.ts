/**
 * What the log detector looks for in a master's icinga2.log, first match wins. The field's
 * line comes in two shapes: 2.14.6 (OpenSSL 3.5) appends " (SSL routines)".
 */
export interface LogPattern {
  name: string;
  kind: string;
  pattern: RegExp;
}

export const builtInPatterns: readonly LogPattern[] = [
  {
    name: 'tls-handshake-failed',
    kind: 'tls-handshake-failed',
    pattern: /Client TLS handshake failed \((?:from|to) \[([^\]]+)\]:\d+\): (.+?)(?: \(SSL routines\))?$/,
  },
  { name: 'excessive-message-size', kind: 'tls-handshake-failed', pattern: /excessive message size/ },
  {
    name: 'openssl-error',
    kind: 'openssl-error',
    pattern: /SSL routines|ssl3_|tls_process|error:0A0000|OpenSSL/,
  },
  { name: 'duplicate-connection', kind: 'duplicate-connection', pattern: /Ignoring JSON-RPC connection/ },
  {
    name: 'segfault',
    kind: 'crash',
    pattern: /SIGSEGV|Segmentation fault|Caught unhandled exception|terminate called/,
  },
  {
    name: 'worker-crash',
    kind: 'crash',
    pattern: /[Ww]orker process .*(exited|terminated|crashed|died)|Failed to start .*worker/,
  },
  { name: 'critical', kind: 'critical-log', pattern: /\] critical\// },
];

/** A log line -> what it means: kind, a reason to deduplicate by, the peer where the line names one. */
export function classify(
  line: string,
  patterns: readonly LogPattern[],
): { kind: string; name: string; reason: string; peer?: string } | undefined {
  for (const entry of patterns) {
    const match = entry.pattern.exec(line);
    if (!match) continue;
    if (entry.name === 'tls-handshake-failed') {
      return {
        kind: entry.kind,
        name: entry.name,
        reason: match[2] ?? 'unknown',
        peer: match[1]?.replace(/^::ffff:/, ''),
      };
    }
    return { kind: entry.kind, name: entry.name, reason: normalize(line) };
  }
  return undefined;
}

/** A line without its timestamp, addresses and numbers: lines that differ only there are one reason. */
export function normalize(line: string): string {
  return line
    .replace(/^\[[^\]]+\]\s*/, '')
    .replace(/\[[0-9a-f:.]+\]:\d+/gi, '[addr]')
    .replace(/\b\d+(\.\d+)*\b/g, 'N')
    .replace(/'[^']*'/g, "'…'")
    .slice(0, 200);
}
