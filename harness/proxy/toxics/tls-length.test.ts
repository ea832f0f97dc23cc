import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import t from 'tap';
import { eventually } from '../../test-kits/eventually.ts';
import { proxyTo } from '../../test-kits/proxy.ts';
import { tlsClient, tlsPeers, tlsServer } from '../../test-kits/tls.ts';

const peers = await tlsPeers();

t.test(
  'a ClientHello declaring 200,000 bytes: the server\'s OpenSSL fails with "excessive message size"',
  async (t) => {
    const server = await tlsServer(t, peers);
    const proxy = await proxyTo(t, server.address, [
      { type: 'tls_length', stream: 'upstream', attributes: { message: 'ClientHello', length: 200_000 } },
    ]);
    const client = await tlsClient(proxy.listen, peers);
    t.notOk(client.ok);
    // The server reports its failure on its own socket, which may follow the client's.
    await eventually('the server reports a handshake failure', () => server.errors.length > 0);
    t.match(server.errors.join('\n'), /excessive message size/);
    t.equal((await tlsClient(server.address, peers)).ok, true, 'the same peers without the proxy are fine');
  },
);

t.test(
  'openssl s_client through the proxy: a TLS 1.2 server Certificate rewritten past 100 KiB',
  async (t) => {
    const dir = t.testdir({
      'server.crt': peers.server.certificatePem,
      'server.key': peers.server.privateKeyPem,
      'ca.crt': peers.ca.certificatePem,
    });
    // Port 0 and its ACCEPT line: s_server names the port it bound, and only once it listens
    // (a guessed port and a fixed sleep lost the race on a busy machine: the proxy met a refusal).
    const server = spawn(
      'openssl',
      [
        's_server',
        '-accept',
        '127.0.0.1:0',
        '-cert',
        `${dir}/server.crt`,
        '-key',
        `${dir}/server.key`,
        '-tls1_2',
        '-naccept',
        '1',
      ],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    t.teardown(() => server.kill());
    const port = await acceptingPort(server, 10_000);
    const proxy = await proxyTo(t, { host: '127.0.0.1', port }, [
      { type: 'tls_length', stream: 'downstream', attributes: { message: 'Certificate', length: 150_000 } },
    ]);
    await writeFile(`${dir}/empty`, '');
    const client = spawn(
      'openssl',
      [
        's_client',
        '-connect',
        `127.0.0.1:${proxy.listen.port}`,
        '-CAfile',
        `${dir}/ca.crt`,
        '-servername',
        'master1',
      ],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    client.stdin.end();
    let output = '';
    client.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    client.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => client.on('close', resolve));
    t.not(code, 0, 's_client failed');
    t.match(output, /excessive message size/, "with OpenSSL's own words");
  },
);

/** The port s_server printed in its "ACCEPT 127.0.0.1:<port>" line, or an error after `ms`. */
function acceptingPort(server: ReturnType<typeof spawn>, ms: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`s_server printed no ACCEPT line in ${ms} ms: ${seen}`)),
      ms,
    );
    server.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /ACCEPT \S+:(\d+)/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    server.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s_server exited (${code}) before it listened: ${seen}`));
    });
  });
}
