import { ErrorCodes, HuntError } from '../errors.ts';

/** One typed parameter of a scenario: what `hunt list` shows and `--param k=v` is checked against. */
export interface IntegerParam {
  type: 'integer';
  default: number;
  min: number;
  max: number;
  unit?: string;
  summary: string;
}

export interface ChoiceParam {
  type: 'choice';
  default: string;
  choices: readonly string[];
  summary: string;
}

export type ParamSpec = IntegerParam | ChoiceParam;

export type ParamSpecs = Record<string, ParamSpec>;

/** The value types of a spec: integer -> number, choice -> string. */
export type ParamValues<S extends ParamSpecs> = {
  [K in keyof S]: S[K] extends { type: 'integer' } ? number : string;
};

export function integer(spec: Omit<IntegerParam, 'type'>): IntegerParam {
  return { type: 'integer', ...spec };
}

export function choice(spec: Omit<ChoiceParam, 'type'>): ChoiceParam {
  return { type: 'choice', ...spec };
}

/**
 * `["endpoints=500", ...]` (or an object, from run.json for --replay) -> every parameter with
 * its value, defaults filled in. An unknown name lists the known ones; a value out of range says
 * the range.
 */
export function resolveParams(
  scenario: string,
  specs: ParamSpecs,
  given: readonly string[] | Record<string, unknown>,
): Record<string, number | string> {
  const pairs = Array.isArray(given)
    ? given.map((item: string) => {
        const at = item.indexOf('=');
        if (at <= 0)
          throw new HuntError(
            ErrorCodes.PARAM_INVALID,
            `--param takes name=value, not "${item}". Parameters of ${scenario}: ${known(specs)}.`,
          );
        return [item.slice(0, at), item.slice(at + 1)] as const;
      })
    : Object.entries(given).map(([name, value]) => [name, String(value)] as const);
  const values: Record<string, number | string> = {};
  for (const [name, spec] of Object.entries(specs)) values[name] = spec.default;
  for (const [name, text] of pairs) {
    const spec = specs[name];
    if (!spec)
      throw new HuntError(
        ErrorCodes.PARAM_INVALID,
        `${scenario} has no parameter "${name}". Its parameters: ${known(specs)}. See: hunt list`,
      );
    values[name] = parseValue(scenario, name, spec, text);
  }
  return values;
}

function parseValue(scenario: string, name: string, spec: ParamSpec, text: string): number | string {
  if (spec.type === 'choice') {
    if (!spec.choices.includes(text))
      throw new HuntError(
        ErrorCodes.PARAM_INVALID,
        `${scenario}: ${name} is one of ${spec.choices.join(', ')}, not "${text}".`,
      );
    return text;
  }
  const value = /^-?\d+$/.test(text.replace(/_/g, '')) ? Number(text.replace(/_/g, '')) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < spec.min || value > spec.max)
    throw new HuntError(
      ErrorCodes.PARAM_INVALID,
      `${scenario}: ${name} is a whole number from ${spec.min} to ${spec.max}${spec.unit ? ` (${spec.unit})` : ''}, not "${text}".`,
    );
  return value;
}

function known(specs: ParamSpecs): string {
  const names = Object.keys(specs);
  return names.length > 0 ? names.join(', ') : '(none)';
}

/** One line of a parameter for help texts: `name=default   range unit   summary`. */
export function describeParam(name: string, spec: ParamSpec): string {
  const range =
    spec.type === 'integer'
      ? `${spec.min}..${spec.max}${spec.unit ? ` ${spec.unit}` : ''}`
      : spec.choices.join(' | ');
  return `${`${name}=${spec.default}`.padEnd(22)} ${range.padEnd(28)} ${spec.summary}`;
}
