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

for (const version of ['2.13.6', '2.14.6', '2.12.3']) {
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
      incidents: Array<{ id: number; node: string; evidence: string[] }>;
    };
    const history = await readFile(join(dir, 'history.jsonl'), 'utf8');
    t.match(history, /"type":"capture-kept"/, 'the recorder kept a window');
    const kept = incidents.filter((i) => i.evidence.includes('capture.pcapng'));
    t.ok(kept.length >= 1, `incidents with a capture: ${kept.map((i) => `#${i.id}@${i.node}`).join(', ')}`);
    const incident = kept[0];
    if (!incident) return;
    const folder = join(dir, 'incidents', String(incident.id).padStart(3, '0'));
    const capture = join(folder, 'capture.pcapng');
    // The master reads the Certificate's 4-byte header, finds 172 KB declared (its limit: 100 KiB),
    // alerts and resets: the message never crosses whole, so capture.txt reads the header from the
    // first record (plaintext in TLS 1.2, decrypted with the embedded secrets in TLS 1.3). On
    // 2.14.6 (OpenSSL 3.5) the chain travels compressed (RFC 8879): its uncompressed length counts.
    const summary = await readFile(join(folder, 'capture.txt'), 'utf8');
    const lengths = [
      ...summary.matchAll(
        / Certificate, declared ([\d,]+) bytes|CompressedCertificate, declared [\d,]+ bytes \(uncompressed ([\d,]+) bytes\)/g,
      ),
    ].map((m) => Number(((m[1] ?? m[2]) as string).replace(/,/g, '')));
    t.ok(
      lengths.some((length) => length > 102_400),
      `capture.txt: a client certificate chain of ${Math.max(...lengths).toLocaleString('en')} bytes declared`,
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
    t.match(summary, /alert: \w+/, `capture.txt names the alert (${/alert: (\w+)/.exec(summary)?.[1]})`);
    t.match(
      await readFile(join(dir, 'report.md'), 'utf8'),
      /Packet capture: \[capture\.pcapng\]/,
      'the report links it',
    );

    // Icinga's own sessions decrypt too (the key-log shim): handshake messages between the masters.
    const meta = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as {
      stack: { nodes: Array<{ name: string; address: string }> };
    };
    const [m1, m2] = ['master1', 'master2'].map(
      (name) => meta.stack.nodes.find((n) => n.name === name)?.address,
    );
    // In any kept window (each spans 30 s before to 20 s after its first sighting).
    const windows = kept.map((i) => join(dir, 'incidents', String(i.id).padStart(3, '0'), 'window.pcapng'));
    const between: string[] = [];
    for (const window of windows)
      between.push(
        ...(await tshark(
          window,
          // Certificate, or CompressedCertificate (RFC 8879) between two OpenSSL 3.5 masters (2.14.6);
          // in TLS 1.3 also EncryptedExtensions: each readable only where the secrets decrypt.
          `(tls.handshake.type == 11 || tls.handshake.type == 25 || tls.handshake.type == 8) && ip.addr == ${m1} && ip.addr == ${m2}`,
          ['frame.number'],
        )),
      );
    t.ok(
      between.length > 0,
      `${between.length} master-to-master handshake messages readable in window.pcapng`,
    );
  });
}

