import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { hunt } from './cli.ts';

// The flight recorder end to end: the canary's incident leaves a capture that tshark decrypts
// with no key option (the secrets are in the pcapng), showing the oversized Certificate message.
const results = t.testdir();
const tshark = async (file: string, filter: string, fields: string[]) =>
  (
    await promisify(execFile)('tshark', [
      '-n',
      '-r',
      file,
      '-Y',
      filter,
      '-T',
      'fields',
      ...fields.flatMap((f) => ['-e', f]),
    ])
  ).stdout
    .split('\n')
    .filter(Boolean);

for (const version of ['2.13.6', '2.12.3']) {
  t.test(`the canary on ${version}: a decryptable capture of the failing handshake`, async (t) => {
    const result = await hunt([
      'run',
      'canary',
      '--icinga',
      version,
      '--reloads',
      '4',
      '--results',
      results,
      '--json',
    ]);
    t.equal(result.code, 0, result.stderr.split('\n').slice(-6).join('\n'));
    const { dir, incidents } = JSON.parse(result.stdout) as {
      dir: string;
      incidents: Array<{ id: number; master: string; evidence: string[] }>;
    };
    const history = await readFile(join(dir, 'history.jsonl'), 'utf8');
    t.match(history, /"type":"capture-kept"/, 'the recorder kept a window');
    const kept = incidents.filter((i) => i.evidence.includes('capture.pcapng'));
    t.ok(kept.length >= 1, `incidents with a capture: ${kept.map((i) => `#${i.id}@${i.master}`).join(', ')}`);
    const incident = kept[0];
    if (!incident) return;
    const folder = join(dir, 'incidents', String(incident.id).padStart(3, '0'));
    const capture = join(folder, 'capture.pcapng');
    // The master reads the Certificate's 4-byte header, finds 172 KB declared (its limit: 100 KiB),
    // alerts and resets: the message never crosses whole, so capture.txt reads the header from the
    // first record (plaintext in TLS 1.2, decrypted with the embedded secrets in TLS 1.3).
    const summary = await readFile(join(folder, 'capture.txt'), 'utf8');
    const declared = [...summary.matchAll(/Certificate, declared ([\d,]+) bytes/g)].map((m) =>
      Number((m[1] as string).replace(/,/g, '')),
    );
    t.ok(
      declared.some((length) => length > 102_400),
      `capture.txt: a Certificate declared ${Math.max(...declared).toLocaleString('en')} bytes`,
    );
    if (version !== '2.12.3')
      t.ok(
        (await tshark(capture, 'tls.handshake.type == 8', ['frame.number'])).length > 0,
        'tshark with no key option decrypts TLS 1.3 (EncryptedExtensions is readable)',
      );
    t.ok(
      (await tshark(capture, 'tls.alert_message', ['tls.alert_message.desc'])).length > 0,
      'and the alert',
    );
    t.match(summary, /alert: illegal_parameter/, 'capture.txt names the alert');
    t.match(
      await readFile(join(dir, 'report.md'), 'utf8'),
      /Packet capture: \[capture\.pcapng\]/,
      'the report links it',
    );

    // Icinga's own sessions decrypt too (the key-log shim): a Certificate between the masters.
    const meta = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as {
      stack: { nodes: Array<{ name: string; address: string }> };
    };
    const [m1, m2] = ['master1', 'master2'].map(
      (name) => meta.stack.nodes.find((n) => n.name === name)?.address,
    );
    const between = await tshark(
      join(folder, 'window.pcapng'),
      `tls.handshake.type == 11 && ip.addr == ${m1} && ip.addr == ${m2}`,
      ['frame.number'],
    );
    t.ok(
      between.length > 0,
      `${between.length} master-to-master Certificate messages readable in window.pcapng`,
    );
  });
}
