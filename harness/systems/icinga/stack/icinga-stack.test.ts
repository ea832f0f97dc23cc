import t from 'tap';
import { ErrorCodes } from '../../../errors.ts';
import { Run } from '../../../run/run.ts';
import { IcingaStack } from './icinga-stack.ts';

// start() validates the shape before it touches an engine or an image: these need no Docker.
t.test('3 masters or 0 masters are refused before anything starts', async (t) => {
  t.intercept(process, 'env', { value: { ...process.env, DOCKER_HOST: 'unix:///nonexistent.sock' } });
  await using run = await Run.create({ name: 'shape', resultsDir: t.testdir() });
  await t.rejects(IcingaStack.version('2.13.6').masters(3).start(run), {
    code: ErrorCodes.USAGE,
    message: /1 or 2 masters.*not 3/,
  });
  await t.rejects(IcingaStack.version('2.13.6').masters(0).start(run), {
    code: ErrorCodes.USAGE,
    message: /not 0/,
  });
  await t.rejects(IcingaStack.version('2.13.6').agents(-1).start(run), {
    code: ErrorCodes.USAGE,
    message: /0 to 200/,
  });
});
