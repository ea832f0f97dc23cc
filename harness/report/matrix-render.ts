import { join } from 'node:path';
import { writeFileAtomic } from '../fs-atomic.ts';
import { cellKey, type Matrix, type MatrixCell, type Timing } from './matrix.ts';
import { TIMING_ALPHA, TIMING_TOLERANCE } from './matrix-baseline.ts';

const cellText = (value: number | null) => (value === null ? '-' : String(value));

/** matrix.md: the table a CI log or an issue shows, and the regressions against the baseline. */
export function renderMatrix(matrix: Matrix): string {
  const lines = [
    `# Matrix: ${matrix.scenario}`,
    '',
    Object.keys(matrix.params).length > 0
      ? `Parameters: ${Object.entries(matrix.params)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')}`
      : 'Parameters: the defaults',
    '',
  ];
  lines.push(...table(matrix));
  lines.push('');
  if (matrix.missing && matrix.missing.length > 0)
    lines.push(
      '## Cells missing',
      '',
      `${matrix.missing.length} planned cell(s) have no run here (a job that died or was not collected); the table covers the others:`,
      '',
      ...matrix.missing.map((m) => `- plan ${m.plan}, cell ${m.cell}${m.name ? `: ${m.name}` : ''}`),
      '',
    );
  if (matrix.baseline) {
    lines.push(`## Against the baseline (${matrix.baseline.targets.join(', ')})`, '');
    if (matrix.regressions.length === 0)
      lines.push('No regression: no target is worse than the baseline beyond the intervals.');
    else {
      lines.push('| target | measure | baseline | now |', '| --- | --- | --- | --- |');
      for (const r of matrix.regressions)
        lines.push(`| ${r.target} | ${r.measure} | ${r.baseline} | **${r.current}** |`);
    }
    if (
      matrix.baseline.scenario !== matrix.scenario ||
      JSON.stringify(matrix.baseline.params) !== JSON.stringify(matrix.params)
    )
      lines.push(
        '',
        `Note: the baseline ran ${matrix.baseline.scenario} with ${JSON.stringify(matrix.baseline.params)}; ` +
          'the differences may come from that, not from the versions.',
      );
    const missing = matrix.cells.filter((cell) => !matrix.baseline?.targets.includes(cellKey(cell)));
    if (missing.length > 0)
      lines.push('', `Not in the baseline (not compared): ${missing.map(cellKey).join(', ')}.`);
    lines.push('');
  }
  lines.push(
    'Rates are Wilson 95% intervals (zero incidents still bound the rate from above); timing',
    'intervals are distribution-free 95% intervals of the median. A regression: the incident',
    `interval lies above the baseline's, or a timing is larger by a one-sided rank test (Mann-Whitney,`,
    `p < ${TIMING_ALPHA}) and its median grew more than ${Math.round((TIMING_TOLERANCE - 1) * 100)}%.`,
    '',
  );
  return lines.join('\n');
}

