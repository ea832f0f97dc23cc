import t from 'tap';
import { exitCodeFor, HuntError, isHuntError } from '../../errors.ts';
import { IcingaErrorCodes, reloadFailed } from './icinga-errors.ts';

t.test(
  "Icinga's own codes: a user's image without Icinga is bad input, a failed reload Icinga's failure",
  async (t) => {
    t.equal(exitCodeFor(new HuntError(IcingaErrorCodes.IMAGE_NOT_ICINGA, 'x')), 2);
    const failed = reloadFailed('Reload of master1 was refused.', { node: 'master1' });
    t.equal(exitCodeFor(failed), 3);
    t.ok(isHuntError(failed, IcingaErrorCodes.RELOAD_FAILED), 'callers branch on the code');
    t.same(failed.details, { node: 'master1' });
  },
);
