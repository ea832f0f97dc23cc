import t from 'tap';
import { stunnel } from './stunnel-system.ts';

t.test("stunnel's steps are its loads; one the run's end cut short is not done", async (t) => {
  const event = (type: string, fields: Record<string, unknown> = {}) => ({
    t: 0,
    at: '',
    source: 'load',
    type,
    ...fields,
  });
  t.equal(stunnel.stepOf?.(event('load-started')), 'begun');
  t.equal(stunnel.stepOf?.(event('load-stopped')), 'done');
  t.equal(stunnel.stepOf?.(event('load-stopped', { cutShort: true })), undefined);
  t.equal(stunnel.stepOf?.(event('second')), undefined);
  t.equal(stunnel.stepOf?.({ ...event('load-started'), source: 'reload' }), undefined);
});
