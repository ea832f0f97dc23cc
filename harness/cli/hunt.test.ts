import t from 'tap';
import { main } from './hunt.ts';

// These never reach a Docker engine: argument errors are caught before the preflight.
const env = process.env;

t.test('--help and an empty command line succeed and list the commands', async (t) => {
  const writes: string[] = [];
  t.intercept(process.stdout, 'write', { value: (chunk: string) => writes.push(chunk) > 0 });
  t.equal(await main(['--help']), 0);
  t.equal(await main([]), 0);
  t.match(writes.join(''), /doctor[\s\S]*images[\s\S]*clean/);
});

t.test('each command has its own --help', async (t) => {
  const writes: string[] = [];
  t.intercept(process.stdout, 'write', { value: (chunk: string) => writes.push(chunk) > 0 });
  for (const command of ['doctor', 'images', 'clean', 'matrix', 'merge', 'run', 'report']) {
    writes.length = 0;
    t.equal(await main([command, '--help']), 0, command);
    t.match(writes.join(''), new RegExp(`Usage: hunt ${command}`));
  }
});

t.test('bad input exits 2 with the reason, before any engine is contacted', async (t) => {
  const errors: string[] = [];
  t.intercept(process.stderr, 'write', { value: (chunk: string) => errors.push(chunk) > 0 });
  // An unanswerable DOCKER_HOST proves the engine is never asked: that would be a different error.
  t.intercept(process, 'env', { value: { ...env, DOCKER_HOST: 'unix:///nonexistent.sock' } });
  t.equal(await main(['bogus']), 2);
  t.equal(await main(['images', 'build', '--icinga', '9.9.9']), 2);
  t.equal(await main(['images', 'build', '--icinga', '2.13.6', '--image', 'x:y']), 2);
  t.equal(await main(['images', 'frobnicate']), 2);
  t.equal(await main(['doctor', '--frob']), 2);
  t.equal(await main(['matrix', 'reload-storm']), 2, 'a matrix without targets');
  t.equal(await main(['matrix', 'reload-storm', '--icinga', '2.13.6,9.9.9']), 2);
  t.equal(await main(['matrix', 'reload-storm', '--icinga', '2.13.6,2.13.6']), 2);
  t.equal(await main(['matrix', 'reload-storm', '--icinga', '2.13.6', '--baseline', '/nonexistent.json']), 2);
  t.equal(await main(['matrix', 'reload-storm', '--icinga', '2.13.6', '--engines', 'ssh://x']), 2);
  t.equal(await main(['merge']), 2);
  const race = ['matrix', 'race-hunt', '--icinga', '2.13.6'];
  t.equal(await main([...race, '--grid', 'load']), 2, 'a grid without values');
  t.equal(await main([...race, '--grid', 'load=1,1']), 2, 'a value twice');
  t.equal(await main([...race, '--grid', 'load=1,2', '--param', 'load=4']), 2, 'a grid and a param');
  t.equal(await main([...race, '--grid', 'load=1,99']), 2, 'a value out of range');
  t.equal(await main([...race, '--grid', 'warp=1,2']), 2, 'no such parameter');
  t.equal(await main([...race, '--repeat', '0']), 2);
  t.equal(
    await main([...race, '--seed', '2147483647', '--repeat', '2']),
    2,
    'the repeats would pass the last seed',
  );
  const wide = Array.from({ length: 6 }, (_, i) => [
    '--grid',
    `p${i}=${Array.from({ length: 20 }, (_, v) => v).join(',')}`,
  ]).flat();
  t.equal(await main([...race, ...wide]), 2, 'a cross product too big: refused by its size');
  t.equal(await main(['images', 'build', '--stunnel', '5.99']), 2);
  t.equal(await main(['run', 'stunnel-freeze', '--icinga', '2.13.6']), 2, 'the wrong system option');
  t.equal(await main(['run', 'reload-storm', '--stunnel', '5.68']), 2);
  t.equal(await main(['run', 'stunnel-freeze', '--image', 'x:y']), 2, 'stunnel takes no user image');
  t.equal(await main(['matrix', 'stunnel-freeze', '--stunnel', '5.68,5.99']), 2);
  t.equal(await main(['run', 'stunnel-freeze', '--param', 'cause=meteor']), 2);
  const text = errors.join('');
  t.match(text, /load is both a --param and a --grid/);
  t.match(text, /would be 64000000 runs/);
  t.match(text, /the repeats take seeds 2147483647 to 2147483648/);
  t.match(text, /--grid load: give a parameter and its values/);
  t.match(text, /HH_VERSION_UNKNOWN.*stunnel version "5\.99"/);
  t.match(text, /stunnel-freeze tests stunnel, not icinga: pick its version with --stunnel/);
  t.match(text, /reload-storm tests icinga, not stunnel/);
  t.match(text, /stunnel-freeze tests stunnel, which runs on the harness's own images only, not x:y/);
  t.match(text, /HH_BASELINE_INVALID.*\/nonexistent\.json/);
  t.match(text, /HH_USAGE.*2\.13\.6 is named twice/);
  t.match(text, /HH_USAGE.*Unknown command "bogus"/);
  t.match(text, /HH_VERSION_UNKNOWN.*9\.9\.9/);
  t.notMatch(text, /HH_ENGINE_UNAVAILABLE/);
});

t.test(
  "hunt run <scenario> --help tells the scenario's story, target, parameters and expectations",
  async (t) => {
    const writes: string[] = [];
    t.intercept(process.stdout, 'write', { value: (chunk: string) => writes.push(chunk) > 0 });
    t.equal(await main(['run', 'canary', '--help']), 0);
    const text = writes.join('');
    t.match(text, /Usage: hunt run canary/);
    t.match(text, /proves the harness catches the field failure/, 'the story: the file header');
    t.match(text, /Target: +icinga \(--icinga 2\.12\.3\|2\.13\.6\|2\.14\.6, default 2\.13\.6/);
    t.match(text, /padding=160 +130\.\.400 certificates/);
    t.match(text, /Expects: +one tls-handshake-failed incident per master/);
    writes.length = 0;
    t.equal(await main(['run', 'nope', '--help']), 2, 'an unknown scenario is bad input');
  },
);
