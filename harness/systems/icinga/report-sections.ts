import { percentileRow } from '../../report/markdown.ts';
import type { RunSummary } from '../../report/summary.ts';
import type { ReportSections } from '../../seam/target.ts';
import { reloadFigures } from './reload/reload-record.ts';

const NONE = { n: 0, p50: null, p95: null, p99: null };

/**
 * Icinga's parts of report.md: its versions beside the image, the reloads under "What ran", and
 * the reload timings with the incident rate per 1,000 reloads. A watch reloads nothing itself, so
 * it gets the versions only: the harness's reload figures are not its.
 */
export function icingaReportSections(summary: RunSummary): ReportSections {
  const env = summary.environment;
  const knowsVersions = summary.target.icinga !== undefined || env.version !== undefined;
  const versions = knowsVersions
    ? `Icinga ${env.version ?? '?'}, OpenSSL ${env.opensslVersion ?? '?'}`
    : undefined;
  const reloads = summary.steps;
  if (!(knowsVersions && !env.watched) && !reloads?.total) return { versions, whatRan: [], sections: [] };
  const rate = reloads?.incidentsPer1000;
  const late = reloads?.shortfalls['reconnect-timeout'] ?? 0;
  return {
    versions,
    whatRan: [
      `- Reloads: ${reloads?.total ?? 0} (${reloads?.ok ?? 0} verified, ${reloads?.failed ?? 0} failed), ${late} steps with endpoints not back in time`,
    ],
    sections: [
      '## Reload timings',
      '',
      '| | n | p50 | p95 | p99 |',
      '| --- | --- | --- | --- | --- |',
      ...Object.entries(reloadFigures.phases).map(([phase, spans]) =>
        percentileRow(`${phase} (${spans})`, reloads?.phasesMs[phase] ?? NONE),
      ),
      '',
      rate
        ? `Incidents per 1,000 reloads: ${rate.rate.toFixed(1)} (95% interval ${rate.low.toFixed(1)}-${rate.high.toFixed(1)}, Wilson)`
        : 'Incidents per 1,000 reloads: no reloads ran',
      '',
    ],
  };
}
