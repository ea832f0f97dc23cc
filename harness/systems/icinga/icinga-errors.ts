import { HuntError } from '../../errors.ts';

/** Failures only Icinga has, with codes as stable as the harness's own. */
export const IcingaErrorCodes = {
  /** A user-named image that does not contain a working Icinga 2 (bad input: exit 2). */
  IMAGE_NOT_ICINGA: 'HH_IMAGE_NOT_ICINGA',
  /** A reload did not produce a new serving worker (validation failed, or it timed out): exit 3. */
  RELOAD_FAILED: 'HH_RELOAD_FAILED',
} as const;

/** A reload that brought up no new serving worker: the daemon's failure, not the user's input. */
export function reloadFailed(message: string, details: Record<string, unknown>): HuntError {
  return new HuntError(IcingaErrorCodes.RELOAD_FAILED, message, { details, exitCode: 3 });
}
