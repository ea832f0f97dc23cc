import t from 'tap';
import { ErrorCodes, exitCodeFor, HuntError, isHuntError } from './errors.ts';

t.test('bad input and environment problems exit 2, so CI can tell them from harness failures', async (t) => {
  for (const code of [
    ErrorCodes.USAGE,
    ErrorCodes.VERSION_UNKNOWN,
    ErrorCodes.IMAGE_NOT_FOUND,
    ErrorCodes.ENGINE_UNAVAILABLE,
    ErrorCodes.HOST_TOOL_MISSING,
    ErrorCodes.MIRROR_UNKNOWN,
  ]) {
    t.equal(exitCodeFor(new HuntError(code, 'x')), 2, code);
  }
});

t.test('a failed build or an unexpected exception is a harness failure (3); interrupt is 130', async (t) => {
  t.equal(exitCodeFor(new HuntError(ErrorCodes.IMAGE_BUILD_FAILED, 'x')), 3);
  t.equal(exitCodeFor(new TypeError('boom')), 3);
  t.equal(exitCodeFor(new HuntError(ErrorCodes.INTERRUPTED, 'x')), 130);
});

t.test('callers branch on the code, not the message', async (t) => {
  const error = new HuntError(ErrorCodes.VERSION_UNKNOWN, 'whatever text', { details: { version: '9' } });
  t.ok(isHuntError(error));
  t.ok(isHuntError(error, ErrorCodes.VERSION_UNKNOWN));
  t.notOk(isHuntError(error, ErrorCodes.USAGE));
  t.notOk(isHuntError(new Error('x')));
  t.same(error.details, { version: '9' });
});
