import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { ErrorCodes, HuntError } from '../errors.ts';

/**
 * Where fault traffic may go: loopback, and the private ranges Docker gives the networks the
 * harness creates. A proxy pointed anywhere else is refused, so a typo in an upstream cannot turn
 * a chaos run into traffic towards somebody else's host.
 */
const local = new BlockList();
local.addSubnet('127.0.0.0', 8, 'ipv4');
local.addSubnet('10.0.0.0', 8, 'ipv4');
local.addSubnet('172.16.0.0', 12, 'ipv4');
local.addSubnet('192.168.0.0', 16, 'ipv4');
local.addAddress('::1', 'ipv6');
local.addSubnet('fc00::', 7, 'ipv6');

export function isLocalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  const plain = address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  return local.check(plain, isIP(plain) === 6 ? 'ipv6' : 'ipv4');
}

/** Throws unless every address `host` stands for is loopback or private. */
export async function assertLocalUpstream(host: string): Promise<void> {
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  } catch (error) {
    throw new HuntError(
      ErrorCodes.USAGE,
      `Upstream host "${host}" does not resolve here (${(error as { code?: string }).code}). ` +
        'Use an address: a container name resolves only inside its Docker network.',
    );
  }
  const outside = addresses.filter((address) => !isLocalAddress(address));
  if (outside.length > 0)
    throw new HuntError(
      ErrorCodes.USAGE,
      `Upstream ${host} (${outside.join(', ')}) is neither loopback nor a private (container) address; ` +
        'the chaos proxy sends fault traffic only to this machine and the containers of its stacks.',
    );
}