/** The matrix's table: per disruption (a race hunt), under load, per step counted, or per step timed. */
function table(matrix: Matrix): string[] {
  const grid = matrix.grid ?? [];
  const advisories = [
    ...new Set(matrix.cells.flatMap((cell) => (cell.advisories ?? []).map((a) => a.advisory))),
  ];
  const probed = matrix.cells.some((cell) => cell.persistence);
  const measures = [...new Set(matrix.cells.flatMap((cell) => Object.keys(cell.measures ?? {})))];
  const extraHead = [
    ...grid,
    ...advisories,
    ...(probed ? ['persistence (recovered by, after)'] : []),
    ...measures,
  ];
  const persistenceOf = (cell: MatrixCell) =>
    (cell.persistence ?? [])
      .map((p) => {
        const recovered =
          p.recoveredAfterMs === undefined
            ? ''
            : ` (${p.recoveredBy ?? 'restart'}, ${Math.round(p.recoveredAfterMs / 100) / 10} s)`;
        return `${p.node} ${p.state}${recovered}`;
      })
      .join('<br>') || '-';
  const extra = (cell: MatrixCell) => [
    ...grid.map((name) => String(cell.grid?.[name] ?? '-')),
    ...advisories.map((id) => {
      const finding = cell.advisories?.find((a) => a.advisory === id);
      return finding ? `${finding.affected ? '**affected**' : 'not affected'}: ${finding.evidence}` : '-';
    }),
    ...(probed ? [persistenceOf(cell)] : []),
    ...measures.map((name) => (cell.measures?.[name] === undefined ? '-' : String(cell.measures[name]))),
  ];
  const row = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`;
  const rule = (n: number) => row(Array.from({ length: n }, () => '---'));
  const lay = (head: readonly string[], values: (cell: MatrixCell) => Array<string | number>) => [
    row(head),
    rule(head.length),
    ...matrix.cells.map((cell) => row(values(cell))),
  ];
  const runsOf = (cell: MatrixCell) =>
    cell.runs.map((run) => (run.status === 'passed' ? run.id : `${run.id} (${run.status})`)).join('<br>');
  const incidentsOf = (cell: MatrixCell) =>
    cell.incidents === 0
      ? '0'
      : `${cell.incidents}: ${Object.entries(cell.incidentsByKind)
          .map(([kind, count]) => `${count} ${kind}`)
          .join(', ')}`;
  // Three significant digits: an interval's width makes the fourth noise ("500 (150-850)").
  const sig = (value: number) => value.toLocaleString('en', { maximumSignificantDigits: 3 });
  const rate = (r: { rate: number; low: number; high: number } | null | undefined) =>
    r ? `${sig(r.rate)} (${sig(r.low)}-${sig(r.high)})` : '-';

  // A cell none of whose steps left figures for the timed table.
  const plainSteps = (cell: MatrixCell) => cell.phasesMs === undefined || !cell.steps?.count;
  const underLoad = matrix.cells.length > 0 && matrix.cells.every((cell) => cell.load && plainSteps(cell));
  // Steps with no samples of their own and no load (a system whose steps are its own): counted in
  // the system's unit.
  const stepped =
    !matrix.unit &&
    matrix.cells.length > 0 &&
    matrix.cells.every((cell) => cell.steps && !cell.load && plainSteps(cell));
  if (stepped) {
    const unit = matrix.cells[0]?.steps?.unit ?? 'steps';
    // The TLS library, where the runs reported the one their system loaded.
    const tls = matrix.cells.some((cell) => cell.opensslVersion);
    const head = [
      'target',
      ...extraHead,
      matrix.cells[0]?.system ?? 'version',
      ...(tls ? ['OpenSSL'] : []),
      'runs',
      unit,
      'incidents',
      `per 1,000 ${unit} (95%)`,
    ];
    return lay(head, (cell) => [
      cell.target,
      ...extra(cell),
      cell.version ?? '-',
      ...(tls ? [cell.opensslVersion ?? '-'] : []),
      runsOf(cell),
      cell.steps?.count ?? 0,
      incidentsOf(cell),
      rate(cell.steps?.incidentsPer1000),
    ]);
  }
  if (matrix.unit && !underLoad) {
    const unit = matrix.unit;
    const head = ['target', ...extraHead, 'version', 'runs', `${unit}s`, 'incidents'];
    head.push(`failed runs per 1,000 ${unit}s (95%)`, `${unit}s to failure, per run`);
    const lines = lay(head, (cell) => {
      const rates = cell.perDisruption;
      return [
        cell.target,
        ...extra(cell),
        cell.version ?? '-',
        runsOf(cell),
        rates?.count ?? 0,
        incidentsOf(cell),
        rate(rates?.failuresPer1000),
        (rates?.toFailure ?? [])
          .map((run) => (run.failed ? `${run.disruptions}` : `>${run.disruptions}`))
          .join(', ') || '-',
      ];
    });
    lines.push(
      '',
      `A run fails at its first incident; ">n" is a run that took n ${unit}s without one (censored).`,
      `The rate counts each ${unit} as one trial: Wilson 95%, an upper bound when nothing failed.`,
    );
    return lines;
  }
  if (underLoad) {
    // A system under steady load: the stalls and silences, not steps.
    const head = [
      'target',
      ...extraHead,
      matrix.cells[0]?.system ?? 'version',
      'runs',
      'incidents',
      'stalls (s)',
      'log silences (s)',
      'completions per second (median)',
      'timeouts',
    ];
    return lay(head, (cell) => [
      cell.target,
      ...extra(cell),
      cell.version ?? '-',
      runsOf(cell),
      incidentsOf(cell),
      cell.load?.stallsS.join(', ') || '-',
      cell.load?.silencesS.join(', ') || '-',
      cell.load?.completedPerSecond ?? '-',
      cell.load?.timeouts ?? '-',
    ]);
  }
  const unit = matrix.cells.find((cell) => cell.steps)?.steps?.unit ?? 'steps';
  const phases = [...new Set(matrix.cells.flatMap((cell) => Object.keys(cell.phasesMs ?? {})))];
  const head = [
    'target',
    ...extraHead,
    matrix.cells[0]?.system ?? 'version',
    'OpenSSL',
    'runs',
    unit,
    'incidents',
    `per 1,000 ${unit} (95%)`,
    ...phases.map((phase) => `${phase} p50 [95%] / p99 ms`),
    `RSS trend KB per 1,000 ${unit} (node / harness)`,
  ];
  const time = (t: Timing | undefined) =>
    !t || t.p50 === null ? '-' : `${t.p50} [${cellText(t.p50Low)}-${cellText(t.p50High)}] / ${t.p99}`;
  return lay(head, (cell) => [
    cell.target,
    ...extra(cell),
    cell.version ?? '-',
    cell.opensslVersion ?? '-',
    runsOf(cell),
    cell.steps?.count ?? 0,
    incidentsOf(cell),
    rate(cell.steps?.incidentsPer1000),
    ...phases.map((phase) => time(cell.phasesMs?.[phase])),
    `${cellText(cell.rssTrendKbPer1000Steps?.node ?? null)} / ${cellText(cell.rssTrendKbPer1000Steps?.harness ?? null)}`,
  ]);
}

/** Writes matrix.json and matrix.md into `dir`, each atomically. */
export async function writeMatrix(dir: string, matrix: Matrix): Promise<{ json: string; markdown: string }> {
  const json = join(dir, 'matrix.json');
  const markdown = join(dir, 'matrix.md');
  await writeFileAtomic(json, `${JSON.stringify(matrix, null, 2)}\n`);
  await writeFileAtomic(markdown, renderMatrix(matrix));
  return { json, markdown };
}
