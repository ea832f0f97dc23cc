import t from 'tap';
import { ErrorCodes, type HuntError } from '../../../errors.ts';
import {
  catalogueEntry,
  imageTag,
  parseIcingaVersion,
  parseOpensslVersion,
  parseVersionList,
  sourceEntry,
  versionEntry,
} from './catalogue.ts';

t.test('each supported Icinga version maps to the Debian suite that packages it', async (t) => {
  t.equal(catalogueEntry('2.12.3').suite, 'bullseye');
  t.equal(catalogueEntry('2.13.6').suite, 'bookworm');
  t.equal(catalogueEntry('2.14.6').suite, 'trixie');
  t.equal(imageTag('2.13.6'), 'handshake-hunter/icinga2:2.13.6');
});

t.test('an unknown version is refused with the known ones listed', async (t) => {
  const error = t.throws(() => catalogueEntry('9.9.9')) as unknown as HuntError;
  t.equal(error.code, ErrorCodes.VERSION_UNKNOWN);
  t.match(error.message, /9\.9\.9.*2\.12\.3, 2\.13\.6, 2\.14\.6.*--image/s);
});

t.test('a version list is checked whole before anything is built', async (t) => {
  t.same(
    parseVersionList('2.14.6, 2.13.6,2.14.6').map((entry) => entry.version),
    ['2.14.6', '2.13.6'],
  );
  t.throws(() => parseVersionList('2.13.6,2.10.9'), { code: ErrorCodes.VERSION_UNKNOWN });
  t.throws(() => parseVersionList('2.13.6,latest'), { code: ErrorCodes.VERSION_UNKNOWN });
  t.throws(() => parseVersionList(' , '), { code: ErrorCodes.USAGE });
});

t.test('a release Debian does not package is built from source, on the suite of its line', async (t) => {
  t.same(versionEntry('2.14.6'), { version: '2.14.6', suite: 'trixie', openssl: '3.5', from: 'package' });
  t.same(versionEntry('2.14.4'), { version: '2.14.4', suite: 'trixie', openssl: '3.5', from: 'source' });
  t.equal(versionEntry('2.16.5').suite, 'trixie');
  t.equal(versionEntry('2.13.2').suite, 'bookworm');
  t.equal(versionEntry('2.12.4').suite, 'bullseye');
  t.equal(versionEntry('2.11.0').suite, 'bullseye');
  t.equal(sourceEntry('v2.15.6').version, '2.15.6', 'a tag name is taken as its version');
  t.equal(versionEntry('v2.14.6').from, 'package', "and a catalogue release's tag name is the catalogue's");
  for (const bad of ['2.10.9', '2.14', '2.14.4-rc1', 'main', ''])
    t.throws(() => sourceEntry(bad), { code: ErrorCodes.VERSION_UNKNOWN }, bad);
  t.match(
    (t.throws(() => versionEntry('2.10.9')) as unknown as HuntError).message,
    /neither in the catalogue \(Debian's packages: 2\.12\.3, 2\.13\.6, 2\.14\.6\) nor a release from 2\.11\.0 on.*--source DIR/,
  );
});

t.test('versions are read from what the binaries print', async (t) => {
  t.equal(
    parseIcingaVersion('icinga2 - The Icinga 2 network monitoring daemon (version: r2.13.6-1)'),
    '2.13.6',
  );
  t.equal(parseIcingaVersion('icinga2 - The Icinga 2 network monitoring daemon (version: 2.14.6)'), '2.14.6');
  t.equal(parseIcingaVersion('sh: 1: icinga2: not found'), undefined);
  t.equal(parseOpensslVersion('OpenSSL 1.1.1w  11 Sep 2023'), '1.1.1w');
  t.equal(parseOpensslVersion('OpenSSL 3.5.1 1 Jul 2025 (Library: OpenSSL 3.5.1 1 Jul 2025)'), '3.5.1');
  t.equal(parseOpensslVersion(''), undefined);
});
