/**
 * Labels on everything the harness creates. `hunt clean` finds leftovers by MANAGED alone, so a
 * run killed with SIGKILL still leaves nothing it cannot find.
 */
export const Labels = {
  MANAGED: 'io.handshake-hunter.managed',
  RUN: 'io.handshake-hunter.run',
  ROLE: 'io.handshake-hunter.role',
  ICINGA_VERSION: 'io.handshake-hunter.icinga-version',
  DEBIAN_SUITE: 'io.handshake-hunter.debian-suite',
  INPUTS: 'io.handshake-hunter.inputs',
} as const;

/** The labels for one object: always MANAGED, plus whatever the caller adds. */
export function harnessLabels(extra: Record<string, string> = {}): Record<string, string> {
  return { [Labels.MANAGED]: 'true', ...extra };
}

/** A Docker API filter that matches everything the harness created (optionally one run's). */
export function managedFilter(runId?: string): { label: string[] } {
  const label = [`${Labels.MANAGED}=true`];
  if (runId !== undefined) label.push(`${Labels.RUN}=${runId}`);
  return { label };
}
