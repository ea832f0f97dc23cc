import { ErrorCodes, HuntError } from '../../errors.ts';
import { defineNemesis } from '../nemesis.ts';

const SIGNALS = ['SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGTERM'] as const;

/**
 * Sends a signal to the node's main process when the fault starts (SIGHUP: stunnel reloads its
 * configuration and binds its listener again; the connections queued on the old one are reset).
 * Nothing to heal: the fault's length is the disruption window the report shows.
 */
export default defineNemesis<{ signal: (typeof SIGNALS)[number] }>({
  name: 'signal',
  summary: "send a signal to the node's main process (SIGHUP: most daemons read their configuration again)",
  parse(a) {
    const signal = a.signal ?? 'SIGHUP';
    if (typeof signal !== 'string' || !(SIGNALS as readonly string[]).includes(signal))
      throw new HuntError(
        ErrorCodes.USAGE,
        `Nemesis signal: attribute "signal" is one of ${SIGNALS.join(', ')}, not ${JSON.stringify(signal)}.`,
      );
    return { signal: signal as (typeof SIGNALS)[number] };
  },
  check: (_target, node) => (node.kill ? undefined : `${node.name} takes no signals.`),
  async start({ node }, { signal }) {
    if (!node.kill) throw new HuntError(ErrorCodes.USAGE, `Nemesis signal: ${node.name} takes no signals.`);
    await node.kill(signal);
    return async () => undefined;
  },
});
