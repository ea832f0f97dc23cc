import { parseArgs } from 'node:util';
import { ErrorCodes, HuntError } from '../errors.ts';

type OptionSpec = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };

/** Options every command accepts. */
export const commonOptions = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
} as const satisfies Record<string, OptionSpec>;

/**
 * node:util parseArgs with hunt's error shape: an unknown option or a missing value is a usage
 * error (exit 2) that names the command's --help.
 */
export function parseCommandArgs<T extends Record<string, OptionSpec>>(
  command: string,
  argv: string[],
  options: T,
) {
  try {
    return parseArgs({
      args: argv,
      options: { ...commonOptions, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    const message = (error as Error).message;
    // parseArgs takes "--reloads -5" for an option missing its value; say what was wrong instead.
    const ambiguous = /^Option '(-[\w-]+)' argument is ambiguous/.exec(message)?.[1];
    const given = ambiguous ? argv[argv.indexOf(ambiguous) + 1] : undefined;
    const said =
      ambiguous && given && /^-\d/.test(given)
        ? `${ambiguous} must be a whole number, not "${given}": hunt's numbers are never negative`
        : message.split('\n')[0]?.replace(/\.$/, '');
    throw new HuntError(ErrorCodes.USAGE, `${said}. See: hunt ${command} --help`);
  }
}

/** A whole-number option in [min, max]; anything else is a usage error naming the range. */
export function integerOption(name: string, value: string, min: number, max: number): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max)
    throw new HuntError(
      ErrorCodes.USAGE,
      `${name} must be a whole number from ${min} to ${max}, not "${value}".`,
    );
  return number;
}

/** --capture's value. */
export function captureMode(value: string): 'on' | 'off' | 'optional' {
  if (value === 'on' || value === 'off' || value === 'optional') return value;
  throw new HuntError(ErrorCodes.USAGE, `--capture is on, off or optional, not "${value}".`);
}

/** --detectors' value: a comma list, or none (an empty list). */
export function detectorList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  if (value === 'none') return [];
  return value
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
}

/** "25MB", "500KB", "1.5GB", "1000000" (bytes): decimal units, as GitHub states its limit. */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)?$/i.exec(text.trim());
  if (!match)
    throw new HuntError(
      ErrorCodes.USAGE,
      `A size is a number with KB, MB or GB (25MB, 500KB), not "${text}".`,
    );
  const unit = (match[2] ?? 'B').toUpperCase();
  const factor = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9 }[unit] ?? 1;
  return Math.round(Number(match[1]) * factor);
}
