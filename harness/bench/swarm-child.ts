/**
 * One side of bench:swarm in a process of its own, so its RSS and CPU are its own:
 *   swarm — the simulated endpoints (protocol, heartbeats, checks, backoff);
 *   bare  — the same TLS connections doing as little as a master lets them: one Hello after
 *           the handshake (Icinga drops a connection that says nothing within ~10 s), reads
 *           discarded, no heartbeats, no parsing, no checks. The floor.
 * Reports to the parent over IPC.
 */
import { readFile } from 'node:fs/promises';
import { connect, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { summarize } from '../stats.ts';
import { helloMessage } from '../systems/icinga/swarm/messages.ts';
import { encodeNetstring } from '../systems/icinga/swarm/netstring.ts';
import { type EndpointIdentity, Swarm, type SwarmTarget } from '../systems/icinga/swarm/swarm.ts';

const hello = (version: number) => encodeNetstring(JSON.stringify(helloMessage(version)));

interface Spec {
  mode: 'swarm' | 'bare';
  endpoints: string[];
  targets: SwarmTarget[];
  caPem: string;
  identities: Record<string, EndpointIdentity>;
}

const spec = JSON.parse(await readFile(process.argv[2] as string, 'utf8')) as Spec;
const send = (message: object) => process.send?.(message);
const cpuStart = process.cpuUsage();
const started = performance.now();

function usage() {
  const cpu = process.cpuUsage(cpuStart);
  return {
    rssMb: Math.round(process.memoryUsage().rss / 1e6),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
  };
}

if (spec.mode === 'swarm') {
  const swarm = await Swarm.start({
    seed: 1,
    endpoints: spec.endpoints,
    targets: spec.targets,
    identities: new Map(Object.entries(spec.identities)),
    caPem: spec.caPem,
  });
  if (!(await swarm.waitAllEstablished(600_000)))
    throw new Error('swarm: not every endpoint connected within 600 s');
  send({ phase: 'connected', ms: Math.round(performance.now() - started), ...usage() });
  process.on('message', async (message: { reloadAt: number }) => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    if (!(await swarm.waitAllEstablished(300_000)))
      throw new Error('swarm: not every endpoint reconnected within 300 s');
    const samples = swarm
      .reconnects(message.reloadAt)
      .filter((s) => s.master === 'master1')
      .map((s) => s.ms);
    send({ phase: 'reconnected', reconnect: summarize(samples), ...usage() });
  });
} else {
  const contexts = new Map<string, SecureContext>();
  for (const endpoint of spec.endpoints) {
    const identity = spec.identities[endpoint] as EndpointIdentity;
    contexts.set(
      endpoint,
      createSecureContext({
        key: identity.privateKeyPem,
        cert: identity.certificateChainPem,
        ca: spec.caPem,
      }),
    );
  }
  const up = new Set<string>();
  const downSince = new Map<string, number>();
  const samples: number[] = [];
  let pending = 0;
  const queue: Array<() => void> = [];
  const open = (endpoint: string, target: SwarmTarget) => {
    const key = `${endpoint}@${target.name}`;
    const socket: TLSSocket = connect({
      host: target.host,
      port: target.port,
      servername: target.name,
      secureContext: contexts.get(endpoint) as SecureContext,
    });
    pending++;
    socket.once('secureConnect', () => {
      socket.write(hello(target.version));
      pending--;
      up.add(key);
      const since = downSince.get(key);
      if (since !== undefined) samples.push(Date.now() - since);
      downSince.delete(key);
      queue.shift()?.();
    });
    socket.on('error', () => undefined);
    socket.resume();
    socket.once('close', () => {
      if (up.delete(key)) downSince.set(key, Date.now());
      else {
        pending--;
        queue.shift()?.();
      }
      setTimeout(() => open(endpoint, target), 50);
    });
  };
  // The same cap on connections in set-up as the swarm (64), so the floor is comparable.
  for (const endpoint of spec.endpoints) {
    for (const target of spec.targets) {
      if (pending < 64) open(endpoint, target);
      else queue.push(() => open(endpoint, target));
    }
  }
  const total = spec.endpoints.length * spec.targets.length;
  // Bounded like the swarm side: a side that cannot connect everyone ends the bench (exit 1).
  const allUp = async (timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (up.size < total) {
      if (Date.now() > deadline)
        throw new Error(`bare: ${up.size} of ${total} connections up after ${timeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  await allUp(600_000);
  send({ phase: 'connected', ms: Math.round(performance.now() - started), ...usage() });
  process.on('message', async () => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    await allUp(300_000);
    send({ phase: 'reconnected', reconnect: summarize(samples), ...usage() });
  });
}
