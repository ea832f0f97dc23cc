import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, HuntError } from '../errors.ts';
import { RunLayout } from './layout.ts';

/** How a run ended. `complete` says the run folder holds everything the run meant to write. */
export interface RunOutcome {
  status: 'passed' | 'failed' | 'interrupted' | 'error';
  exitCode: number;
  complete: boolean;
  /** A short sentence: the verdict, or the error. */
  summary?: string;
}

/**
 * run.json: what a run was (scenario, parameters, seed, target, limits) and how it ended. Run
 * writes it (atomically, each time a section changes); `readRunManifest` is its one reader.
 * Sections a part adds about itself (`stack`: the system's versions and image) are its own.
 */
export interface RunManifest {
  id: string;
  scenario: string;
  params: Record<string, unknown>;
  seed: number;
  command?: string[];
  harness: { version?: string; commit?: string };
  host: { kernel?: string; cores?: number; memoryGiB?: number; node?: string; platform?: string };
  startedAt: string;
  endedAt: string | null;
  outcome: RunOutcome | null;
  complete: boolean;
  /** `{ <system>: <version> }` (`{ icinga: '2.13.6' }`) or `{ image: 'repo:tag' }`. */
  target?: Record<string, string>;
  /** The system under test's name: its report reads the run in its words (absent before 2026-12-07). */
  system?: string;
  /** Read with `steps` filled from the name it had in runs written before 2026-12-07. */
  limits?: {
    steps?: number;
    /** What a step is, plural: the system's word (`stepUnit`). */
    unit?: string;
    durationMs?: number | null;
    diskCapBytes?: number;
  };
  detectors?: string[];
  expectations?: string[];
  capture?: { mode?: 'on' | 'off' | 'optional'; secrets?: boolean };
  /** The run this one replays (`hunt run --replay`), and whether its faults' anchors were followed. */
  replayOf?: { dir: string; anchorsFollowed: boolean };
  /** The plan's cell this run was (`hunt run --cell`): which plan, which of how many cells. */
  plan?: { id: string; cell: number; cells: number; name: string };
  /**
   * What the system under test says of itself (image, versions, nodes): `version` and
   * `description` in every system's words; runs written before those named their fields for the
   * system (`<system>Version`, `<system>VersionText`), read by `reportedVersion`.
   */
  stack?: {
    image?: string;
    imageId?: string;
    version?: string;
    description?: string;
    opensslVersion?: string;
    dockerVersion?: string;
    [field: string]: unknown;
  };
  verdict?: {
    expectations: Array<{ description: string; ok: boolean; detail: string }>;
    incidents: number;
  };
}

/** Versions in run.json's stack section that are not the system's own (what it links, what runs it). */
const COMPONENT_VERSIONS = new Set(['opensslVersion', 'dockerVersion']);

/**
 * The version the system under test reports of itself (run.json's `stack.version`). Runs written
 * before it was recorded there named the field for the system (`<system>Version`).
 */
export function reportedVersion(stack: Record<string, unknown>): string | undefined {
  if (typeof stack.version === 'string') return stack.version;
  const named = Object.entries(stack).find(
    ([field, value]) =>
      field.endsWith('Version') && !COMPONENT_VERSIONS.has(field) && typeof value === 'string',
  );
  return named?.[1] as string | undefined;
}

/** The target a manifest names, as a selection: the system's version, or the image. */
export function targetOf(manifest: RunManifest): { system?: string; version?: string; image?: string } {
  const target = manifest.target ?? {};
  if (typeof target.image === 'string') return { image: target.image };
  const [system, version] = Object.entries(target)[0] ?? [];
  return { system, version };
}

/** The sections a part of the run may add or replace (Run.describe). */
export type ManifestSection = Exclude<
  keyof RunManifest,
  'id' | 'seed' | 'startedAt' | 'endedAt' | 'outcome' | 'complete'
>;

/** run.json of an existing run folder; HH_RUN_NOT_FOUND when there is none or it is not one. */
export async function readRunManifest(dir: string): Promise<RunManifest> {
  const path = join(dir, RunLayout.manifest);
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new HuntError(
      ErrorCodes.RUN_NOT_FOUND,
      `${dir} is not a run folder (no ${RunLayout.manifest}: ${error.code}). Runs are under results/<run-id>/.`,
    );
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HuntError(ErrorCodes.RUN_NOT_FOUND, `${path} is not valid JSON.`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new HuntError(ErrorCodes.RUN_NOT_FOUND, `${path} is not a run manifest (not an object).`);
  const manifest = parsed as Partial<RunManifest>;
  // A folder from an older harness, or one killed before its first write, still reads.
  return {
    ...manifest,
    id: typeof manifest.id === 'string' ? manifest.id : '',
    scenario: typeof manifest.scenario === 'string' ? manifest.scenario : '',
    params: isRecord(manifest.params) ? manifest.params : {},
    seed: typeof manifest.seed === 'number' ? manifest.seed : Number.NaN,
    harness: isRecord(manifest.harness) ? manifest.harness : {},
    host: isRecord(manifest.host) ? manifest.host : {},
    startedAt: typeof manifest.startedAt === 'string' ? manifest.startedAt : '',
    endedAt: typeof manifest.endedAt === 'string' ? manifest.endedAt : null,
    outcome: isRecord(manifest.outcome) ? (manifest.outcome as RunOutcome) : null,
    complete: manifest.complete === true,
    ...(isRecord(manifest.limits) ? { limits: limitsOf(manifest.limits) } : {}),
  };
}

/** What run.json's limits hold today, all but `steps` optional. */
const LIMITS = new Set(['steps', 'unit', 'durationMs', 'diskCapBytes']);

/**
 * The limits. Before 2026-12-07 the step limit was named by its unit (Icinga's `reloads`): the
 * one number among them whose name is none of today's is read as `steps`.
 */
function limitsOf(limits: Record<string, unknown>): NonNullable<RunManifest['limits']> {
  if (limits.steps !== undefined) return limits;
  const former = Object.keys(limits).find((key) => !LIMITS.has(key) && typeof limits[key] === 'number');
  if (former === undefined) return limits;
  const { [former]: steps, ...rest } = limits;
  return { ...rest, steps: steps as number };
}

function isRecord(value: unknown): value is Record<string, never> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
