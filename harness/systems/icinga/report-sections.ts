import { percentileRow } from '../../report/markdown.ts';
import type { RunSummary } from '../../report/summary.ts';
import type { ReportSections } from '../../seam/target.ts';

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
  const { reloads } = summary;
  if (!(knowsVersions && !env.watched) && reloads.total === 0) return { versions, whatRan: [], sections: [] };
  const rate = summary.incidentsPer1000Reloads;
  return {
    versions,
    whatRan: [
      `- Reloads: ${reloads.total} (${reloads.verified} verified, ${reloads.failed} failed), ${reloads.reconnectTimeouts} steps with endpoints not back in time`,
    ],
    sections: [
      '## Reload timings',
      '',
      '| | n | p50 | p95 | p99 |',
      '| --- | --- | --- | --- | --- |',
      percentileRow('barrier (signal -> new worker serving)', reloads.barrierMs),
      percentileRow('reconnect (signal -> every endpoint back)', reloads.reconnectMs),
      '',
      rate
        ? `Incidents per 1,000 reloads: ${rate.rate.toFixed(1)} (95% interval ${rate.low.toFixed(1)}-${rate.high.toFixed(1)}, Wilson)`
        : 'Incidents per 1,000 reloads: no reloads ran',
      '',
    ],
  };
}
