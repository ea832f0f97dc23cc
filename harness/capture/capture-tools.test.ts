import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { writeRandomPcapng } from '../test-kits/pcapng.ts';
import { describeSegments } from './capture-tools.ts';

t.test(
  'a ring file cut mid-packet (tcpdump still writing) is still described, beside the others',
  async (t) => {
    const dir = t.testdir();
    const whole = join(dir, 'ring.pcap0');
    const cut = join(dir, 'ring.pcap1');
    await writeRandomPcapng(whole, 20);
    await writeRandomPcapng(cut, 20);
    const bytes = await readFile(cut);
    await writeFile(cut, bytes.subarray(0, bytes.length - 700));
    const segments = await describeSegments([whole, cut]);
    t.same(
      segments.map((segment) => segment.path),
      [whole, cut],
      'capinfos complains about the cut file, and both are described',
    );
    t.ok(segments.every((segment) => segment.lastAt >= segment.firstAt && segment.firstAt > 0));
  },
);
