import t from 'tap';
import { main } from './hunt.ts';

// These never reach a Docker engine: argument errors are caught before the preflight.
const env = process.env;

/**
 * One hunt call with its stdout and stderr caught: what that call alone wrote. hunt's Output
 * writes to process.stdout and process.stderr, so their write is swapped for the call only
 * (tap's own output, before and after, is not caught). NO_COLOR: plain text on a terminal too.
 */
async function hunt(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const caught = { stdout: [] as string[], stderr: [] as string[] };
  const { stdout, stderr, env } = process;
  const writes = { stdout: stdout.write, stderr: stderr.write };
  const noColor = env.NO_COLOR;
  env.NO_COLOR = '1';
  stdout.write = ((chunk: string | Uint8Array) =>
    caught.stdout.push(String(chunk)) > 0) as typeof stdout.write;
  stderr.write = ((chunk: string | Uint8Array) =>
    caught.stderr.push(String(chunk)) > 0) as typeof stderr.write;
  try {
    const code = await main(argv);
    return { code, stdout: caught.stdout.join(''), stderr: caught.stderr.join('') };
  } finally {
    stdout.write = writes.stdout;
    stderr.write = writes.stderr;
    if (noColor === undefined) delete env.NO_COLOR;
    else env.NO_COLOR = noColor;
  }
}

t.test('--help, -h, help and an empty command line each succeed and list the commands', async (t) => {
  for (const argv of [['--help'], ['-h'], ['help'], []]) {
    const { code, stdout, stderr } = await hunt(argv);
    const name = `hunt ${argv.join(' ')}`.trim();
    t.equal(code, 0, name);
    t.match(stdout, /^Usage: hunt <command> \[options\]\n/, `${name}: the usage`);
    t.match(stdout, /\n {2}doctor +\S[\s\S]*\n {2}images +\S[\s\S]*\n {2}clean +\S/, `${name}: the commands`);
    t.equal(stderr, '', `${name}: nothing on stderr`);
  }
});

t.test('each command has its own --help', async (t) => {
  for (const command of ['doctor', 'images', 'clean', 'matrix', 'merge', 'run', 'report']) {
    const { code, stdout, stderr } = await hunt([command, '--help']);
    t.equal(code, 0, command);
    t.match(stdout, new RegExp(`^Usage: hunt ${command}\\b`), `${command}: its own usage`);
    t.equal(stderr, '', `${command}: nothing on stderr`);
  }
});

const race = ['matrix', 'race-hunt', '--icinga', '2.13.6'];
/** Six grids of 20 values each: 20^6 cells. */
const wide = Array.from({ length: 6 }, (_, i) => [
  '--grid',
  `p${i}=${Array.from({ length: 20 }, (_, v) => v).join(',')}`,
]).flat();

/**
 * Bad input, each case with its exit code and the one error line it must print (after
 * "hunt: error "): its code and what was wrong with that input, so a case refused for another
 * reason fails.
 */
