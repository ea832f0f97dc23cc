import { PassThrough } from 'node:stream';
import t from 'tap';
import type { RunStatus } from '../runner/runner.ts';
import { Output } from './output.ts';
import { statusPrinter } from './run-output.ts';

function printed(status: RunStatus): string {
  const err = new PassThrough();
  let text = '';
  err.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const output = new Output({ json: false, stderr: err as unknown as NodeJS.WriteStream, env: {} });
  statusPrinter(output)(status);
  return text.trim();
}

const base: RunStatus = {
  stepsDone: 4,
  stepsTotal: 8,
  stepUnit: 'reloads',
  ratePerHour: 559.4,
  clientsConnected: 40,
  clientsTotal: 40,
  clientsLabel: 'endpoints',
  ownDisruptions: {},
  incidents: 1,
  elapsedMs: 31_000,
  etaMs: 26_000,
};

t.test('the status line says what the system has: reloads and endpoints, or keep-alive load', async (t) => {
  t.equal(printed(base), 'reloads 4/8 (559/h), endpoints 40/40, incidents 1, elapsed 31s, ETA 26s');
  t.equal(
    printed({
      ...base,
      stepsDone: 0,
      stepsTotal: 1,
      stepUnit: undefined,
      clientsLabel: 'keep-alive',
      clientsConnected: 2,
      clientsTotal: 8,
      etaMs: undefined,
    }),
    'keep-alive 2/8, incidents 1, elapsed 31s',
  );
});

t.test('a run driven by context swaps counts them, not a reload it never makes', async (t) => {
  const swaps = {
    ...base,
    stepsDone: 0,
    stepsTotal: 1,
    etaMs: undefined,
    ownDisruptions: { 'context-swap': 1234 },
  };
  t.equal(printed(swaps), 'context-swaps 1,234, endpoints 40/40, incidents 1, elapsed 31s');
  t.equal(
    printed({ ...swaps, stepsDone: 3 }),
    'reloads 3 (559/h), context-swaps 1,234, endpoints 40/40, incidents 1, elapsed 31s',
    'a renewal hunt reloads and swaps: both',
  );
});
