import { ErrorCodes, HuntError } from '../errors.ts';
import type { ToxicType } from './toxic.ts';
import bandwidth from './toxics/bandwidth.ts';
import corrupt from './toxics/corrupt.ts';
import latency from './toxics/latency.ts';
import limitData from './toxics/limit-data.ts';
import resetPeer from './toxics/reset-peer.ts';
import slicer from './toxics/slicer.ts';
import slowClose from './toxics/slow-close.ts';
import stall from './toxics/stall.ts';
import timeout from './toxics/timeout.ts';
import tlsDelay from './toxics/tls-delay.ts';
import tlsLength from './toxics/tls-length.ts';
import tlsSplit from './toxics/tls-split.ts';
import tlsTruncate from './toxics/tls-truncate.ts';

/**
 * Every toxic type, one file each in toxics/, listed here so tsc checks each entry (a test
 * checks that no file in toxics/ is left out). Adding a toxic: its file, its test, a line here.
 */
export const toxicList: readonly ToxicType[] = [
  bandwidth,
  corrupt,
  latency,
  limitData,
  resetPeer,
  slicer,
  slowClose,
  stall,
  timeout,
  tlsDelay,
  tlsLength,
  tlsSplit,
  tlsTruncate,
] as ToxicType[];

const byName = new Map(toxicList.map((type) => [type.type, type]));

/** Every toxic type, keyed by wire name. */
export async function toxicTypes(): Promise<Map<string, ToxicType>> {
  return byName;
}

export async function toxicType(name: string): Promise<ToxicType> {
  const type = byName.get(name);
  if (!type) {
    throw new HuntError(
      ErrorCodes.TOXIC_UNKNOWN,
      `Unknown toxic type "${name}". Known: ${[...byName.keys()].join(', ')}.`,
    );
  }
  return type;
}
