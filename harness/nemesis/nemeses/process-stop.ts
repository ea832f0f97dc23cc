import { ErrorCodes, HuntError } from '../../errors.ts';
import { defineNemesis } from '../nemesis.ts';

/**
 * Stops one process of the node (SIGSTOP) and lets it go on (SIGCONT) when the fault ends: a
 * log daemon that stops reading /dev/log, a backend that stops answering while its connections
 * stay open. Attribute `process`: the program's name as `pkill -x` matches it (rsyslogd, nginx).
 * Every process of that name stops (nginx: its master and workers).
 */
export default defineNemesis<{ process: string }>({
  name: 'process-stop',
  summary: 'SIGSTOP a process of the node (a log sink, a backend), SIGCONT after',
  parse(a) {
    if (typeof a.process !== 'string' || !/^[A-Za-z0-9._-]{1,15}$/.test(a.process))
      throw new HuntError(
        ErrorCodes.USAGE,
        `Nemesis process-stop: attribute "process" is a program name of 1-15 letters, digits, . _ - (as pkill -x matches it), not ${JSON.stringify(a.process)}.`,
      );
    return { process: a.process };
  },
  async start({ node }, { process }) {
    const stopped = await node.exec(['pkill', '-STOP', '-x', process]);
    if (stopped.exitCode !== 0)
      throw new HuntError(
        ErrorCodes.USAGE,
        `Nemesis process-stop: no process ${process} to stop in ${node.name} (pkill exit ${stopped.exitCode}).`,
      );
    return async () => {
      const resumed = await node.exec(['pkill', '-CONT', '-x', process]);
      if (resumed.exitCode !== 0)
        throw new Error(`cannot resume ${process} in ${node.name} (pkill exit ${resumed.exitCode})`);
    };
  },
});
