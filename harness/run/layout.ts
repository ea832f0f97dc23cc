/**
 * The run folder's layout: every path a run writes, named once, relative to the folder
 * (`run.path(...)` or `join(dir, ...)` makes them whole). Writers and readers (the stack's node
 * starter, the flight recorder, the ledger, the report, the disk keeper, bundles) take their
 * paths from here.
 *
 *   results/<run-id>/
 *     run.json  history.jsonl  report.md  summary.json  timeline.svg  timeline.png
 *     logs/<node>/<file>.log   captures/<node>/ring.pcap*   keys/<name>.keylog  keys/nodes/<node>.keylog
 *     incidents/<nnn>/incident.json (+ evidence: log excerpts, API snapshots, capture.pcapng, ...)
 *     cores/<nnn>-<node>.<pid>   (hunt watch --core: mode 0600, never bundled)
 */
export const RunLayout = {
  manifest: 'run.json',
  history: 'history.jsonl',
  report: 'report.md',
  summary: 'summary.json',
  timelineSvg: 'timeline.svg',
  timelinePng: 'timeline.png',
  /** The files a report consists of. */
  reportFiles: ['report.md', 'summary.json', 'timeline.svg', 'timeline.png'] as const,
  logs: 'logs',
  nodeLogs: (node: string) => `logs/${node}`,
  nodeLog: (node: string, file: string) => `logs/${node}/${file}`,
  /** A node log as the disk keeper rotates it. */
  isNodeLog: (path: string) => /^logs\/[^/]+\/[^/]+\.log$/.test(path),
  captures: (node: string) => `captures/${node}`,
  keys: 'keys',
  /** The harness's own key logs (the swarm's sessions). */
  keylog: (name: string) => `keys/${name}.keylog`,
  /** The nodes' key logs (the key-log shim in each daemon). */
  nodeKeys: 'keys/nodes',
  incidents: 'incidents',
  incident: (id: number) => `incidents/${String(id).padStart(3, '0')}`,
  isIncidentFile: (path: string) => path.startsWith('incidents/'),
  /** Core files of watched processes: they hold private keys, so no bundle ever takes them. */
  cores: 'cores',
} as const;
