import t from 'tap';
import type { StartedIcingaStack } from '../stack/icinga-stack.ts';
import { FlightRecorder } from './flight-recorder.ts';

// Settings are checked before any node is touched (no Docker needed).
const stack = { topology: { masters: [] } } as unknown as StartedIcingaStack;

t.test('a ring that holds nothing, or without bound, is refused before anything runs', async (t) => {
  for (const ring of [
    { fileMb: 0, files: 4 },
    { fileMb: 8, files: 0 },
    { fileMb: 1.5, files: 2 },
    { fileMb: 8, files: 5000 },
  ])
    await t.rejects(FlightRecorder.of(stack).ring(ring).start(), {
      code: 'HH_CAPTURE_CONFIG',
      message: /must hold something, and be bounded/,
    });
  await t.rejects(FlightRecorder.of(stack).window({ beforeMs: -1, afterMs: 0 }).start(), {
    code: 'HH_CAPTURE_CONFIG',
  });
});
