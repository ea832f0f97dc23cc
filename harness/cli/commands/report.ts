import { ErrorCodes, HuntError } from '../../errors.ts';
import { standaloneIncidents } from '../../observe/incidents.ts';
import { writeReport } from '../../report/report-writer.ts';
import { parseCommandArgs } from '../args.ts';
import { type Command, showHelp } from '../command.ts';
import { systems } from '../systems.ts';

export const report: Command = {
  name: 'report',
  summary: "(re)write a run's report from its folder alone: hunt report results/<run-id>",
  help: `Usage: hunt report <run-dir> [--json]

Reads a run folder (run.json, history.jsonl), runs every detector the run used over its history
again, and writes report.md, summary.json, timeline.svg and timeline.png into it. Works on a run
that finished, was interrupted, or was killed (its report then says it is incomplete).
--json prints summary.json.

Exit codes: 0 the run passed, 1 it found incidents or failed an expectation (or is incomplete),
2 not a run folder.`,
  async run(argv, output) {
    const { values, positionals } = parseCommandArgs('report', argv, {});
    if (values.help) return showHelp(output, report.help);
    if (positionals.length !== 1)
      throw new HuntError(ErrorCodes.USAGE, 'Name one run folder: hunt report results/<run-id>');
    const written = await writeReport(positionals[0] as string, systems);
    const { summary } = written;
    const lines = [
      `${summary.id}: ${summary.status}${summary.outcome ? ` (${summary.outcome})` : ''}`,
      `${summary.steps ? `${summary.steps.unit} ${summary.steps.total}, ` : ''}incidents ${standaloneIncidents(summary.incidents).length}`,
      ...summary.incidents.map(
        (i) =>
          `  #${i.id} ${i.kind} ${i.node ?? '-'} x${i.count}${i.partOf !== undefined ? ` (part of #${i.partOf})` : ''}: ${i.summary.slice(0, 100)}`,
      ),
      `report: ${written.reportPath}`,
    ];
    output.result(summary, lines.join('\n'));
    return summary.status === 'passed' ? 0 : summary.status === 'interrupted' ? 130 : 1;
  },
};
