import { ErrorCodes, HuntError } from '../../errors.ts';
import { numberAttribute } from '../../proxy/toxic.ts';
import { defineNemesis } from '../nemesis.ts';

/** Holds the node to a sliver of a core (its CFS quota) and lifts the limit after. */
export default defineNemesis<{ cores: number }>({
  name: 'cpu-starve',
  summary: 'hold the node to `cores` of CPU (default 0.05), lift it after',
  parse: (a) => ({ cores: numberAttribute('cpu-starve', a, 'cores', { default: 0.05, min: 0.01, max: 64 }) }),
  check: (_target, node) => (node.limitCpu ? undefined : `${node.name}'s CPU cannot be limited.`),
  async start({ node }, { cores }) {
    if (!node.limitCpu)
      throw new HuntError(ErrorCodes.USAGE, `Nemesis cpu-starve: ${node.name}'s CPU cannot be limited.`);
    await node.limitCpu(cores);
    return async () => node.limitCpu?.(undefined);
  },
});
