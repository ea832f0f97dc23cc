import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { hunt } from './cli.ts';

const exec = promisify(execFile);
const results = t.testdir();

/** Every file under a folder, recursively. */
async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** The REST API's Basic credentials seen in a capture, decrypted with the secrets it embeds. */
async function apiCredentials(capture: string): Promise<string[]> {
  const { stdout } = await exec(
    'tshark',
    [
      '-n',
      '-r',
      capture,
      '-d',
      'tls.port==5665,http',
      '-Y',
      'http.authorization',
      '-T',
      'fields',
      '-e',
      'http.authorization',
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return [...new Set(stdout.split('\n').filter(Boolean))];
}

t.test(
  'hunt bundle of a canary run: under 25 MB, opens with tar, no password and no private key',
  async (t) => {
    const run = await hunt(['run', 'canary', '--reloads', '6', '--results', results, '--json']);
    t.equal(run.code, 0, 'the canary caught its incidents', { stderr: run.stderr.slice(-800) });
    const { dir } = JSON.parse(run.stdout) as { dir: string };

    // The run's API password, as its own window capture shows it decrypted (the incident's API
    // snapshot was taken inside the window).
    const windows = (await files(join(dir, 'incidents'))).filter((f) => f.endsWith('window.pcapng'));
    t.ok(windows.length > 0, 'the canary kept capture windows');
    const credentials = (await Promise.all(windows.map(apiCredentials))).flat();
    t.ok(credentials.length > 0, 'the original window decrypts API requests (so the bundle must not)');
    const password = Buffer.from(credentials[0]?.replace(/^Basic /, '') ?? '', 'base64')
      .toString()
      .split(':')[1];
    t.ok(password && password.length >= 16, 'a real password recovered');

    const bundled = await hunt(['bundle', dir, '--json']);
    t.equal(bundled.code, 0, bundled.stderr);
    const result = JSON.parse(bundled.stdout) as { path: string; bytes: number; notes: string[] };
    t.ok(result.bytes < 25_000_000 && (await stat(result.path)).size === result.bytes, 'under 25 MB');

    const out = join(results, 'unpacked');
    await mkdir(out);
    await exec('tar', ['-xzf', result.path, '-C', out]);
    const unpacked = await files(out);
    const names = unpacked.map((f) => f.slice(out.length + 1));
    t.ok(names.some((n) => n.endsWith('/report.md')));
    t.ok(names.some((n) => n.endsWith('/timeline.png')));
    t.ok(
      names.some((n) => n.endsWith('/capture.pcapng')),
      'the cut streams are in',
    );
    t.notOk(
      names.some((n) => /keylog|\/keys\//.test(n)),
      'no key logs',
    );

    const { stdout: grep } = await exec('grep', [
      '-rlaF',
      '-e',
      password as string,
      '-e',
      'PRIVATE KEY',
      out,
    ]).catch((error: { code: number; stdout: string }) =>
      error.code === 1 ? { stdout: '' } : Promise.reject(error),
    );
    t.equal(grep, '', 'grep finds neither the password nor a private key');
    for (const capture of unpacked.filter((f) => f.endsWith('.pcapng')))
      t.same(
        await apiCredentials(capture),
        [],
        `${capture.slice(out.length)} shows no API credentials decrypted`,
      );
    // The incident's own handshake stays readable: the cut streams keep their secrets.
    const capture = unpacked.find((f) => f.endsWith('/capture.pcapng')) as string;
    const { stdout: handshake } = await exec('tshark', [
      '-n',
      '-r',
      capture,
      '-Y',
      'tls.handshake.type == 8 || tls.alert_message',
    ]);
    t.ok(
      handshake.trim().length > 0,
      'the incident capture still decrypts (TLS 1.3 EncryptedExtensions or the alert)',
    );
    t.match(
      await readFile(join(out, names.find((n) => n.endsWith('README.txt')) as string), 'utf8'),
      /Never included/,
    );
  },
);
