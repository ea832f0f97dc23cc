import t from 'tap';
import { ErrorCodes } from '../errors.ts';
import { debianMirror, mirrorFromSources } from './apt-mirror.ts';

// Example hosts use the reserved .example domain on purpose.
const deb822 = `Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: http://archive.example/debian
Suites: bookworm bookworm-updates
Components: main
`;

t.test('the main archive is taken from deb822 sources, skipping security suites', async (t) => {
  t.equal(mirrorFromSources(deb822), 'http://archive.example/debian');
});

t.test('one-line sources.list entries work, options in brackets included', async (t) => {
  t.equal(
    mirrorFromSources(
      '# comment\ndeb-src http://src.example/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://one.example/debian bookworm main\n',
    ),
    'http://one.example/debian',
  );
  t.equal(mirrorFromSources('deb http://x.example/ubuntu jammy main\n'), undefined);
});

t.test('HH_DEBIAN_MIRROR overrides, the apt directory is read otherwise', async (t) => {
  t.equal(
    await debianMirror({ HH_DEBIAN_MIRROR: 'http://override.example/debian' }, '/nonexistent'),
    'http://override.example/debian',
  );
  const dir = t.testdir({
    'sources.list': '',
    'sources.list.d': { 'debian.sources': deb822, 'other.txt': 'x' },
  });
  t.equal(await debianMirror({}, dir), 'http://archive.example/debian');
});

t.test('no mirror anywhere is a clear error that names the override', async (t) => {
  const dir = t.testdir({ 'sources.list': '# nothing\n' });
  await t.rejects(debianMirror({}, dir), { code: ErrorCodes.MIRROR_UNKNOWN, message: /HH_DEBIAN_MIRROR/ });
});
