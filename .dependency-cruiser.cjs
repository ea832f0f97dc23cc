// The rooms and which way the arrows go (DESIGN.md). `npm run lint:arrows` (part of npm test)
// checks them: an arrow against a rule fails the tests.
// The Icinga room: harness/icinga/ and the folders it grew from (stack, REST client, swarm, reloads).
const ICINGA_ROOM = '^harness/(icinga|stack|api|swarm|reload)/';
// The stunnel room: stunnel in front of nginx, its log sink, the load generator.
const STUNNEL_ROOM = '^harness/stunnel/';
const MACHINERY = '^harness/(engine|images|pki|run|proxy|nemesis|capture|observe|runner|report|target)/';
const TESTS = '(\\.test\\.ts$|^harness/test-kits/|^harness/integration/|^harness/bench/|^harness/fuzz/)';

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
        'The machinery (runner, capture, observe, report, ...) works for any target: it uses harness/target, never the Icinga room.',
      from: { path: MACHINERY, pathNot: TESTS },
      to: { path: `(${ICINGA_ROOM})|(${STUNNEL_ROOM})` },
    },
    {
      name: 'rooms-do-not-share',
      severity: 'error',
      comment:
        "One system never uses another's room: what both need belongs in the machinery (target/, engine/, ...).",
      from: { path: STUNNEL_ROOM },
      to: { path: ICINGA_ROOM },
    },
    {
      name: 'rooms-do-not-share-back',
      severity: 'error',
      comment:
        "One system never uses another's room: what both need belongs in the machinery (target/, engine/, ...).",
      from: { path: ICINGA_ROOM },
      to: { path: STUNNEL_ROOM },
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
