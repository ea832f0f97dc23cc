import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { ensureEngine } from '../engine/docker-engine.ts';
import { ensureHostTools } from '../engine/host-tools.ts';
import { harnessLabels, imageLabels, Labels } from '../engine/labels.ts';
import type { Incident } from '../observe/incidents.ts';
import { silentProgress } from '../progress.ts';
import { Run } from '../run/run.ts';
import { catalogueEntry } from '../systems/icinga/images/catalogue.ts';
import { buildIcingaImage } from '../systems/icinga/images/icinga-image.ts';
import { IcingaStack } from '../systems/icinga/stack/icinga-stack.ts';
import { CERT_FAULT_TRIGGER, KEYS_DIR } from '../systems/icinga/stack/node-starter.ts';
import { eventually, within } from '../test-kits/eventually.ts';
import { hunt, startHunt } from './cli.ts';

// hunt watch on a master it did not start. The stand-in for a user's master is a plain stack of
// the project's image, started here under its own folder (no hunt run knows it): master1 and
// four simulated endpoints, the last of which sends a chain past OpenSSL's 100 KiB limit and
// retries (at most every 10 s). 2.12.3 speaks TLS 1.2, as every field report did, so the kept
// capture shows the Certificate with no keys. About two minutes.
const { docker } = await ensureEngine(silentProgress);
// --core takes gdb's gcore: installed here as hunt doctor installs tcpdump (a watch installs nothing).
await ensureHostTools(['gdb'], silentProgress);
const results = t.testdir();

