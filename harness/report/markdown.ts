import { formatDuration } from '../duration.ts';
import type { ReportSections } from '../seam/target.ts';
import type { HarnessFootprint } from './footprint.ts';
import type { Percentiles, RunSummary } from './summary.ts';

const ms = (value: number | null): string =>
  value === null ? '-' : `${Math.round(value).toLocaleString('en')} ms`;
const cell = (value: string): string => value.replace(/\|/g, '\\|').replace(/\n/g, ' ');

const mib = (kb: number): string => `${(kb / 1024).toFixed(1)} MiB`;
const megabytes = (bytes: number | null): string =>
  bytes === null ? '-' : `${(bytes / 1_000_000).toFixed(1)} MB`;

/** A long run's own footprint: does the harness hold steady for a night? */
function footprintSection(footprint: HarnessFootprint): string[] {
  const trend = footprint.rssTrend;
  return [
    '## The harness over time',
    '',
    trend
      ? `Harness RSS after the first ${Math.round(trend.afterMs / 60_000)} minutes: ${trend.kbPerHour >= 0 ? '+' : ''}${mib(trend.kbPerHour)} an hour, ${trend.percentPerHour >= 0 ? '+' : ''}${trend.percentPerHour}% of its mean (least squares over ${trend.samples} samples).`
      : 'Too few samples after the warm-up for an RSS trend.',
    '',
    '| hour | samples | harness RSS | history.jsonl at its end | run folder at its end |',
    '| --- | --- | --- | --- | --- |',
    ...footprint.hours.map(
      (h) =>
        `| ${h.toHour > h.hour ? `${h.hour}-${h.toHour}` : h.hour} | ${h.samples} | ${mib(h.rssMinKb)} to ${mib(h.rssMaxKb)} | ${megabytes(h.historyBytes)} | ${megabytes(h.folderBytes)} |`,
    ),
    '',
  ];
}

/** A table row of percentiles (a system's timings section has them). */
export function percentileRow(name: string, p: Percentiles): string {
  return `| ${name} | ${p.n} | ${ms(p.p50)} | ${ms(p.p95)} | ${ms(p.p99)} |`;
}

/**
 * report.md, written to be pasted into a GitHub issue: what ran where, what was found, the
 * numbers, how to run it again, what to attach. Pure: summary in, Markdown out; the run's system
 * adds its own parts (`system`: its versions, what its steps did, its figures).
 */
