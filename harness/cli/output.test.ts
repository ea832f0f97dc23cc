import { PassThrough } from 'node:stream';
import t from 'tap';
import { ErrorCodes, HuntError } from '../errors.ts';
import { Output } from './output.ts';

const ESC = '\u001b';

function sinks(tty: boolean) {
  const make = () => {
    const stream = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
    stream.isTTY = tty;
    stream.columns = 80;
    let text = '';
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
  };
  return { out: make(), err: make() };
}

t.test('without a TTY, progress is plain lines with no escape codes', async (t) => {
  const { out, err } = sinks(false);
  const output = new Output({ json: false, stdout: out.stream, stderr: err.stream, env: {} });
  output.step('building');
  output.detail('Step 1/4');
  output.result({ ok: true }, 'done');
  t.equal(err.text(), '==> building\n    Step 1/4\n');
  t.equal(out.text(), 'done\n');
  t.notOk(err.text().includes(ESC), 'no escape codes');
});

t.test('on a TTY details rewrite one status line; NO_COLOR turns colour off', async (t) => {
  const colour = sinks(true);
  new Output({ json: false, stdout: colour.out.stream, stderr: colour.err.stream, env: {} }).step('x');
  t.ok(colour.err.text().startsWith(`${ESC}[1m==>`), 'bold marker on a TTY');
  const plain = sinks(true);
  const output = new Output({
    json: false,
    stdout: plain.out.stream,
    stderr: plain.err.stream,
    env: { NO_COLOR: '1' },
  });
  output.step('x');
  output.detail('progress');
  t.equal(plain.err.text(), `==> x\n\r${ESC}[2K    progress`);
});

t.test('--json puts one document on stdout, errors included with their code', async (t) => {
  const { out, err } = sinks(false);
  const output = new Output({ json: true, stdout: out.stream, stderr: err.stream, env: {} });
  output.error(new HuntError(ErrorCodes.VERSION_UNKNOWN, 'no such version', { details: { version: '9' } }));
  t.same(JSON.parse(out.text()), {
    error: { code: 'HH_VERSION_UNKNOWN', message: 'no such version', details: { version: '9' } },
  });
  t.match(err.text(), /\[HH_VERSION_UNKNOWN\] no such version/);
});

t.test('an unexpected exception is reported as a bug with its stack', async (t) => {
  const { out, err } = sinks(false);
  new Output({ json: false, stdout: out.stream, stderr: err.stream, env: {} }).error(new TypeError('boom'));
  t.match(err.text(), /\[HH_INTERNAL\] boom[\s\S]*a bug in hunt/);
});
