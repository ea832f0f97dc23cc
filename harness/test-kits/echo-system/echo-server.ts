// The third system's daemon: a TLS echo server, started as a process of its own (node echo-server.ts
// <config.json>). It answers each line with the same line. Version 1.0 has a bug a scenario can
// set off: once the trigger file exists, it answers with the line cut short. 1.1 has it fixed.
// It writes its log as the systems' daemons do, one timestamped line per event.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { createServer, type TLSSocket } from 'node:tls';

interface EchoConfig {
  version: string;
  key: string;
  cert: string;
  log: string;
  trigger: string;
}

const config = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as EchoConfig;
const log = (level: string, text: string) =>
  appendFileSync(config.log, `${new Date().toISOString()} ${level}: ${text}\n`);

const server = createServer({ key: config.key, cert: config.cert, minVersion: 'TLSv1.2' });
server.on('secureConnection', (socket: TLSSocket) => {
  const peer = `${socket.remoteAddress}:${socket.remotePort}`;
  let pending = '';
  socket.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 1);
      const buggy = config.version === '1.0' && existsSync(config.trigger);
      if (buggy) log('error', `answered ${peer} short`);
      socket.write(`${buggy ? line.slice(0, Math.floor(line.length / 2)) : line}\n`);
    }
  });
  socket.on('error', (error) => log('warning', `${peer}: ${error.message}`));
});
server.on('tlsClientError', (error) => log('error', `handshake failed: ${error.message}`));
// Any free port: the log says which, and the harness reads it there.
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  log('info', `echo ${config.version} listening on ${port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
