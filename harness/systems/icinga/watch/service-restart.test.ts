import t from 'tap';
import { ErrorCodes } from '../../../errors.ts';
import { serviceOf } from './service-restart.ts';

const id = '58b3a55bd4f4c6859a4a442a4011b25b0ba7b8bb794df549bdaf438ecb1b7c33';

t.test('the service around a daemon is read off its control group', async (t) => {
  t.same(serviceOf(`/docker/${id}`), {
    kind: 'container',
    id,
    describe: `docker restart ${id.slice(0, 12)}`,
  });
  t.equal(
    serviceOf(`/system.slice/docker-${id}.scope`).kind,
    'container',
    'systemd-managed Docker (cgroup v2)',
  );
  t.same(serviceOf('/system.slice/icinga2.service'), {
    kind: 'systemd',
    unit: 'icinga2.service',
    describe: 'systemctl restart icinga2.service',
  });
  t.equal((serviceOf('/system.slice/icinga2@main.service') as { unit: string }).unit, 'icinga2@main.service');
  for (const cgroup of [
    '/',
    '/user.slice/user-1000.slice/session-3.scope',
    // A daemon started inside a user's session, or by cron: restarting those units would end
    // the session or cron, not the daemon's service.
    '/user.slice/user-1000.slice/user@1000.service/app.slice/icinga2.service',
    '/system.slice/cron.service/icinga2',
    '/docker/abc',
  ])
    t.throws(
      () => serviceOf(cgroup),
      { code: ErrorCodes.USAGE, message: /is neither: restart it by hand/ },
      cgroup,
    );
});
