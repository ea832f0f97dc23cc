import { ErrorCodes, HuntError } from '../../errors.ts';
import { defineNemesis } from '../nemesis.ts';

/**
 * A file that exists in the node for the fault's length: the switch of a fault built into the
 * image (the certificate-fault shim's trigger, CERT_FAULT_TRIGGER). Attribute: `path`, absolute.
 */
export default defineNemesis<{ path: string }>({
  name: 'trigger-file',
  summary: "a file in the node for the fault's length (the switch of a fault built into the image)",
  parse(a) {
    if (typeof a.path !== 'string' || !/^\/[A-Za-z0-9._/-]+$/.test(a.path) || a.path.includes('..'))
      throw new HuntError(
        ErrorCodes.USAGE,
        `Nemesis trigger-file: attribute "path" is an absolute path of letters, digits, . _ - /, not ${JSON.stringify(a.path)}.`,
      );
    return { path: a.path };
  },
  async start({ node }, { path }) {
    const made = await node.exec(['touch', path]);
    if (made.exitCode !== 0)
      throw new HuntError(
        ErrorCodes.USAGE,
        `Nemesis trigger-file: cannot create ${path} in ${node.name}: ${made.output.trim()}`,
      );
    return async () => {
      const removed = await node.exec(['rm', '-f', path]);
      if (removed.exitCode !== 0)
        throw new Error(`cannot remove ${path} in ${node.name}: ${removed.output.trim()}`);
    };
  },
});