t.test(
  'hunt watch --pid: the failure caught, a capture without keys, a restart followed, Ctrl-C ends it',
  async (t) => {
    await using standIn = await Run.create({ name: 'user-master', resultsDir: t.testdir() });
    await using stack = await IcingaStack.version('2.12.3')
      .masters(1)
      .withSimulatedEndpoints(4, { faults: { 'sim-4': { chainPadding: 160 } } })
      .withTlsSecrets(false)
      .start(standIn, silentProgress);
    const container = docker.getContainer(stack.node('master1').container.getId());
    // The container's init (tini): the watch finds its icinga2 child, as for a user's container.
    const containerPid = (await container.inspect()).State.Pid;

    const watch = startHunt([
      'watch',
      '--pid',
      String(containerPid),
      '--core',
      '--restart-after-evidence',
      '--results',
      results,
      '--json',
    ]);
    // A failed assertion must not leave the watch (and its tcpdump) running after the test.
    t.teardown(() => watch.child.kill('SIGKILL'));
    const folder = await eventually(
      'the watch folder',
      async () =>
        (await readdir(results).catch(() => [] as string[])).find((name) => name.includes('-watch-')),
      { timeoutMs: 60_000, everyMs: 200 },
    );
    const dir = join(results, folder);
    const history = async () =>
      (await readFile(join(dir, 'history.jsonl'), 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { t: number; source: string; type: string; [k: string]: unknown });
    const has = (type: string) => async () => (await history()).find((event) => event.type === type);
    await eventually('the incident', has('incident-opened'), { timeoutMs: 90_000, everyMs: 500 });
    await eventually('its capture', has('capture-kept'), { timeoutMs: 90_000, everyMs: 500 });

    // --restart-after-evidence: once the capture is kept, the watch restarts the container, as
    // the user would by hand: a new daemon (new pid) in the same container, followed.
    await eventually('the restart after the evidence', has('restart-after-evidence'), {
      timeoutMs: 60_000,
      everyMs: 500,
    });
    const followed = await eventually('the restart followed', has('daemon-followed'), {
      timeoutMs: 90_000,
      everyMs: 500,
    });
    await eventually(
      'the log read on after the restart',
      async () =>
        (await history()).find(
          (event) => event.type === 'log-match' && event.t > followed.t && event.node === 'master',
        ),
      { timeoutMs: 90_000, everyMs: 500 },
    );
    // The new daemon logs before it listens (its config loads first): its worker is seen once
    // it holds the port, up to a few seconds after its first lines.
    await eventually(
      'the new worker seen after the restart',
      async () => (await history()).find((event) => event.type === 'worker-seen' && event.t > followed.t),
      { timeoutMs: 90_000, everyMs: 500 },
    );

    watch.child.kill('SIGINT');
    const ended = await within(20_000, watch.done);
    t.equal(
      ended.code,
      130,
      `Ctrl-C ends the watch with 130: ${ended.stderr.split('\n').slice(-5).join(' | ')}`,
    );
    const { incidents } = JSON.parse(ended.stdout) as { incidents: Incident[] };
    t.same(
      [...new Set(incidents.map((incident) => `${incident.kind}@${incident.node}`))],
      ['tls-handshake-failed@master'],
      'the failing handshakes are one kind of incident, on the watched node',
    );
    const [incident] = incidents;
    t.ok(
      incident?.evidence.includes('capture.pcapng'),
      `the capture is kept (${incident?.evidence.join(', ')})`,
    );
    t.ok(incident?.evidence.includes('process-master.txt'), 'and the process');
    const incidentDir = (one: Incident | undefined) =>
      join(dir, 'incidents', String(one?.id).padStart(3, '0'));
    const summary = await readFile(join(incidentDir(incident), 'capture.txt'), 'utf8');
    const declared = [...summary.matchAll(/ Certificate, declared ([\d,]+) bytes/g)].map((m) =>
      Number((m[1] as string).replace(/,/g, '')),
    );
    t.ok(
      declared.some((length) => length > 102_400),
      `capture.txt reads the oversized chain's length without keys (${Math.max(0, ...declared).toLocaleString('en')} bytes)`,
    );
    // The process as it was when the incident opened: a maintainer's first questions.
    const processes = await readFile(join(incidentDir(incident), 'process-master.txt'), 'utf8');
    t.match(processes, /^== umbrella: pid \d+ \(\S*icinga2 /, 'the umbrella');
    t.match(processes, /\n== worker: pid \d+ /, 'and its worker');
    t.match(processes, /TCP sockets on port 5665: [^;]*listen 1/, "the worker's listener");
    // The worker as /proc shows it: the process holding the listener, before and after the restart.
    const workerPid = Number(/\n== worker: pid (\d+) /.exec(processes)?.[1]);
    const seen = (await history()).filter((event) => event.type === 'worker-seen').map((event) => event.pid);
    t.ok(
      seen.includes(workerPid),
      `the worker recorder saw the worker, pid ${workerPid} (${seen.join(', ')})`,
    );
    t.ok(
      seen.some((pid) => pid !== workerPid),
      'and the new one after the restart',
    );
    t.match(processes, /\/libssl\.so\.1\.1\n/, 'the OpenSSL the daemon has loaded (bullseye: 1.1)');
    t.match(
      incident?.findings.restartedAfterEvidence,
      /^docker restart [0-9a-f]{12}$/,
      'the restart is named in the incident',
    );
    // --core: the worker's memory as it was, for root only, outside every bundle.
    const core = incident?.findings.core as string | undefined;
    t.match(
      core,
      /^cores\/001-master\.\d+$/,
      `a core file of the worker (${JSON.stringify(incident?.findings)})`,
    );
    const coreStat = await stat(join(dir, core ?? 'none'));
    t.ok(coreStat.size > 10_000_000, `the core holds the worker's memory (${coreStat.size} bytes)`);
    t.equal(coreStat.mode & 0o777, 0o600, 'mode 0600: it holds private keys');
    const report = await readFile(join(dir, 'report.md'), 'utf8');
    t.match(report, /Icinga 2\.12\.3/, 'the report names the version the daemon reports');
    t.match(report, /hunt watch --pid/, 'and how the watch was started');

    const bundled = await hunt(['bundle', dir, '--json']);
    t.equal(bundled.code, 0, bundled.stderr);
    const bundle = (JSON.parse(bundled.stdout) as { path: string }).path;
    t.ok((await stat(bundle)).size < 25_000_000, 'a bundle to attach to an issue');
    const listed = await promisify(execFile)('tar', ['-tzf', bundle]).then(({ stdout }) => stdout);
    t.notMatch(listed, /cores\//, 'the core is never bundled');

    const tcpdumps = await promisify(execFile)('pgrep', ['-f', dir]).then(
      ({ stdout }) => stdout.trim(),
      () => '',
    );
    t.equal(tcpdumps, '', 'no capture of the watch runs on');
    t.ok((await container.inspect()).State.Running, 'the watched master runs on: the watch never stops it');
  },
);

// The field failure itself on a watched master: master1 runs with the certificate-fault shim
// (as a user cannot, but the symptom is the field's): once its trigger file exists and the user
// reloads it, it refuses every peer's Certificate, as server and as client. The watch knows no
// names: its peers are addresses. On 2.13.6 (TLS 1.3) the daemon writes its secrets through the
// key-log shim, as a user's may (the opt-in), and the watch embeds them; on 2.12.3 (TLS 1.2, as
// in every field report) the capture reads the Certificates with no keys at all.
for (const { version, keylog } of [
  { version: '2.13.6', keylog: true },
  { version: '2.12.3', keylog: false },
])
  t.test(
    `hunt watch on the field signature (${version}): one signature incident, both roles, from the log alone`,
    async (t) => {
      await using standIn = await Run.create({ name: 'user-cluster', resultsDir: t.testdir() });
      await using stack = await IcingaStack.version(version)
        .masters(2)
        .agents(2)
        .withSimulatedEndpoints(4)
        .withCertFault('trigger', 'master1')
        .withTlsSecrets(keylog)
        .start(standIn, silentProgress);
      await stack.ready({ timeoutMs: 180_000 });
      const master1 = stack.node('master1');
      const container = docker.getContainer(master1.container.getId());
      const containerPid = (await container.inspect()).State.Pid;
      const before = new Set(await readdir(results));
      const watch = startHunt([
        'watch',
        '--pid',
        String(containerPid),
        '--name',
        'master1',
        ...(keylog ? ['--keylog', `${KEYS_DIR}/master1.keylog`] : []),
        '--results',
        results,
      ]);
      t.teardown(() => watch.child.kill('SIGKILL'));
      const dir = join(
        results,
        await eventually(
          'the watch folder',
          async () => (await readdir(results)).find((name) => !before.has(name) && name.includes('-watch-')),
          { timeoutMs: 60_000, everyMs: 200 },
        ),
      );
      const events = async () => await readFile(join(dir, 'history.jsonl'), 'utf8').catch(() => '');
      await eventually('the capture ring', async () => (await events()).includes('"capture-started"'), {
        timeoutMs: 60_000,
        everyMs: 200,
      });

      // The fault on, and the user's reload: every connection of master1 is made again, and fails.
      t.equal((await master1.exec(['touch', CERT_FAULT_TRIGGER])).exitCode, 0, 'the trigger is set');
      await container.kill({ signal: 'SIGHUP' });
      await eventually(
        'the signature',
        async () =>
          (await events())
            .split('\n')
            .filter(Boolean)
            .some((line) => {
              const event = JSON.parse(line) as { type: string; kind?: string };
              return event.type === 'incident-opened' && event.kind === 'field-signature';
            }),
        { timeoutMs: 120_000, everyMs: 500 },
      );
      await master1.exec(['rm', '-f', CERT_FAULT_TRIGGER]);

      watch.child.kill('SIGINT');
      const ended = await within(20_000, watch.done);
      t.equal(ended.code, 130, ended.stderr.split('\n').slice(-5).join(' | '));
      const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as {
        incidents: Array<Incident & { folder: string }>;
      };
      const signatures = summary.incidents.filter((incident) => incident.kind === 'field-signature');
      t.same(
        signatures.map((incident) => incident.node),
        ['master1'],
        'one field-signature incident, on the watched master',
      );
      t.match(signatures[0]?.summary, /as server and as client/, 'in both roles');
      const peers = Number(/with (\d+) peers/.exec(signatures[0]?.summary ?? '')?.[1]);
      t.ok(
        peers >= 3,
        `with many peers, by address (${peers}: ${/Peers: (.*)$/.exec(signatures[0]?.summary ?? '')?.[1]})`,
      );
      t.same(
        summary.incidents
          .filter((incident) => incident.partOf === undefined)
          .map((incident) => incident.kind),
        ['field-signature'],
        'one failure, one incident: the handshake failures it is made of are its parts',
      );
      const capture = await readFile(join(dir, signatures[0]?.folder ?? '', 'capture.txt'), 'utf8');
      t.match(capture, /illegal_parameter/, 'the capture shows the alert it sent');
      // 2.13.6 with --keylog: the daemon's own secrets embedded, so TLS 1.3's encrypted Certificate
      // reads; 2.12.3: TLS 1.2's Certificate is plaintext.
      t.match(
        capture,
        / Certificate, declared [\d,]+ bytes/,
        `the peers' Certificate messages, ${keylog ? 'decrypted' : 'read without keys'}`,
      );
      const report = await readFile(join(dir, 'report.md'), 'utf8');
      if (keylog) t.match(report, /TLS secrets embedded/, 'and the report says the captures carry them');
      else t.notMatch(report, /TLS secrets embedded/, 'and the report does not claim secrets it has not');
    },
  );

// --journal on a host like a user's: a container whose init is systemd runs Debian's icinga2.service
// (its own unit file), the API and the syslog feature on, so the daemon's log is in the unit's
// journal, under the container's root. The watch reads it with this host's journalctl; a restart
// of the unit is followed and the journal read on from where it was.
t.test(
  'hunt watch --journal: the daemon logs to its unit’s journal; a failed handshake is caught there',
  async (t) => {
    await buildIcingaImage(docker, catalogueEntry('2.13.6'), silentProgress);
    const image = 'hh-test/systemd-icinga2:2.13.6';
    const context = t.testdir({
      Dockerfile: [
        'FROM handshake-hunter/icinga2:2.13.6',
        'RUN apt-get update && apt-get install -y --no-install-recommends systemd && rm -rf /var/lib/apt/lists/*' +
          ' && icinga2 api setup && icinga2 feature enable syslog',
      ].join('\n'),
    });
    await new Promise((resolve, reject) =>
      docker
        .buildImage({ context, src: ['Dockerfile'] }, { t: image, labels: imageLabels() })
        .then(
          (stream) =>
            docker.modem.followProgress(stream, (error) => (error ? reject(error) : resolve(undefined))),
          reject,
        ),
    );
    t.teardown(() =>
      docker
        .getImage(image)
        .remove({ force: true })
        .catch(() => undefined),
    );
    const container = await docker.createContainer({
      Image: image,
      Entrypoint: ['/lib/systemd/systemd'],
      Labels: harnessLabels({ [Labels.RUN]: 'it-watch-journal' }),
      HostConfig: { Binds: ['/sys/fs/cgroup:/sys/fs/cgroup:ro'], Tmpfs: { '/run': '', '/run/lock': '' } },
    });
    t.teardown(() => container.remove({ force: true }).catch(() => undefined));
    await container.start();
    const inspected = await container.inspect();
    const address = Object.values(inspected.NetworkSettings.Networks)[0]?.IPAddress ?? '';
    // systemctl in the container, to its end: its exit code and what it printed.
    const systemctl = async (...args: string[]) => {
      const exec = await container.exec({
        Cmd: ['systemctl', ...args],
        AttachStdout: true,
        AttachStderr: true,
      });
      const stream = await exec.start({});
      let output = '';
      stream.on('data', (chunk: Buffer) => {
        output += chunk.toString('latin1');
      });
      await within(60_000, new Promise((resolve) => stream.on('end', resolve)));
      return { code: (await exec.inspect()).ExitCode, output };
    };
    // A unit still starting (Type=notify: its listener is up before it says ready) refuses a reload.
    const active = () =>
      eventually('icinga2.service active', async () => (await systemctl('is-active', 'icinga2')).code === 0, {
        timeoutMs: 120_000,
        everyMs: 500,
      });
    const refuseOnce = () =>
      new Promise<void>((resolve) => {
        // Plain HTTP where TLS is spoken: the daemon logs the failed handshake at critical.
        const socket = connect(5665, address, () => socket.end('GET / HTTP/1.0\r\n\r\n'));
        socket.on('error', () => resolve()).on('close', () => resolve());
      });
    const dryRun = [
      'watch',
      '--pid',
      String(inspected.State.Pid),
      '--journal',
      'icinga2.service',
      '--dry-run',
    ];
    const found = await eventually(
      'the daemon up under systemd, its journal written',
      async () => {
        const result = await hunt([...dryRun, '--json']);
        return result.code === 0 && (JSON.parse(result.stdout) as { journal: string; apiPort: number });
      },
      { timeoutMs: 90_000, everyMs: 1_000 },
    );
    t.match(found, { journal: 'icinga2.service', log: null, apiPort: 5665 }, '--dry-run names the journal');

    const results = t.testdir();
    const watch = startHunt([
      'watch',
      '--pid',
      String(inspected.State.Pid),
      '--journal',
      'icinga2.service',
      '--results',
      results,
      '--json',
    ]);
    t.teardown(() => watch.child.kill('SIGKILL'));
    const dir = join(
      results,
      await eventually(
        'the watch folder',
        async () => (await readdir(results)).find((name) => name.includes('-watch-')),
        {
          timeoutMs: 60_000,
          everyMs: 200,
        },
      ),
    );
    const history = async () =>
      (await readFile(join(dir, 'history.jsonl'), 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { t: number; type: string; line?: string; [k: string]: unknown });
    await eventually(
      'the capture ring',
      async () => (await history()).some((e) => e.type === 'capture-started'),
      {
        timeoutMs: 60_000,
        everyMs: 200,
      },
    );
    await refuseOnce();
    const match = await eventually(
      'the failed handshake, read from the journal',
      async () => (await history()).find((e) => e.type === 'log-match' && e.kind === 'tls-handshake-failed'),
      { timeoutMs: 60_000, everyMs: 300 },
    );
    t.match(
      match.line,
      /^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+0000\] critical\/icinga2: Client TLS handshake failed \(from \[/,
      'a journal entry as a main-log line: its time, severity and message',
    );

    // The unit reloaded (a new worker under the same daemon; the syslog feature at its default
    // severity logs no reload line): the watch sees the reload in /proc, no worker incident.
    const workersBefore = (await history()).filter((e) => e.type === 'worker-seen').length;
    await active();
    const reloaded = await systemctl('reload', 'icinga2');
    t.equal(reloaded.code, 0, `systemctl reload icinga2: ${reloaded.output.trim()}`);
    await eventually(
      'the new worker, seen inside a reload it read from /proc',
      async () => {
        const events = await history();
        return (
          events.filter((e) => e.type === 'worker-seen').length > workersBefore &&
          events.some((e) => e.type === 'disruption-ended' && e.kind === 'reload')
        );
      },
      { timeoutMs: 90_000, everyMs: 500 },
    );

    // The unit restarted (a new daemon, its journal the same): followed, and read on from its cursor.
    await active();
    const restarted = await systemctl('restart', 'icinga2');
    t.equal(restarted.code, 0, `systemctl restart icinga2: ${restarted.output.trim()}`);
    const followed = await eventually(
      'the restart followed',
      async () => (await history()).find((e) => e.type === 'daemon-followed'),
      { timeoutMs: 90_000, everyMs: 500 },
    );
    await eventually(
      'a line of the new daemon, from the journal',
      async () => {
        await refuseOnce();
        return (await history()).find((e) => e.type === 'log-match' && e.t > followed.t);
      },
      { timeoutMs: 90_000, everyMs: 2_000 },
    );

    watch.child.kill('SIGINT');
    const ended = await within(20_000, watch.done);
    t.equal(ended.code, 130, ended.stderr.split('\n').slice(-5).join(' | '));
    const { incidents } = JSON.parse(ended.stdout) as { incidents: Incident[] };
    t.ok(
      incidents.some((incident) => incident.kind === 'tls-handshake-failed'),
      `an incident from the journal's line (${incidents.map((incident) => incident.kind).join(', ')})`,
    );
    t.same(
      incidents.filter((incident) => /^(worker|master)-/.test(incident.kind)),
      [],
      "the unit's restart is no worker's failure: the new worker was given its start",
    );
    const journalctls = await promisify(execFile)('pgrep', [
      '-f',
      `journalctl --no-pager --root /proc/`,
    ]).then(
      ({ stdout }) => stdout.trim(),
      () => '',
    );
    t.equal(journalctls, '', 'no journalctl of the watch runs on');
  },
);
