import t from 'tap';
import { parseListener } from './accept-queue-recorder.ts';
import {
  checkSettings,
  defaultStunnelSettings,
  parseOutputTimestamp,
  parseSinkTimestamps,
  renderRsyslogConf,
  renderStunnelConf,
} from './stunnel-config.ts';
import { parseStunnelVersion } from './stunnel-image.ts';

t.test('stunnel.conf: the service in front of the backend, logging as set', async (t) => {
  const settings = { ...defaultStunnelSettings({ host: 'backend', port: 80 }), debug: 7 };
  const conf = renderStunnelConf(settings);
  t.match(conf, /^debug = 7$/m);
  t.match(conf, /^syslog = yes$/m);
  t.notMatch(conf, /^output/m);
  t.match(conf, /^connect = backend:80$/m);
  t.match(
    renderStunnelConf({ ...settings, syslog: false, output: true, sink: 'fifo' }),
    /^output = \/run\/hh\/stunnel\.fifo$/m,
  );
  t.throws(() => checkSettings({ ...settings, debug: 8 }), { code: 'HH_USAGE' });
  t.throws(() => checkSettings({ ...settings, syslog: false, output: false }), { code: 'HH_USAGE' });
});

t.test('rsyslog: no rate limit, both times on each line, the forward action only when asked', async (t) => {
  const local = renderRsyslogConf({ sink: 'rsyslog', sinkQueue: 1000 });
  t.match(local, /RateLimit\.Interval="0"/);
  t.match(local, /queue\.size="1000"/);
  t.notMatch(local, /omfwd/);
  t.match(renderRsyslogConf({ sink: 'rsyslog-forward', sinkQueue: 1000 }), /omfwd" target="collector"/);
});

t.test('timestamps and versions as stunnel, rsyslog and ss print them', async (t) => {
  t.same(
    parseSinkTimestamps('2026-11-30T08:00:41+00:00 2026-11-30T08:00:44.120+00:00 stunnel: LOG7[3]: ...'),
    { reported: Date.parse('2026-11-30T08:00:41Z'), received: Date.parse('2026-11-30T08:00:44.120Z') },
  );
  t.equal(parseSinkTimestamps('garbage'), undefined);
  t.equal(
    parseOutputTimestamp('2026.11.30 08:00:41 LOG7[12]: Service [service] accepted'),
    Date.parse('2026-11-30T08:00:41Z'),
  );
  t.equal(parseStunnelVersion('stunnel 5.68 on x86_64-pc-linux-gnu platform'), '5.68');
  t.same(parseListener('LISTEN 129    4096         0.0.0.0:443        0.0.0.0:*\n'), {
    queued: 129,
    backlog: 4096,
  });
  t.equal(parseListener(''), undefined);
});