t.test(
  'the ring stays within its bytes during a storm; afterwards only incident windows remain',
  async (t) => {
    const { Run } = await import('../run/run.ts');
    const { IcingaStack } = await import('../systems/icinga/stack/icinga-stack.ts');
    const { FlightRecorder } = await import('../capture/flight-recorder.ts');
    const { reloadStorm } = await import('../systems/icinga/reload/reload-storm.ts');
    const { readdir, stat } = await import('node:fs/promises');
    await using run = await Run.create({ name: 'it-capture-ring', resultsDir: results });
    await using stack = await IcingaStack.version('2.13.6').masters(2).withSimulatedEndpoints(100).start(run);
    await stack.ready({ timeoutMs: 120_000 });
    const ring = { fileMb: 1, files: 2 };
    const recorder = await FlightRecorder.of(stack).ring(ring).start();
    const ringBytes = async () => {
      let total = 0;
      for (const node of ['master1', 'master2']) {
        const dir = run.path('captures', node);
        for (const name of await readdir(dir).catch(() => [] as string[]))
          total += (await stat(join(dir, name)).catch(() => ({ size: 0 }))).size;
      }
      return total;
    };
    let most = 0;
    let samples = 0;
    const sampler = setInterval(() => {
      void ringBytes().then((bytes) => {
        most = Math.max(most, bytes);
        samples++;
      });
    }, 250);
    const storm = await reloadStorm(stack, { count: 6, targets: 'both', reconnectDeadlineMs: 30_000 });
    clearInterval(sampler);
    const written = await ringBytes();
    await recorder.stop();
    // tcpdump -C counts 1,000,000-byte units and rotates after the packet that crosses the size.
    const bound = 2 * ring.files * (ring.fileMb * 1_000_000 + 65_536);
    t.ok(storm.verified >= 10, `${storm.verified} reloads`);
    t.ok(
      most > 1_000_000,
      `the ring filled (${most.toLocaleString('en')} bytes at most, ${samples} samples)`,
    );
    t.ok(
      most <= bound,
      `and never held more than 2 nodes x ${ring.files} x ${ring.fileMb} MB (${most.toLocaleString('en')} <= ${bound.toLocaleString('en')})`,
    );
    t.ok(written <= bound);
    t.equal(await ringBytes(), 0, 'the ring is gone after the run');
  },
);

t.test(
  'an image without tcpdump: a clear error, or a run without captures when they are optional',
  async (t) => {
    const { ensureEngine } = await import('../engine/docker-engine.ts');
    const { silentProgress } = await import('../progress.ts');
    const { docker } = await ensureEngine(silentProgress);
    // A user's image: Icinga 2 without tcpdump (our 2.13.6 image with tcpdump removed).
    const tag = 'hh-test/icinga2-no-tcpdump:2.13.6';
    const container = await docker.createContainer({
      Image: 'handshake-hunter/icinga2:2.13.6',
      Entrypoint: ['rm', '-f', '/usr/bin/tcpdump', '/usr/sbin/tcpdump'],
    });
    await container.start();
    await container.wait();
    // Committed with the image's own entrypoint and the daemon as its command, not the rm.
    await container.commit({
      repo: 'hh-test/icinga2-no-tcpdump',
      tag: '2.13.6',
      changes:
        'ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/hh-entrypoint"]\nCMD ["icinga2", "daemon"]',
    });
    await container.remove();
    const imageId = (await docker.getImage(tag).inspect()).Id;
    t.teardown(async () => {
      // The run layers the harness's tools on it: that layer goes with it.
      const { Labels } = await import('../engine/labels.ts');
      const layers = await docker.listImages({
        filters: JSON.stringify({ label: [`${Labels.LAYER_OF}=${imageId}`] }),
      });
      for (const layer of layers)
        await docker
          .getImage(layer.Id)
          .remove({ force: true })
          .catch(() => undefined);
      await docker
        .getImage(tag)
        .remove()
        .catch(() => undefined);
    });

    const required = await hunt(['run', 'canary', '--image', tag, '--reloads', '2', '--results', results]);
    t.equal(required.code, 2, 'exit 2: fix the image or allow runs without captures');
    t.match(required.stderr, /\[HH_CAPTURE_UNAVAILABLE\] master\d cannot capture: its image has no tcpdump/);
    const optional = await hunt([
      'run',
      'canary',
      '--image',
      tag,
      '--reloads',
      '2',
      '--capture',
      'optional',
      '--results',
      results,
      '--json',
    ]);
    t.equal(optional.code, 0, optional.stderr.split('\n').slice(-4).join('\n'));
    const { dir } = JSON.parse(optional.stdout) as { dir: string };
    t.match(
      await readFile(join(dir, 'history.jsonl'), 'utf8'),
      /"type":"capture-unavailable"/,
      'the run says it went on without',
    );
  },
);
