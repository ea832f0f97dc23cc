import { ErrorCodes, HuntError } from '../errors.ts';
import { icinga } from '../systems/icinga/icinga-system.ts';
import { stunnel } from '../systems/stunnel/stunnel-system.ts';
import { integerOption } from './args.ts';

/** The systems under test the CLI knows: each gives a version option named after it (--icinga, --stunnel). */
export const systems = [icinga, stunnel] as const;

export const systemNames = systems.map((system) => system.name);

/** Every system's detectors, in one list (tests run the whole chain over a history). */
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

/**
 * parseArgs options for a run's length in steps: --steps, and --reloads, its first name (Icinga's
 * steps are reloads; runs of every system were sized with it before --steps).
 */
export const stepOptions = {
  steps: { type: 'string' as const },
  reloads: { type: 'string' as const },
};

/** The help line of --steps, with each system's unit. */
export const stepsHelp = [
  "  --steps <n>         how many steps (default: the scenario's); --reloads <n> is the same",
  `                      (${systems.map((system) => `${system.name}'s are ${system.stepUnit}`).join(', ')})`,
].join('\n');

/** The steps asked for (--steps or --reloads, not both), checked: 1 to `max`. */
export function chosenSteps(values: Record<string, unknown>, max: number): number | undefined {
  const given = (['steps', 'reloads'] as const).filter((name) => values[name] !== undefined);
  if (given.length > 1)
    throw new HuntError(ErrorCodes.USAGE, '--reloads is the older name of --steps: give one of them.');
  const [name] = given;
  return name === undefined ? undefined : integerOption(`--${name}`, String(values[name]), 1, max);
}

/**
 * Help lines of the version options, from each system's catalogue (so they never go stale):
 * `--icinga <version>  2.12.3, 2.13.6 or 2.14.6 (default 2.13.6)`, and --image where a system
 * takes a user's image. `value` is what the option takes ('version', 'list'); `column` where
 * the explanation starts.
 */
export function versionOptionsHelp(value: 'version' | 'list', column: number): string {
  const option = (name: string, text: string) => `  ${`--${name} <${value}>`.padEnd(column - 3)} ${text}`;
  const listed = (versions: readonly string[]) =>
    versions.length > 1 ? `${versions.slice(0, -1).join(', ')} or ${versions.at(-1)}` : versions.join('');
  const lines = systems.map((system) =>
    option(
      system.name,
      value === 'version'
        ? `${system.name} ${listed(system.versions)} (default ${system.defaultVersion})`
        : `${system.name} versions, comma-separated, of ${system.versions.join(', ')}`,
    ),
  );
  const imaged = systems.filter((system) => system.takesImages !== false).map((system) => system.name);
  lines.push(
    `  ${'--image <ref>'.padEnd(column - 3)} a user's image instead of a version (${imaged.join(', ')})${value === 'list' ? '; repeat for more' : ''}`,
  );
  return lines.join('\n');
}
