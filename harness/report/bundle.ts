import { createReadStream } from 'node:fs';
import { copyFile, link, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { create as createTar } from 'tar';
import { httpStreams, withoutStreams } from '../capture/capture-tools.ts';
import { ErrorCodes, HuntError } from '../errors.ts';
import { makeDirectory } from '../fs-directory.ts';
import { RunLayout } from '../run/layout.ts';
import { readRunManifest } from '../run/manifest.ts';
import { folderFiles } from '../run/run-folder.ts';

/** GitHub's limit for a file attached to an issue or comment. */
export const GITHUB_ATTACHMENT_BYTES = 25 * 1000 * 1000;

/** How much of each node log a bundle carries: the end, where the run stopped. */
const LOG_TAIL_BYTES = 256 * 1024;

/**
 * What may go into a bundle, most important first. Parts of a lower rank are dropped before any
 * of a higher one when the bundle is too big: the history and log tails first, then windows
 * (the cut streams stay), then the cut streams, newest incident first. Rank 0 always goes.
 */
type Rank = 0 | 1 | 2 | 3;
interface Part {
  /** Path inside the run folder, in the staging folder's files/ (a redacted or secret-free copy) and in the bundle. */
  path: string;
  rank: Rank;
  /** Why it would be left out, said in the bundle's README. */
  kind: string;
  /** The file on disk (device and inode): the same for a window hard-linked into several folders. */
  file: string;
  estimate: number;
}

export interface BundleOptions {
  maxBytes?: number;
  /** Output file (default: <run-dir>/bundle-<run-id>.tar.gz). */
  out?: string;
}

export interface BundleResult {
  path: string;
  bytes: number;
  included: string[];
  leftOut: Array<{ path: string; reason: string }>;
  notes: string[];
}

/** Never in a bundle: key logs (they decrypt every session, the API's too) and private keys. */
const NEVER = [
  /^keys\//,
  /^cores\//,
  /\.key$/,
  /\.keylog(\.\d+)?$/,
  /^captures\//,
  /\.tmp$/,
  /^bundle-.*\.tar\.gz$/,
];
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/**
 * A .tar.gz of a run for a GitHub issue, under `maxBytes` (25 MB): report.md, summary.json,
 * timeline.png, run.json, every incident's folder (evidence, capture.txt, capture.pcapng,
 * window.pcapng), the tails of the node logs and the history, trimmed by rank when too big, with
 * a README.txt that says what was left out. Captures keep their embedded TLS secrets (the run's
 * own test keys); the connections that decrypt to REST API requests (Basic auth: the API
 * password) are cut out of them. Any text with a private key in it is refused, not redacted.
 */
export async function writeBundle(runDir: string, options: BundleOptions = {}): Promise<BundleResult> {
  const meta = await readRunManifest(runDir);
  const id = String(meta.id ?? basename(runDir));
  const maxBytes = options.maxBytes ?? GITHUB_ATTACHMENT_BYTES;
  if (!(maxBytes >= 64 * 1024))
    throw new HuntError(
      ErrorCodes.USAGE,
      `--max must be at least 64KB (a report alone needs that), not ${maxBytes} bytes.`,
    );
  const out = options.out ?? join(runDir, `bundle-${id}.tar.gz`);
  const staging = await mkdtemp(join(tmpdir(), 'hh-bundle-'));
  try {
    const notes: string[] = [];
    const parts = await stageParts(runDir, staging, notes);
    const leftOut: BundleResult['leftOut'] = [];
    // Drop by rank (highest first), within a rank the largest first, until the estimate fits.
    const droppable = parts
      .filter((part) => part.rank > 0)
      .sort((a, b) => b.rank - a.rank || b.estimate - a.estimate);
    let chosen = parts;
    const budget = maxBytes * 0.95 - 16 * 1024; // headroom for tar headers and the README
    // A file shared by several incidents' folders is one file: it goes, or stays, in all of them.
    const drop = (part: Part) => {
      const gone = chosen.filter((candidate) => candidate.file === part.file);
      chosen = chosen.filter((candidate) => candidate.file !== part.file);
      for (const each of gone)
        leftOut.push({
          path: each.path,
          reason: `${each.kind}: left out to stay under ${formatMB(maxBytes)}`,
        });
    };
    for (const part of droppable) {
      if (total(chosen) <= budget) break;
      if (chosen.includes(part)) drop(part);
    }
    // The estimate is per file; the real archive decides. Drop one more part at a time if needed.
    for (let attempt = 0; ; attempt++) {
      await writeReadme(staging, id, chosen, leftOut, notes);
      const temporary = `${out}.${process.pid}.tmp`;
      await pack(staging, id, chosen, temporary);
      const bytes = (await stat(temporary)).size;
      if (bytes <= maxBytes) {
        await rename(temporary, out);
        return {
          path: out,
          bytes,
          included: chosen.map((part) => part.path),
          leftOut,
          notes,
        };
      }
      await rm(temporary, { force: true });
      const next = droppable.find((part) => chosen.includes(part));
      if (!next || attempt > parts.length)
        throw new HuntError(
          ErrorCodes.USAGE,
          `Even the report and the incidents' summaries take ${formatMB(bytes)}, over --max ${formatMB(maxBytes)}: raise --max.`,
        );
      drop(next);
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

function total(parts: readonly Part[]): number {
  return parts.reduce((sum, part) => sum + part.estimate, 0);
}

async function stageParts(runDir: string, staging: string, notes: string[]): Promise<Part[]> {
  const parts: Part[] = [];
  // Incidents of one moment share one capture window, hard-linked into each folder: staged once,
  // linked again, and packed as tar links (a few hundred bytes each, not a copy per incident).
  const stagedByInode = new Map<string, string>();
  for (const { path, inode: sharedInode } of await folderFiles(runDir)) {
    const inode = sharedInode ?? path;
    if (NEVER.some((pattern) => pattern.test(path))) continue;
    const rank = rankOf(path);
    if (rank === undefined) continue;
    const original = join(runDir, path);
    const staged = join(staging, 'files', path);
    await mkdirFor(staged);
    const sameFile = stagedByInode.get(inode);
    if (sameFile !== undefined) {
      await link(sameFile, staged);
      parts.push({ path, rank, kind: kindOf(path), file: inode, estimate: 512 });
      continue;
    }
    stagedByInode.set(inode, staged);
    if (path.endsWith('.pcapng')) {
      // The harness's own REST API connections (Basic auth: the API password) never travel.
      const streams = await httpStreams(original);
      if (streams.length > 0) {
        await withoutStreams(original, streams, staged);
        notes.push(
          `${path}: ${streams.length} REST API connection(s) of the harness removed (their requests carry the API password).`,
        );
      } else await copyFile(original, staged);
    } else if (path.startsWith('logs/')) {
      await writeFile(staged, await tail(original, LOG_TAIL_BYTES));
    } else if (path === 'history.jsonl') {
      await copyFile(original, staged);
    } else {
      const content = await readFile(original);
      if (PRIVATE_KEY.test(content.toString('latin1')))
        throw new HuntError(
          ErrorCodes.USAGE,
          `${original} holds a private key: a bundle never carries one. Remove it from the run folder, then bundle again.`,
        );
      await writeFile(staged, content);
    }
    parts.push({
      path,
      rank,
      kind: kindOf(path),
      file: inode,
      estimate: await gzipSize(staged),
    });
  }
  return parts;
}

function rankOf(path: string): Rank | undefined {
  if (([...RunLayout.reportFiles, RunLayout.manifest] as string[]).includes(path)) return 0;
  if (RunLayout.isIncidentFile(path)) {
    if (path.endsWith('window.pcapng')) return 2;
    if (path.endsWith('.pcapng')) return 1;
    return 0;
  }
  if (path.startsWith(`${RunLayout.logs}/`) || path === RunLayout.history) return 3;
  return undefined;
}

function kindOf(path: string): string {
  if (path.endsWith('window.pcapng')) return 'capture window (everything in the window)';
  if (path.endsWith('.pcapng')) return "the incident's cut streams";
  if (path === 'history.jsonl') return 'the full history (hunt report re-derives the report from it)';
  if (path.startsWith(`${RunLayout.logs}/`)) return 'node log tail';
  return 'report file';
}

async function writeReadme(
  staging: string,
  id: string,
  chosen: readonly Part[],
  leftOut: BundleResult['leftOut'],
  notes: readonly string[],
): Promise<void> {
  const lines = [
    `handshake-hunter bundle of run ${id}`,
    '',
    'Start with report.md; timeline.png shows the run. Each incidents/<n>/ folder holds the',
    'evidence: incident.json, log excerpts, API snapshots, capture.txt (what tshark saw of the',
    "handshakes) and the captures: capture.pcapng (only the incident's connections) and",
    "window.pcapng (everything around it). The captures carry the TLS secrets of the run's own",
    'test keys, so `tshark -r capture.pcapng` or Wireshark decrypts them with no key file.',
    '',
    "Never included: key logs, private keys, the run's CA key (it never leaves memory), the API",
    "password (the harness's own REST API connections are cut out of the captures).",
    '',
    'Logs are the last 256 KB of each node log.',
    '',
    `Included (${chosen.length} files):`,
    ...chosen.map((part) => `  ${part.path}`),
  ];
  if (leftOut.length > 0)
    lines.push('', 'Left out (to fit the size limit):', ...leftOut.map((x) => `  ${x.path}: ${x.reason}`));
  if (notes.length > 0) lines.push('', 'Notes:', ...notes.map((note) => `  ${note}`));
  await writeFile(join(staging, 'files', 'README.txt'), `${lines.join('\n')}\n`);
}

async function pack(staging: string, id: string, chosen: readonly Part[], out: string): Promise<void> {
  // Under <run-id>/ in the archive, as the run folder is laid out.
  const root = join(staging, 'pack');
  await rm(root, { recursive: true, force: true });
  const top = join(root, id);
  for (const relativePath of ['README.txt', ...chosen.map((part) => part.path)]) {
    const target = join(top, relativePath);
    await mkdirFor(target);
    // A link, not a copy: files staged as one stay one (tar stores the others as links to it).
    await link(join(staging, 'files', relativePath), target);
  }
  // Synchronous: node-tar's asynchronous pack deadlocks on files hard-linked across three or more
  // folders (isaacs/node-tar#460, open in 7.5.x), and create({ file }) then ends with no archive
  // and no error. A bundle is a few tens of MB, packed once by a command that does nothing else.
  createTar({ gzip: true, file: out, cwd: root, portable: true, sync: true }, [id]);
}

async function mkdirFor(path: string): Promise<void> {
  await makeDirectory(dirname(path));
}

async function tail(path: string, bytes: number): Promise<Buffer> {
  const size = (await stat(path)).size;
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(path, { start: Math.max(0, size - bytes) }))
    chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function gzipSize(path: string): Promise<number> {
  let bytes = 0;
  const gzip = createGzip();
  gzip.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  await pipeline(createReadStream(path), gzip);
  return bytes + 512; // a tar header
}

function formatMB(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}
