import { ErrorCodes, HuntError } from '../../errors.ts';
import { GITHUB_ATTACHMENT_BYTES, writeBundle } from '../../report/bundle.ts';
import { parseCommandArgs, parseSize } from '../args.ts';
import { type Command, showHelp } from '../command.ts';

export const bundle: Command = {
  name: 'bundle',
  summary: 'pack a run for a GitHub issue: a .tar.gz under 25 MB, without secrets',
  help: `Usage: hunt bundle <run-dir> [--max 25MB] [--out <file.tar.gz>] [--json]

Packs report.md, summary.json, timeline.png, run.json, every incident's folder (evidence,
capture.txt, capture.pcapng, window.pcapng), the last 256 KB of each node log and history.jsonl
into <run-dir>/bundle-<run-id>.tar.gz, with a README.txt. When it would be bigger than --max
(default 25MB, GitHub's attachment limit), it leaves out, in this order: the history and log
tails, then the capture windows (the incidents' cut streams stay), then the cut streams. The
README says what was left out.

Never in a bundle: key logs, private keys, the run's CA key, the API password. Captures keep the
TLS secrets of the run's own test keys (they decrypt nothing else); the harness's own REST API
connections (their requests carry the password) are cut out of them.

Exit codes: 0 written, 2 not a run folder, a bad --max, or too big even when trimmed.`,
  async run(argv, output) {
    const { values, positionals } = parseCommandArgs('bundle', argv, {
      max: { type: 'string' },
      out: { type: 'string' },
    });
    if (values.help) return showHelp(output, bundle.help);
    if (positionals.length !== 1)
      throw new HuntError(ErrorCodes.USAGE, 'Name one run folder: hunt bundle results/<run-id>');
    const result = await writeBundle(positionals[0] as string, {
      maxBytes: values.max === undefined ? GITHUB_ATTACHMENT_BYTES : parseSize(values.max),
      out: values.out,
    });
    const lines = [
      `bundle: ${result.path} (${(result.bytes / 1_000_000).toFixed(2)} MB, ${result.included.length} files)`,
      ...result.leftOut.map((part) => `  left out ${part.path}: ${part.reason}`),
      ...result.notes.map((note) => `  note: ${note}`),
    ];
    output.result(result, lines.join('\n'));
    return 0;
  },
};
