/**
 * Every failure the harness reports carries a stable code (the undici habit): callers and the
 * CLI branch on `code`, never on message text. Messages say what was wrong and what to do.
 */
export const ErrorCodes = {
  /** The command line or an option value is wrong. */
  USAGE: 'HH_USAGE',
  /** No Docker engine answers, and none could be installed or started here. */
  ENGINE_UNAVAILABLE: 'HH_ENGINE_UNAVAILABLE',
  /** A host tool (tcpdump, tshark, debootstrap, ...) is missing and cannot be installed here. */
  HOST_TOOL_MISSING: 'HH_HOST_TOOL_MISSING',
  /** An Icinga version that the catalogue does not know. */
  VERSION_UNKNOWN: 'HH_VERSION_UNKNOWN',
  /** A user-named image that does not exist locally and cannot be pulled. */
  IMAGE_NOT_FOUND: 'HH_IMAGE_NOT_FOUND',
  /** No Debian mirror could be read from the machine's apt configuration. */
  MIRROR_UNKNOWN: 'HH_MIRROR_UNKNOWN',
  /** debootstrap, docker import or docker build failed. */
  IMAGE_BUILD_FAILED: 'HH_IMAGE_BUILD_FAILED',
  /** The Icinga REST API answered with an HTTP error; `status` says which (401, 423, 503, ...). */
  API_HTTP: 'HH_API_HTTP',
  /** The Icinga REST API could not be reached (refused, reset, TLS failure, timeout). */
  API_UNREACHABLE: 'HH_API_UNREACHABLE',
  /** A stack did not become ready (connected) before its deadline; the message names what is missing. */
  STACK_NOT_READY: 'HH_STACK_NOT_READY',
  /** A node's configuration failed Icinga's validation at start. */
  CONFIG_INVALID: 'HH_CONFIG_INVALID',
  /** A peer broke the cluster protocol (netstring framing, JSON-RPC). */
  PROTOCOL: 'HH_PROTOCOL',
  /** A toxic type the proxy does not know. */
  TOXIC_UNKNOWN: 'HH_TOXIC_UNKNOWN',
  /** A proxy or toxic that does not exist (by name). */
  PROXY_NOT_FOUND: 'HH_PROXY_NOT_FOUND',
  /** A proxy or toxic of that name exists already (the control API answers 409, as Toxiproxy). */
  PROXY_EXISTS: 'HH_PROXY_EXISTS',
  /** The proxy cannot listen where asked (port in use, address not local). */
  PROXY_LISTEN: 'HH_PROXY_LISTEN',
  /** A run folder (or its history.jsonl) that does not exist or is not a run. */
  RUN_NOT_FOUND: 'HH_RUN_NOT_FOUND',
  /** The results folder cannot be written (read-only, missing permissions). */
  RESULTS_UNWRITABLE: 'HH_RESULTS_UNWRITABLE',
  /** A --baseline file that is not a matrix.json. */
  BASELINE_INVALID: 'HH_BASELINE_INVALID',
  /** A --cell plan file that is not a plan hunt matrix --plan wrote. */
  PLAN_INVALID: 'HH_PLAN_INVALID',
  /** The results folder's disk is (nearly) full: the run stopped to keep what it wrote readable. */
  DISK_FULL: 'HH_DISK_FULL',
  /** A scenario name that no module in scenarios/ defines. */
  SCENARIO_UNKNOWN: 'HH_SCENARIO_UNKNOWN',
  /** A scenario parameter that the scenario does not have, or a value out of its range. */
  PARAM_INVALID: 'HH_PARAM_INVALID',
  /** A capture setting that cannot work (a ring of 0 bytes or files, a negative window). */
  CAPTURE_CONFIG: 'HH_CAPTURE_CONFIG',
  /** A node cannot capture (no tcpdump in a user-named image, no permission). */
  CAPTURE_UNAVAILABLE: 'HH_CAPTURE_UNAVAILABLE',
  /** tshark, editcap or mergecap failed on a capture; the message carries its output. */
  CAPTURE_TOOL: 'HH_CAPTURE_TOOL',
  /** The run was interrupted (SIGINT/SIGTERM). */
  INTERRUPTED: 'HH_INTERRUPTED',
} as const;

/**
 * A code of the harness's, or one a system's room declares for failures only it has (a user's
 * image without the system in it): as stable, `HH_` and capitals.
 */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes] | `HH_${Uppercase<string>}`;

export class HuntError extends Error {
  readonly code: ErrorCode;
  /** Facts that help a reader (paths, versions, excerpts); printed with --json. */
  readonly details: Record<string, unknown>;
  /** The exit code a system's own code stands for, where not bad input (2): its failure, 3. */
  readonly exitCode: 2 | 3 | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown>; exitCode?: 2 | 3 } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'HuntError';
    this.code = code;
    this.details = options.details ?? {};
    this.exitCode = options.exitCode;
  }
}

export function isHuntError(error: unknown, code?: ErrorCode): error is HuntError {
  return error instanceof HuntError && (code === undefined || error.code === code);
}

/**
 * The one place that maps error codes to process exit codes:
 * 0 ok, 1 an expectation not met (or a regression), 2 bad input or environment (fix and re-run),
 * 3 the harness itself failed (a bug or a broken build), 130 interrupted.
 */
export function exitCodeFor(error: unknown): number {
  if (!(error instanceof HuntError)) return 3;
  if (error.exitCode !== undefined) return error.exitCode;
  switch (error.code) {
    case ErrorCodes.IMAGE_BUILD_FAILED:
    case ErrorCodes.API_HTTP:
    case ErrorCodes.API_UNREACHABLE:
    case ErrorCodes.STACK_NOT_READY:
      return 3;
    case ErrorCodes.INTERRUPTED:
      return 130;
    default:
      return 2;
  }
}
