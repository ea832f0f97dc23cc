import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Labels on everything the harness creates. `hunt clean` finds leftovers by MANAGED and removes
 * those whose OWNER process is gone, so a run killed with SIGKILL leaves nothing it cannot find,
 * and a run still alive on the same engine is never reaped by another's clean.
 */
export const Labels = {
  /** "true" on a run's containers, networks and volumes; "false" on images (see imageLabels). */
  MANAGED: 'io.handshake-hunter.managed',
  /** "true" on the harness's images, for `hunt clean --all`. */
  IMAGE: 'io.handshake-hunter.image',
  /** The process that created the object: host/pid/start time (see ownerId). */
  OWNER: 'io.handshake-hunter.owner',
  RUN: 'io.handshake-hunter.run',
  ROLE: 'io.handshake-hunter.role',
  DEBIAN_SUITE: 'io.handshake-hunter.debian-suite',
  INPUTS: 'io.handshake-hunter.inputs',
  /** How an image was made, where not from Debian's packages: `source git <commit>`. */
  BUILT_FROM: 'io.handshake-hunter.built-from',
  /**
   * On an image the harness built on top of a user's image (adding its tools): that image's id.
   * Once the user's image is gone the layer serves nothing, and `hunt clean --stages` takes it.
   */
  LAYER_OF: 'io.handshake-hunter.layer-of',
} as const;

/** The label on a system's images that names the version they hold: `io.handshake-hunter.<system>-version`. */
export function versionLabel(system: string): string {
  return `io.handshake-hunter.${system}-version`;
}

/** The labels for one run object: MANAGED, this process as OWNER, plus whatever the caller adds. */
export function harnessLabels(extra: Record<string, string> = {}): Record<string, string> {
  return { [Labels.MANAGED]: 'true', [Labels.OWNER]: ownerId(), ...extra };
}

/**
 * The labels for an image. Containers inherit their image's labels, so an image must not say
 * managed=true: a container started from it by hand would look like a run's. "false" also
 * overrides the label on bases built before images were labelled this way.
 */
export function imageLabels(extra: Record<string, string> = {}): Record<string, string> {
  return { [Labels.MANAGED]: 'false', [Labels.IMAGE]: 'true', ...extra };
}

/** A Docker API filter that matches every run object the harness created (optionally one run's). */
export function managedFilter(runId?: string): { label: string[] } {
  const label = [`${Labels.MANAGED}=true`];
  if (runId !== undefined) label.push(`${Labels.RUN}=${runId}`);
  return { label };
}

/** This process as an owner: host, pid and the pid's start time (so a reused pid is not taken for it). */
export function ownerId(pid = process.pid): string {
  return `${hostname()}/${pid}/${processStart(pid) ?? '?'}`;
}

export type OwnerState = 'alive' | 'gone' | 'elsewhere';

/**
 * Whether the process an OWNER label names still runs. Only this host can tell: an object owned
 * from another host (a remote engine) is 'elsewhere', which clean keeps unless forced. Objects
 * without the label predate it and count as gone.
 */
export function ownerState(owner: string | undefined): OwnerState {
  if (owner === undefined) return 'gone';
  const [host, pidText, start] = owner.split('/');
  if (host !== hostname()) return 'elsewhere';
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 0) return 'gone';
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but is not ours to signal; alive all the same.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return 'gone';
  }
  const now = processStart(pid);
  return start === '?' || now === undefined || now === start ? 'alive' : 'gone';
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), where /proc exists. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from its closing one.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
