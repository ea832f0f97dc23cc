import t from 'tap';
import { ErrorCodes, HuntError } from '../errors.ts';
import { type VerdictInputs, verdictOf } from './verdict.ts';

const met = { description: 'no incident', ok: true, detail: 'none' };
const unmet = { description: 'one incident per node', ok: false, detail: 'master2 has none' };
const quiet: VerdictInputs = {
  historyWhole: true,
  interrupted: false,
  detectorFailures: [],
  expectations: [met],
};
const threw = { detector: 'log-lines', error: 'boom', event: 'log-match', at: '2026-12-06T10:00:00Z' };

t.test('expectations decide only when nothing else went wrong', async (t) => {
  t.match(verdictOf(quiet), { status: 'passed', exitCode: 0, complete: true });
  t.same(
    verdictOf({ ...quiet, expectations: [] }).status,
    'passed',
    'a scenario that expects nothing passes',
  );
  t.match(verdictOf({ ...quiet, expectations: [met, unmet] }), {
    status: 'failed',
    exitCode: 1,
    summary: 'expectation not met: one incident per node (master2 has none)',
  });
});

t.test('each cause outranks the ones below it', async (t) => {
  const everything: VerdictInputs = {
    diskError: new HuntError(ErrorCodes.DISK_FULL, 'the disk is full'),
    historyWhole: false,
    interrupted: true,
    failure: new Error('scenario broke'),
    detectorFailures: [threw],
    expectations: [unmet],
  };
  t.match(verdictOf(everything), {
    status: 'error',
    exitCode: 2,
    complete: false,
    summary: 'the disk is full',
  });
  const { diskError: _disk, ...noDisk } = everything;
  t.match(verdictOf(noDisk), { status: 'interrupted', exitCode: 130, complete: true });
  t.match(verdictOf({ ...noDisk, interrupted: false }), {
    status: 'error',
    exitCode: 3,
    complete: false,
    summary: 'scenario broke',
  });
  const { failure: _failure, ...noFailure } = noDisk;
  t.match(verdictOf({ ...noFailure, interrupted: false }), {
    status: 'error',
    exitCode: 3,
    complete: true,
    summary: /^verdict unknown: detector log-lines threw on a log-match event \(boom\)/,
  });
});

t.test("an error's exit code is its own: a usage error is 2, an interrupt 130", async (t) => {
  t.equal(verdictOf({ ...quiet, failure: new HuntError(ErrorCodes.USAGE, 'bad') }).exitCode, 2);
  t.equal(verdictOf({ ...quiet, failure: new HuntError(ErrorCodes.INTERRUPTED, 'stop') }).exitCode, 130);
  t.equal(verdictOf({ ...quiet, failure: 'a string thrown' }).summary, 'a string thrown');
  t.equal(verdictOf({ ...quiet, diskError: new Error('full'), historyWhole: true }).complete, true);
});