const badInput: Array<[argv: string[], exit: number, message: RegExp]> = [
  [['bogus'], 2, /^\[HH_USAGE\] Unknown command "bogus"\. Commands: .*\bimages\b.*\. See: hunt --help$/],
  [['images', 'frobnicate'], 2, /^\[HH_USAGE\] Unknown images subcommand "frobnicate"\. Use build or list\./],
  [['doctor', '--frob'], 2, /^\[HH_USAGE\] Unknown option '--frob'\. .*See: hunt doctor --help$/],
  [
    ['images', 'build', '--icinga'],
    2,
    /^\[HH_USAGE\] Option '--icinga <value>' argument missing\. See: hunt images --help$/,
  ],
  [
    ['images', 'build', '--icinga', '2.10.9'],
    2,
    /^\[HH_VERSION_UNKNOWN\] Icinga version "2\.10\.9" is neither in the catalogue \(Debian's packages: 2\.12\.3, 2\.13\.6, 2\.14\.6\) nor a release from 2\.11\.0 on/,
  ],
  [
    ['images', 'build', '--icinga', '2.14.6,2.16.5'],
    2,
    /^\[HH_VERSION_UNKNOWN\] Icinga 2\.16\.5 is not one Debian packages here \(the catalogue: 2\.12\.3, 2\.13\.6, 2\.14\.6\): build it from Icinga's source with --source DIR/,
  ],
  [
    ['images', 'build', '--source', '/tmp'],
    2,
    /^\[HH_USAGE\] --source needs the versions to compile: --icinga 2\.14\.4,2\.16\.5 --source \/tmp\./,
  ],
  [
    ['images', 'build', '--stunnel', '5.68', '--source', '/tmp'],
    2,
    /^\[HH_USAGE\] stunnel is built from Debian's packages only: drop --source\.$/,
  ],
  [
    ['images', 'build', '--stunnel', '5.99'],
    2,
    /^\[HH_VERSION_UNKNOWN\] stunnel version "5\.99" is not in the catalogue\. Known versions: 5\.56, 5\.68, 5\.74\.$/,
  ],
  [
    ['images', 'build', '--icinga', '2.13.6', '--image', 'x:y'],
    2,
    /^\[HH_USAGE\] Use either --icinga or --image, not both\. See: hunt images --help$/,
  ],
  [
    ['images', 'build', '--stunnel', '5.68', '--image', 'x:y'],
    2,
    /^\[HH_USAGE\] Use either --stunnel or --image, not both\./,
  ],
  [
    ['images', 'build', '--stunnel', '5.68', '--icinga', '2.13.6'],
    2,
    /^\[HH_USAGE\] Build one system's images at a time: give one of --icinga, --stunnel, or --all for every system's\. See: hunt images --help$/,
  ],
  [
    ['images', 'build', '--all', '--stunnel', '5.68'],
    2,
    /^\[HH_USAGE\] --all builds every catalogue version of every system: give it alone/,
  ],
  [['images', 'build', '--all', '--source', '/tmp'], 2, /^\[HH_USAGE\] --all builds every catalogue version/],
  [
    ['run', 'canary', '--steps', '3', '--reloads', '3'],
    2,
    /^\[HH_USAGE\] --reloads is the older name of --steps: give one of them\.$/,
  ],
  [
    ['run', 'canary', '--steps', '0'],
    2,
    /^\[HH_USAGE\] --steps must be a whole number from 1 to 10000000, not "0"\.$/,
  ],
  // hunt matrix: its targets.
  [['matrix'], 2, /^\[HH_USAGE\] Name one scenario: hunt matrix <scenario>/],
  [['matrix', 'reload-storm'], 2, /^\[HH_USAGE\] A matrix needs targets: --icinga /],
  [
    ['matrix', 'reload-storm', '--icinga', '2.13.6,2.10.9'],
    2,
    /^\[HH_VERSION_UNKNOWN\] Icinga version "2\.10\.9" is neither in the catalogue/,
  ],
  [
    ['matrix', 'reload-storm', '--icinga', '2.13.6,2.13.6'],
    2,
    /^\[HH_USAGE\] 2\.13\.6 is named twice: one cell per target\.$/,
  ],
  [
    ['matrix', 'reload-storm', '--icinga', '2.13.6', '--stunnel', '5.68'],
    2,
    /^\[HH_USAGE\] A scenario tests one system: give one of --icinga, --stunnel\.$/,
  ],
  [
    ['matrix', 'stunnel-freeze', '--stunnel', '5.68,5.99'],
    2,
    /^\[HH_VERSION_UNKNOWN\] stunnel version "5\.99" is not in the catalogue\./,
  ],
  [
    ['matrix', 'reload-storm', '--icinga', '2.13.6', '--baseline', '/nonexistent.json'],
    2,
    /^\[HH_BASELINE_INVALID\] Cannot read the baseline \/nonexistent\.json \(ENOENT\)/,
  ],
  [
    ['matrix', 'reload-storm', '--icinga', '2.13.6', '--engines', 'ssh://x'],
    2,
    /^\[HH_USAGE\] DOCKER_HOST=ssh:\/\/x is not an address hunt understands\./,
  ],
  // hunt matrix: its grid, repeats and size.
  [
    [...race, '--grid', 'load'],
    2,
    /^\[HH_USAGE\] --grid load: give a parameter and its values, --grid load=0,1,2\.$/,
  ],
  [[...race, '--grid', 'load=1,1'], 2, /^\[HH_USAGE\] --grid load names a value twice: 1,1\.$/],
  [
    [...race, '--grid', 'load=1,2', '--param', 'load=4'],
    2,
    /^\[HH_USAGE\] load is both a --param and a --grid: give it once/,
  ],
  [
    [...race, '--grid', 'load=1,99'],
    2,
    /^\[HH_PARAM_INVALID\] race-hunt: load is a whole number from 0 to 64 \(loops\), not "99"\.$/,
  ],
  [
    [...race, '--grid', 'warp=1,2'],
    2,
    /^\[HH_PARAM_INVALID\] race-hunt has no parameter "warp"\. Its parameters: .*\bload\b/,
  ],
  [[...race, '--repeat', '0'], 2, /^\[HH_USAGE\] --repeat must be a whole number from 1 to 100, not "0"\.$/],
  [
    [...race, '--seed', '2147483647', '--repeat', '2'],
    2,
    /^\[HH_USAGE\] --seed 2147483647 with --repeat 2 would pass 2147483647: the repeats take seeds 2147483647 to 2147483648\.$/,
  ],
  [
    [...race, ...wide],
    2,
    /^\[HH_USAGE\] This matrix would be 64000000 runs \(targets x grid values x repeats\); at most 500: split it\.$/,
  ],
  [
    ['merge'],
    2,
    /^\[HH_USAGE\] Name the run folders to merge: hunt merge results\/<run-a> results\/<run-b>$/,
  ],
  // hunt run: its scenario, target and options, refused before a run folder or an engine.
  [['run'], 2, /^\[HH_USAGE\] Name a scenario: hunt run <scenario>\./],
  [['run', 'a', 'b'], 2, /^\[HH_USAGE\] One scenario at a time, not a b\./],
  [['run', 'nope'], 2, /^\[HH_SCENARIO_UNKNOWN\] Unknown scenario "nope"\. Known: .*\breload-storm\b/],
  [
    ['run', 'stunnel-freeze', '--icinga', '2.13.6'],
    2,
    /^\[HH_USAGE\] stunnel-freeze tests stunnel, not icinga: pick its version with --stunnel \(5\.56, 5\.68, 5\.74\)\.$/,
  ],
  [
    ['run', 'reload-storm', '--stunnel', '5.68'],
    2,
    /^\[HH_USAGE\] reload-storm tests icinga, not stunnel: pick its version with --icinga \(2\.12\.3, 2\.13\.6, 2\.14\.6\)\.$/,
  ],
  [
    ['run', 'stunnel-freeze', '--image', 'x:y'],
    2,
    /^\[HH_USAGE\] stunnel-freeze tests stunnel, which runs on the harness's own images only, not x:y: pick its version with --stunnel/,
  ],
  [
    ['run', 'reload-storm', '--icinga', '2.13.6', '--image', 'x:y'],
    2,
    /^\[HH_USAGE\] Give --icinga or --image, not both\.$/,
  ],
  [
    ['run', 'stunnel-freeze', '--param', 'cause=meteor'],
    2,
    /^\[HH_PARAM_INVALID\] stunnel-freeze: cause is one of .*\blog-sink\b.*, not "meteor"\.$/,
  ],
  [
    ['run', 'reload-storm', '--param', 'storm'],
    2,
    /^\[HH_PARAM_INVALID\] --param takes name=value, not "storm"\./,
  ],
  [
    ['run', 'reload-storm', '--reloads', '0'],
    2,
    /^\[HH_USAGE\] --reloads must be a whole number from 1 to \d+, not "0"\.$/,
  ],
  [
    ['run', '--cell', '/nonexistent/plan.json', '3'],
    2,
    /^\[HH_PLAN_INVALID\] Cannot read the plan \/nonexistent\/plan\.json \(ENOENT\): write one with hunt matrix \.\.\. --plan <file>\.$/,
  ],
  [
    ['run', '--cell', 'plan.json', '0', '--seed', '3', '--icinga', '2.13.6'],
    2,
    /^\[HH_USAGE\] --cell runs a planned cell exactly: leave out --icinga, --seed\.$/,
  ],
  [
    ['run', 'reload-storm', '--reloads', '-5'],
    2,
    /^\[HH_USAGE\] --reloads must be a whole number, not "-5": hunt's numbers are never negative\. See: hunt run --help$/,
  ],
  [['run', 'reload-storm', '--duration', 'soon'], 2, /^\[HH_USAGE\] "soon" is not a duration/],
  [
    ['run', 'reload-storm', '--capture', 'maybe'],
    2,
    /^\[HH_USAGE\] --capture is on, off or optional, not "maybe"\.$/,
  ],
  [['run', 'reload-storm', '--detectors', 'bogus'], 2, /^\[HH_USAGE\] Unknown detector "bogus"\. Known: /],
  [
    ['run', 'reload-storm', '--replay', '/nonexistent'],
    2,
    /^\[HH_USAGE\] --replay repeats a run exactly: leave out reload-storm\.$/,
  ],
];

t.test('bad input exits with its own reason, before any engine is contacted', async (t) => {
  // An unanswerable DOCKER_HOST proves the engine is never asked: that would be a different error.
  t.intercept(process, 'env', { value: { ...env, DOCKER_HOST: 'unix:///nonexistent.sock' } });
  for (const [argv, exit, message] of badInput) {
    const name = `hunt ${argv.join(' ')}`;
    t.test(name.length > 100 ? `${name.slice(0, 100)}...` : name, async (t) => {
      const { code, stdout, stderr } = await hunt(argv);
      t.equal(code, exit, 'the exit code');
      // One error line and nothing else: no progress step, no engine's error after it.
      t.match(stderr, /^hunt: error \[HH_[A-Z_]+\] [^\n]+\n$/, 'one error line on stderr');
      t.match(stderr.replace(/^hunt: error /, '').trimEnd(), message, 'the reason');
      t.equal(stdout, '', 'nothing on stdout');
    });
  }
});

t.test(
  "hunt run <scenario> --help tells the scenario's story, target, parameters and expectations",
  async (t) => {
    const { code, stdout: text } = await hunt(['run', 'canary', '--help']);
    t.equal(code, 0);
    t.match(text, /Usage: hunt run canary/);
    t.match(text, /proves the harness catches the field failure/, 'the story: the file header');
    t.match(text, /Target: +icinga \(--icinga 2\.12\.3\|2\.13\.6\|2\.14\.6, default 2\.13\.6/);
    t.match(text, /padding=160 +130\.\.400 certificates/);
    t.match(text, /Expects: +one tls-handshake-failed incident per master/);
    const unknown = await hunt(['run', 'nope', '--help']);
    t.equal(unknown.code, 2, 'an unknown scenario is bad input');
    t.match(unknown.stderr, /^hunt: error \[HH_SCENARIO_UNKNOWN\] Unknown scenario "nope"\./);
    t.equal(unknown.stdout, '', 'and no help');
  },
);
