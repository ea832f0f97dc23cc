import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';

/**
 * A valid pcapng of `packets` Ethernet frames with random (incompressible) payloads: for tests
 * that need capture files of a known size without a network (bundles, trimming).
 */
export async function writeRandomPcapng(path: string, packets: number, frameBytes = 1400): Promise<void> {
  const blocks: Buffer[] = [block(0x0a0d0d0a, sectionHeader()), block(0x00000001, interfaceDescription())];
  for (let i = 0; i < packets; i++)
    blocks.push(block(0x00000006, enhancedPacket(i, randomBytes(frameBytes))));
  await writeFile(path, Buffer.concat(blocks));
}

function block(type: number, body: Buffer): Buffer {
  const length = 12 + body.length;
  const head = Buffer.alloc(8);
  head.writeUInt32LE(type, 0);
  head.writeUInt32LE(length, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(length, 0);
  return Buffer.concat([head, body, tail]);
}

function sectionHeader(): Buffer {
  const body = Buffer.alloc(16);
  body.writeUInt32LE(0x1a2b3c4d, 0); // byte-order magic
  body.writeUInt16LE(1, 4); // version 1.0
  body.writeUInt16LE(0, 6);
  body.writeBigInt64LE(-1n, 8); // section length unknown
  return body;
}

function interfaceDescription(): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt16LE(1, 0); // LINKTYPE_ETHERNET
  body.writeUInt32LE(65535, 4); // snaplen
  return body;
}

function enhancedPacket(index: number, frame: Buffer): Buffer {
  const padded = Buffer.alloc(Math.ceil(frame.length / 4) * 4);
  frame.copy(padded);
  const head = Buffer.alloc(20);
  const micros = BigInt(Date.UTC(2026, 10, 21)) * 1000n + BigInt(index) * 1000n;
  head.writeUInt32LE(0, 0); // interface 0
  head.writeUInt32LE(Number(micros >> 32n), 4);
  head.writeUInt32LE(Number(micros & 0xffffffffn), 8);
  head.writeUInt32LE(frame.length, 12);
  head.writeUInt32LE(frame.length, 16);
  return Buffer.concat([head, padded]);
}
