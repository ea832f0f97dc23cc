import { describeParam } from '../../runner/params.ts';
import { describeTarget } from '../../runner/scenario.ts';
import { parseCommandArgs } from '../args.ts';
import { type Command, showHelp } from '../command.ts';
import { scenarioCatalog } from '../scenarios.ts';
import { systems } from '../systems.ts';

export const list: Command = {
  name: 'list',
  summary: 'the scenarios with their parameters (defaults, ranges), and the detectors',
  help: `Usage: hunt list [--json]

Lists every scenario (scenarios/index.ts) with its target (the system under test, its versions), its
parameters (default, range or choices, unit), its default number of steps (in its system's unit) and its expectations; then each system's detectors (hunt run --detectors).`,
  async run(argv, output) {
    const { values } = parseCommandArgs('list', argv, {});
    if (values.help) return showHelp(output, list.help);
    const all = await scenarioCatalog.all();
    const found = systems.flatMap((system) =>
      system.detectors.map((detector) => ({ system: system.name, ...detector })),
    );
    const lines: string[] = ['Scenarios (hunt run <name> [--param name=value]):', ''];
    for (const scenario of all) {
      lines.push(`  ${scenario.name}: ${scenario.summary}`);
      lines.push(`      target: ${describeTarget(scenario)}`);
      for (const [name, spec] of Object.entries(scenario.params))
        lines.push(`      ${describeParam(name, spec)}`);
      lines.push(
        `      steps (--steps): ${scenario.defaultSteps ?? 1} ${scenario.system.stepUnit} by default; expects: ${scenario.expectations.map((e) => e.description).join('; ')}`,
        '',
      );
    }
    lines.push("Detectors, each system's own (hunt run --detectors a,b | none):", '');
    for (const detector of found)
      lines.push(`  ${detector.system.padEnd(8)} ${detector.name.padEnd(18)} ${detector.summary}`);
    output.result(
      {
        scenarios: all.map((scenario) => ({
          name: scenario.name,
          summary: scenario.summary,
          target: {
            system: scenario.system.name,
            versions: scenario.system.versions,
            defaultVersion: scenario.system.defaultVersion,
          },
          params: scenario.params,
          defaultSteps: scenario.defaultSteps ?? 1,
          stepUnit: scenario.system.stepUnit,
          expectations: scenario.expectations.map((e) => e.description),
        })),
        detectors: found.map(({ system, name, summary, kinds }) => ({ system, name, summary, kinds })),
      },
      lines.join('\n'),
    );
    return 0;
  },
};
