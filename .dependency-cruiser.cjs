// The rooms and which way the arrows go (DESIGN.md). `npm run lint:arrows` (part of npm test)
// checks them: an arrow against a rule fails the tests.
// Each system under test is one room under harness/systems/ (icinga/, stunnel/, ...).
const SYSTEMS = '^harness/systems/';
// Tests, test kits and benchmarks may reach anywhere; they are not the machinery.
const TESTS = '(\\.test\\.ts$|^harness/test-kits/|^harness/integration/|^harness/bench/|^harness/fuzz/)';
// The machinery is everything else in harness/, the CLI included, but for the two files whose job is
// to name the systems: the CLI's one list of systems and the scenarios' surface.
const NAMES_THE_SYSTEMS = '^harness/(cli/systems\\.ts|index\\.ts)$';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes two files one; break it with a small interface.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'machinery-knows-no-system',
      severity: 'error',
      comment:
        'The machinery (runner, capture, observe, report, cli, ...) works for any system through harness/seam; only cli/systems.ts and index.ts name the systems.',
      from: { path: '^harness/', pathNot: `(${SYSTEMS})|(${TESTS})|(${NAMES_THE_SYSTEMS})` },
      to: { path: SYSTEMS },
    },
    {
      name: 'systems-do-not-share',
      severity: 'error',
      comment:
        "One system never uses another's room: what both need belongs in the machinery (seam/, engine/, images/, ...).",
      from: { path: '^harness/systems/([^/]+)/', pathNot: TESTS },
      to: { path: SYSTEMS, pathNot: '^harness/systems/$1/' },
    },
    {
      name: 'run-is-the-floor',
      severity: 'error',
      comment: 'run/ owns the run folder and the history; it imports nothing above it.',
      from: { path: '^harness/run/', pathNot: TESTS },
      to: {
        path: '^harness/',
        pathNot:
          '^harness/(run/|errors\\.ts|fs-[a-z-]+\\.ts|paths\\.ts|random\\.ts|duration\\.ts|stats\\.ts)',
      },
    },
    {
      name: 'scenarios-use-the-surface',
      severity: 'error',
      comment: 'A scenario imports harness/index.ts only: the scenario surface.',
      from: { path: '^scenarios/' },
      to: { path: '^harness/', pathNot: '^harness/index\\.ts$' },
    },
    {
      name: 'library-code-uses-no-test-kit',
      severity: 'error',
      comment: 'Test kits (harness/test-kits/) are for tests and benchmarks.',
      from: { path: '^(harness|scenarios)/', pathNot: TESTS },
      to: { path: '^harness/(test-kits|integration)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^node_modules|^results|^\\.tap)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
