import { formatDuration } from '../duration.ts';
import { HuntError } from '../errors.ts';
import type { RunResult, RunStatus } from '../runner/runner.ts';
import type { Output } from './output.ts';

/** On a TTY one status line rewritten every second; otherwise a plain line every 10 s. */
export function statusPrinter(output: Output): (status: RunStatus) => void {
  let calls = 0;
  return (status) => {
    if (!output.isTty && calls++ % 10 !== 0) return;
    const rate = Math.round(status.ratePerHour).toLocaleString('en');
    const { stepsDone, stepsTotal } = status;
    const clients =
      status.clientsTotal > 0
        ? `${status.clientsLabel} ${status.clientsConnected}/${status.clientsTotal}, `
        : '';
    // A run driven by something else (a race hunt's swaps) counts that, not a step it never takes.
    const own = Object.entries(status.ownDisruptions)
      .map(([kind, count]) => `${kind}s ${count.toLocaleString('en')}, `)
      .join('');
    const steps =
      status.stepUnit !== undefined && (stepsDone > 0 || own === '')
        ? `${status.stepUnit} ${stepsDone}${stepsTotal === undefined || stepsDone > stepsTotal ? '' : `/${stepsTotal}`} (${rate}/h), `
        : '';
    const eta = status.etaMs === undefined ? '' : `, ETA ${formatDuration(status.etaMs)}`;
    output.detail(
      `${steps}${own}${clients}incidents ${status.incidents}, elapsed ${formatDuration(status.elapsedMs)}${eta}`,
    );
  };
}

function errorJson(error: unknown): { code: string; message: string } {
  return {
    code: error instanceof HuntError ? error.code : 'HH_INTERNAL',
    message: error instanceof Error ? error.message : String(error),
  };
}

export function printResult(output: Output, result: RunResult): void {
  const verdict = {
    passed: 'PASSED: every expectation met',
    failed: 'FAILED',
    interrupted: 'INTERRUPTED: stopped early, the report covers what ran',
    error: 'ERROR: the run broke off',
  }[result.status];
  const lines = [verdict];
  for (const expectation of result.expectations)
    lines.push(
      `  ${expectation.ok ? 'met    ' : 'NOT MET'}  ${expectation.description}: ${expectation.detail}`,
    );
  if (result.incidents.length > 0) {
    lines.push('', 'incidents:');
    for (const i of result.incidents)
      lines.push(
        `  #${i.id} ${i.kind.padEnd(22)} ${(i.node ?? '-').padEnd(9)} x${String(i.count).padEnd(5)} ${i.partOf !== undefined ? `(part of #${i.partOf}) ` : ''}${i.summary.slice(0, 90)}`,
      );
  } else lines.push('', 'incidents: none');
  lines.push('', `report: ${result.reportPath}`);
  output.result(
    {
      id: result.id,
      dir: result.dir,
      status: result.status,
      exitCode: result.exitCode,
      expectations: result.expectations,
      incidents: result.incidents,
      report: result.reportPath,
      ...(result.error ? { error: errorJson(result.error) } : {}),
    },
    lines.join('\n'),
  );
}
