import { ErrorCodes, HuntError } from '../errors.ts';
import { icinga } from '../systems/icinga/icinga-system.ts';
import { stunnel } from '../systems/stunnel/stunnel-system.ts';

/** The systems under test the CLI knows: each gives a version option named after it (--icinga, --stunnel). */
export const systems = [icinga, stunnel] as const;

export const systemNames = systems.map((system) => system.name);

/** Every system's detectors: what `hunt report` re-detects an old run with (its run.json names them). */
export const knownDetectors = systems.flatMap((system) => system.detectors);

/** parseArgs options: one string option per system. */
export const systemOptions = Object.fromEntries(
  systemNames.map((name) => [name, { type: 'string' as const }]),
);

/** The version option given (at most one), as the runner takes it: the version and the option's name. */
export function chosenVersion(values: Record<string, unknown>): { version?: string; versionOption?: string } {
  const given = systemNames.filter((name) => values[name] !== undefined);
  if (given.length > 1)
    throw new HuntError(
      ErrorCodes.USAGE,
      `A scenario tests one system: give one of ${given.map((name) => `--${name}`).join(', ')}.`,
    );
  const [name] = given;
  return name === undefined ? {} : { version: String(values[name]), versionOption: name };
}
