import { access, constants, readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { $ } from 'zx/core';
import { ErrorCodes, HuntError } from '../errors.ts';
import type { Progress } from '../progress.ts';

/** Host commands the harness runs, and the Debian package that provides each. */
export const HostTools = {
  dockerd: 'docker.io',
  debootstrap: 'debootstrap',
  tcpdump: 'tcpdump',
  tshark: 'tshark',
  editcap: 'wireshark-common',
  /** bench:proxy's reference proxy. */
  socat: 'socat',
  /** hunt watch --core: a core file of the watched worker. */
  gdb: 'gdb',
} as const;

export type HostTool = keyof typeof HostTools;

/** The absolute path of an executable on PATH, or undefined. */
export async function which(command: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** True where /etc/os-release says Debian or a derivative (Ubuntu): apt-get is the way to install. */
export function isDebianLike(osRelease: string): boolean {
  const fields = new Map<string, string>();
  for (const line of osRelease.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] && match[2] !== undefined) fields.set(match[1], match[2].replace(/^"|"$/g, ''));
  }
  const ids = `${fields.get('ID') ?? ''} ${fields.get('ID_LIKE') ?? ''}`.split(/\s+/);
  return ids.includes('debian') || ids.includes('ubuntu');
}

/** Whether this process may install Debian packages itself. */
export async function canAptInstall(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  const osRelease = await readFile('/etc/os-release', 'utf8').catch(() => '');
  return isDebianLike(osRelease) && (await which('apt-get')) !== undefined;
}

/**
 * Makes sure every named tool is on PATH: installs the missing ones with apt-get where this is
 * Debian/Ubuntu and we are root; otherwise throws one error naming every missing package.
 */
export async function ensureHostTools(
  tools: readonly HostTool[],
  progress: Progress,
  options: { install?: boolean } = {},
): Promise<void> {
  const missing: HostTool[] = [];
  for (const tool of tools) if ((await which(tool)) === undefined) missing.push(tool);
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((tool) => HostTools[tool]))];
  if (options.install === false)
    throw new HuntError(
      ErrorCodes.HOST_TOOL_MISSING,
      `Missing host tools: ${missing.join(', ')}. Install the packages ${packages.join(', ')} ` +
        `(on Debian/Ubuntu: apt-get install ${packages.join(' ')}): this command installs nothing on the host it runs on.`,
      { details: { missing, packages } },
    );
  if (!(await canAptInstall())) {
    throw new HuntError(
      ErrorCodes.HOST_TOOL_MISSING,
      `Missing host tools: ${missing.join(', ')}. Install the packages ${packages.join(', ')} ` +
        '(on Debian/Ubuntu: apt-get install ' +
        `${packages.join(' ')}), or run hunt as root on Debian/Ubuntu and it installs them itself.`,
      { details: { missing, packages } },
    );
  }
  progress.step(`installing ${packages.join(', ')} with apt-get (missing: ${missing.join(', ')})`);
  await aptInstall(packages, progress);
  const stillMissing: HostTool[] = [];
  for (const tool of missing) if ((await which(tool)) === undefined) stillMissing.push(tool);
  if (stillMissing.length > 0) {
    throw new HuntError(
      ErrorCodes.HOST_TOOL_MISSING,
      `apt-get installed ${packages.join(', ')} but ${stillMissing.join(', ')} is still not on PATH. ` +
        'Check the apt output above and PATH.',
    );
  }
}

async function aptInstall(packages: string[], progress: Progress): Promise<void> {
  const shell = $({ quiet: true, nothrow: true, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  for (const args of [['update'], ['install', '-y', ...packages]]) {
    const step = shell`apt-get ${args}`;
    step.stdout.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) progress.detail(line.trim());
    });
    const result = await step;
    if (result.exitCode !== 0) {
      throw new HuntError(
        ErrorCodes.HOST_TOOL_MISSING,
        `apt-get ${args[0]} failed (exit ${result.exitCode}) while installing ${packages.join(', ')}: ` +
          `${result.stderr.trim().split('\n').slice(-3).join(' | ')}. Fix the apt configuration or install them by hand.`,
      );
    }
  }
}
