import t from 'tap';
import { isDebianLike, which } from './host-tools.ts';

t.test('Debian and its derivatives are recognised from os-release', async (t) => {
  t.ok(isDebianLike('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n'));
  t.ok(isDebianLike('NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n'));
  t.ok(isDebianLike('ID=linuxmint\nID_LIKE="ubuntu debian"\n'));
  t.notOk(isDebianLike('ID="fedora"\n'));
  t.notOk(isDebianLike(''));
});

t.test('which finds executables on PATH only', async (t) => {
  const dir = t.testdir({ tool: '#!/bin/sh\n', data: 'x' });
  const { chmod } = await import('node:fs/promises');
  await chmod(`${dir}/tool`, 0o755);
  t.equal(await which('tool', `/nonexistent:${dir}`), `${dir}/tool`);
  t.equal(await which('data', dir), undefined, 'not executable');
  t.equal(await which('tool', ''), undefined);
});
