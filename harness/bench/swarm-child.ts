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
  /** How long to wait for every connection before reporting what is up. */
  connectMs: number;
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
  await swarm.waitAllEstablished(spec.connectMs);
  const connections = spec.targets.reduce((sum, target) => sum + swarm.establishedBy(target.name), 0);
  send({ phase: 'connected', ms: Math.round(performance.now() - started), connections, ...usage() });
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
  // Paced as the swarm paces itself, so the two sides meet the masters alike: at most 64
  // handshakes in flight (set-up and every reconnect), a retry soon after a good connection and
  // exponentially later after failures (100 ms doubling to 10 s, jittered). At 5,000 endpoints
  // (10,000 connections) on a 2-core machine the masters still accepted only 5,839 in 600 s:
  // there they, not this side, are the limit.
  const IN_FLIGHT = 64;
  let inFlight = 0;
  const waiting: Array<() => void> = [];
  const failures = new Map<string, number>();
  const admit = (start: () => void) => {
    if (inFlight < IN_FLIGHT) {
      inFlight++;
      start();
    } else waiting.push(start);
  };
  const release = () => {
    inFlight--;
    const next = waiting.shift();
    if (next) {
      inFlight++;
      next();
    }
  };
  const open = (endpoint: string, target: SwarmTarget) =>
    admit(() => {
      const key = `${endpoint}@${target.name}`;
      const socket: TLSSocket = connect({
        host: target.host,
        port: target.port,
        servername: target.name,
        secureContext: contexts.get(endpoint) as SecureContext,
      });
      let secure = false;
      // A handshake that never ends would hold its slot for good.
      socket.setTimeout(30_000, () => socket.destroy());
      socket.once('secureConnect', () => {
        secure = true;
        socket.setTimeout(0);
        release();
        failures.delete(key);
        socket.write(hello(target.version));
        up.add(key);
        const since = downSince.get(key);
        if (since !== undefined) samples.push(Date.now() - since);
        downSince.delete(key);
      });
      socket.on('error', () => undefined);
      socket.resume();
      socket.once('close', () => {
        if (!secure) release();
        if (up.delete(key)) downSince.set(key, Date.now());
        const failed = secure ? 0 : (failures.get(key) ?? 0) + 1;
        if (failed > 0) failures.set(key, failed);
        const delay =
          failed === 0
            ? Math.random() * 100
            : Math.min(10_000, 100 * 2 ** Math.min(failed, 16)) * (0.5 + 0.5 * Math.random());
        setTimeout(() => open(endpoint, target), delay);
      });
    });
  for (const endpoint of spec.endpoints) for (const target of spec.targets) open(endpoint, target);
  const total = spec.endpoints.length * spec.targets.length;
  // Bounded like the swarm side: a side that cannot connect everyone ends the bench (exit 1).
  const allUp = async (timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (up.size < total) {
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return true;
  };
  await allUp(spec.connectMs);
  send({ phase: 'connected', ms: Math.round(performance.now() - started), connections: up.size, ...usage() });
  process.on('message', async () => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    if (!(await allUp(300_000)))
      throw new Error(`bare: ${up.size} of ${total} connections up 300 s after the reload`);
    send({ phase: 'reconnected', reconnect: summarize(samples), ...usage() });
  });
}
