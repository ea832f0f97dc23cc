import { ErrorCodes, HuntError } from '../../errors.ts';
import { defineNemesis } from '../nemesis.ts';

/**
 * Freezes every process of the node (docker pause: the cgroup freezer) and thaws it when the
 * fault ends: a worker stopped mid-handshake, its peers' connections open and unanswered.
 */
export default defineNemesis<Record<string, never>>({
  name: 'pause',
  summary: "freeze the node's processes (docker pause), thaw them after",
  parse: () => ({}),
  check: (_target, node) => (node.pause && node.unpause ? undefined : `${node.name} cannot be paused.`),
  async start({ node }) {
    if (!node.pause || !node.unpause)
      throw new HuntError(ErrorCodes.USAGE, `Nemesis pause: ${node.name} cannot be paused.`);
    await node.pause();
    return async () => node.unpause?.();
  },
});
