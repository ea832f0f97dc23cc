import { join } from 'node:path';
import { writeFileAtomic } from '../fs-atomic.ts';
import { incidentFolder } from '../observe/incidents.ts';
import { RunLayout } from '../run/layout.ts';
import type { ReportedSystem } from '../seam/target.ts';
import { renderReport } from './markdown.ts';
import { readRunFacts } from './run-facts.ts';
import { systemOfRun } from './run-system.ts';
import { buildSummary, type RunSummary } from './summary.ts';
import { renderTimeline, timelineSpec } from './timeline.ts';

export interface WrittenReport {
  summary: RunSummary;
  reportPath: string;
  files: string[];
}

/**
 * Derives the report of a run from its folder alone and writes it there, each file atomically:
 * every incident's incident.json and the evidence the ledger holds (log excerpts, API snapshots),
 * then report.md, summary.json, timeline.svg, timeline.png. `hunt report` and the runner both
 * call it: the incidents on disk are always the ones the history gives. `systems` are those the
 * run's system and detectors are looked up in (every system, or the run's own); the run's system
 * writes its own parts of report.md.
 */
export async function writeReport(dir: string, systems: readonly ReportedSystem[]): Promise<WrittenReport> {
  const facts = await readRunFacts(dir, systems);
  for (const incident of facts.ledger.list()) {
    const folder = incidentFolder(dir, incident.id);
    for (const name of incident.evidence) {
      const content = facts.ledger.evidenceOf(incident, name);
      if (content !== undefined) await writeFileAtomic(join(folder, name), content);
    }
    await writeFileAtomic(join(folder, 'incident.json'), `${JSON.stringify(incident, null, 2)}\n`);
  }
  const summary = buildSummary(facts);
  const { svg, png } = await renderTimeline(timelineSpec(facts));
  const files = {
    [RunLayout.summary]: `${JSON.stringify(summary, null, 2)}\n`,
    [RunLayout.timelineSvg]: svg,
    [RunLayout.timelinePng]: png,
    [RunLayout.report]: renderReport(summary, systemOfRun(facts.meta, systems)?.reportSections?.(summary)),
  };
  for (const [name, content] of Object.entries(files)) await writeFileAtomic(join(dir, name), content);
  return {
    summary,
    reportPath: join(dir, RunLayout.report),
    files: Object.keys(files).map((name) => join(dir, name)),
  };
}
