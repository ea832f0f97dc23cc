import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, HuntError } from '../errors.ts';

const DEBIAN_SUITES = /^(buster|bullseye|bookworm|trixie|forky|sid|stable|testing|unstable)$/;

/**
 * The first Debian archive URI in apt sources text (deb822 `.sources` or one-line
 * `sources.list`), skipping security and update suites so debootstrap gets the main archive.
 */
export function mirrorFromSources(text: string): string | undefined {
  // deb822: blank-line separated stanzas of "Field: value".
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      const match = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (match?.[1] && match[2] !== undefined) fields.set(match[1].toLowerCase(), match[2].trim());
    }
    const uri = fields.get('uris')?.split(/\s+/)[0];
    const types = fields.get('types')?.split(/\s+/) ?? [];
    const suites = fields.get('suites')?.split(/\s+/) ?? [];
    if (uri && types.includes('deb') && suites.some((suite) => DEBIAN_SUITES.test(suite))) return uri;
  }
  // One-line: deb [options] uri suite components...
  for (const line of text.split('\n')) {
    const match = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (match?.[1] && match[2] && DEBIAN_SUITES.test(match[2])) return match[1];
  }
  return undefined;
}

/** HH_DEBIAN_MIRROR, else the machine's own apt configuration; never a built-in host name. */
export async function debianMirror(
  env: NodeJS.ProcessEnv = process.env,
  aptDir = '/etc/apt',
): Promise<string> {
  if (env.HH_DEBIAN_MIRROR) return env.HH_DEBIAN_MIRROR;
  const files = [join(aptDir, 'sources.list')];
  const dropIns = await readdir(join(aptDir, 'sources.list.d')).catch(() => []);
  for (const name of dropIns.sort()) {
    if (name.endsWith('.sources') || name.endsWith('.list')) files.push(join(aptDir, 'sources.list.d', name));
  }
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => '');
    const mirror = mirrorFromSources(text);
    if (mirror) return mirror;
  }
  throw new HuntError(
    ErrorCodes.MIRROR_UNKNOWN,
    `No Debian mirror found in ${aptDir}/sources.list or ${aptDir}/sources.list.d/. Set HH_DEBIAN_MIRROR ` +
      'to the URL of a Debian archive mirror (the one apt uses on this machine) and run again.',
  );
}