export function renderReport(summary: RunSummary, system?: ReportSections): string {
  const lines: string[] = [];
  const verdict =
    summary.status === 'passed'
      ? 'PASSED: every expectation met'
      : summary.status === 'failed'
        ? 'FAILED: an expectation was not met'
        : summary.status === 'interrupted'
          ? 'INTERRUPTED: stopped early by SIGINT/SIGTERM; the figures cover what ran'
          : summary.status === 'incomplete'
            ? 'INCOMPLETE: the run did not finish (killed, or still running); the figures cover what the history holds'
            : `ERROR: ${summary.outcome ?? 'the run failed'}`;
  lines.push(`# handshake-hunter: ${summary.scenario} (${summary.id})`, '', `**${verdict}**`, '');
  if (summary.outcome && summary.status !== 'passed') lines.push(`> ${cell(summary.outcome)}`, '');

  lines.push('## Environment', '', '```');
  const env = summary.environment;
  lines.push(env.system);
  lines.push('```', '');
  const versions = system?.versions ? `; ${system.versions}` : '';
  lines.push(
    env.watched
      ? `- Watched: ${env.watched}${versions}`
      : `- Image: \`${env.image ?? 'unknown'}\`${env.imageId ? ` (${env.imageId.slice(0, 19)})` : ''}${versions}`,
    `- Host: Linux ${env.kernel ?? '?'}, ${env.cores ?? '?'} cores, Docker ${env.docker ?? '?'}; handshake-hunter ${env.harness ?? '?'}`,
    '',
  );

  lines.push('## What ran', '');
  const params =
    Object.entries(summary.params)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ') || 'none';
  lines.push(
    `- Scenario \`${summary.scenario}\`, parameters: ${params}, seed ${summary.seed}`,
    `- Started ${summary.startedAt ?? '?'}, ran ${summary.durationMs === null ? '?' : formatDuration(summary.durationMs)}`,
    ...(system?.whatRan ?? []),
    ...Object.entries(summary.disruptions).map(
      ([kind, byNode]) =>
        `- Disruptions, ${kind}: ${Object.entries(byNode)
          .map(([node, n]) => `${n.toLocaleString('en')} on ${node}`)
          .join(', ')}`,
    ),
    '',
  );

  if (summary.expectations.length > 0) {
    lines.push('## Expectations', '', '| | expectation | detail |', '| --- | --- | --- |');
    for (const e of summary.expectations)
      lines.push(`| ${e.ok ? 'met' : '**not met**'} | ${cell(e.description)} | ${cell(e.detail)} |`);
    lines.push('');
  }

  if (system) lines.push(...system.sections);
  if (summary.load.length > 0) {
    lines.push(
      '## Load',
      '',
      '| to | seconds | offered | completed | per second (min / median / max) | timeouts | resets | other errors |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      ...summary.load.map(
        (l) =>
          `| ${l.node} | ${l.seconds} | ${l.offered.toLocaleString('en')} | ${l.completed.toLocaleString('en')} | ${l.perSecond.min} / ${l.perSecond.median} / ${l.perSecond.max} | ${l.timeouts} | ${l.resets} | ${l.errors} |`,
      ),
      '',
    );
  }
  const measured = Object.entries(summary.measures ?? {});
  if (measured.length > 0)
    lines.push(
      '## Measured',
      '',
      '| measure | values |',
      '| --- | --- |',
      ...measured.map(
        ([name, values]) => `| ${name} | ${values.map((v) => v.toLocaleString('en')).join(', ')} |`,
      ),
      '',
    );
  if ((summary.advisories ?? []).length > 0)
    lines.push(
      '## Advisories checked',
      '',
      ...(summary.advisories ?? []).map(
        (a) =>
          `- ${a.advisory} on ${a.node}: ${a.affected ? '**affected**' : 'not affected'} (${a.evidence})`,
      ),
      '',
    );
  lines.push('![timeline](timeline.png)', '');

  if (summary.detectorFailures.length > 0)
    lines.push(
      '**Detectors that failed** (the incidents below may be incomplete; a bug in hunt):',
      '',
      ...summary.detectorFailures.map(
        (f) => `- ${f.detector} threw on a \`${f.event}\` event at ${f.at}: ${cell(f.error)}`,
      ),
      '',
    );
  lines.push('## Incidents', '');
  if (summary.incidents.length === 0) lines.push('None.', '');
  else {
    lines.push(
      '| # | kind | node | peers / clients | first seen | last seen | count | evidence |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const i of summary.incidents) {
      const who = [...i.peers, ...i.clients].slice(0, 6).join(', ') || '-';
      const files =
        i.evidence
          .map((name) =>
            i.pruned?.includes(name)
              ? `${name} (pruned by the disk budget)`
              : `[${name}](${i.folder}/${name})`,
          )
          .join(', ') || '-';
      lines.push(
        `| ${i.id} | ${i.kind}${i.partOf !== undefined ? ` (part of #${i.partOf})` : ''} | ${i.node ?? '-'} | ${cell(who)} | ${i.firstSeen} | ${i.lastSeen} | ${i.count} | ${files} |`,
      );
    }
    lines.push('');
    for (const i of summary.incidents) {
      lines.push(`### #${i.id} ${i.kind}${i.node ? ` on ${i.node}` : ''}`, '', cell(i.summary), '');
      if (i.partOf !== undefined)
        lines.push(
          `Part of #${i.partOf}: one failure, judged there; this incident keeps its own evidence.`,
          '',
        );
      if (i.reasons.length > 0)
        lines.push(`Reasons: ${i.reasons.map((r) => `\`${cell(r)}\``).join(', ')}`, '');
      const facts = Object.entries(i.findings).filter(
        ([, value]) => value === null || ['number', 'string', 'boolean'].includes(typeof value),
      );
      if (facts.length > 0) lines.push(`Findings: ${facts.map(([k, v]) => `${k} ${v}`).join(', ')}`, '');
      const persistence = i.findings.persistence as { state?: string; detail?: string } | undefined;
      if (persistence?.state)
        lines.push(
          `Persistence: **${persistence.state}**${persistence.detail ? `: ${persistence.detail}` : ''}`,
          '',
        );
      if (i.capture)
        lines.push(
          (i.evidence.includes('window.pcapng')
            ? `Packet capture: [capture.pcapng](${i.folder}/capture.pcapng) (the incident's connections) and ` +
              `[window.pcapng](${i.folder}/window.pcapng) (everything around it), `
            : `Packet capture: [capture.pcapng](${i.folder}/capture.pcapng) (the whole window around the incident: capture.txt says why there is no cut), `) +
            (summary.captureSecrets
              ? 'TLS secrets embedded: `tshark -r capture.pcapng` or Wireshark decrypt them with no key file. '
              : 'without TLS secrets: TLS 1.2 handshakes read as they are (certificates, their lengths, alerts); TLS 1.3 hides all past the ServerHello. ') +
            `What they show ([capture.txt](${i.folder}/capture.txt)):`,
          '',
          '```',
          i.capture.trimEnd(),
          '```',
          '',
        );
      else if (i.captureFailed) lines.push(`Packet capture: not kept (${i.captureFailed}).`, '');
    }
  }

  // Why an anchor passed without a fault, said once for both forms of the section.
  const passed = `${summary.faults.skipped} anchor(s) passed without a fault (a fault of that nemesis still on, or not fired there in the run replayed: \`nemesis-skipped\` in the history)`;
  if (summary.faults.count === 0 && summary.faults.skipped > 0)
    lines.push('## Faults injected', '', `None: ${passed}.`, '');
  if (summary.faults.count > 0) {
    const shown = summary.faults.samples.slice(0, 50);
    lines.push(
      '## Faults injected',
      '',
      `${summary.faults.count} fault(s) from the scenario's nemeses${summary.faults.count > shown.length ? ` (the first ${shown.length} below)` : ''}, each a disruption window of its node${summary.faults.skipped > 0 ? `; ${passed}` : ''}:`,
      '',
      '| fault | nemesis | node | timed to | offset | for | started | healed |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      ...shown.map(
        (f) =>
          `| ${f.fault} | ${f.nemesis} | ${f.node} | ${f.anchor} | ${f.offsetMs} ms | ${f.forMs} ms | ${f.at} | ${f.failed ? `failed: ${cell(f.failed)}` : (f.healedAt ?? '-')} |`,
      ),
      '',
    );
  }
  if (summary.harness) lines.push(...footprintSection(summary.harness));
  lines.push('## Reproduce', '', '```sh', summary.reproduce, '```', '');
  lines.push('## Attach', '', 'Attach these files from the run folder to the issue:', '');
  for (const file of summary.attach.slice(0, 40)) lines.push(`- \`${file}\``);
  if (summary.attach.length > 40) lines.push(`- and ${summary.attach.length - 40} more (see summary.json)`);
  lines.push('');
  const dropped = Object.entries(summary.history.dropped);
  lines.push(
    `History: ${summary.history.events.toLocaleString('en')} events, ${summary.history.bytes.toLocaleString('en')} bytes` +
      (summary.history.bytesPerStep === null || !summary.steps
        ? ''
        : ` (${summary.history.bytesPerStep.toLocaleString('en')} a step over ${summary.steps.total.toLocaleString('en')} ${summary.steps.unit})`) +
      (summary.history.skippedLines > 0
        ? `, ${summary.history.skippedLines} unreadable line(s) skipped`
        : '') +
      (dropped.length > 0
        ? `; over budget, not written: ${dropped.map(([k, n]) => `${k} ${n}`).join(', ')}`
        : '') +
      '.',
    '',
  );
  return lines.join('\n');
}
