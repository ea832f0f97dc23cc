/**
 * The canary: prove the harness catches the field failure. A simulated endpoint sends a
 * 160-certificate chain (a ~125 KB Certificate message, past OpenSSL's 100 KiB limit) while both
 * masters are being reloaded; the master must log `Client TLS handshake failed ... excessive
 * message size` and the harness must turn it into one incident per master, with evidence.
 *
 *   node scenarios/canary.ts [icinga-version]      exit 0: caught; 1: missed
 */
import { IcingaStack, reloadStorm, StackObserver } from '../harness/index.ts';

const version = process.argv[2] ?? '2.13.6';

await using stack = await IcingaStack.version(version)
  .masters(2)
  .withSimulatedEndpoints(20, { faults: { 'sim-20': { chainPadding: 160 } } })
  .named(`canary-${version}`)
  .start();
await stack.ready();

const observer = new StackObserver(stack, { persistence: {} }).start();
const storm = await reloadStorm(stack, { count: 10, targets: 'both', incidents: observer.incidents });
await observer.stop();

const caught = observer.incidents.list().filter((incident) => incident.kind === 'tls-handshake-failed');
for (const incident of caught) {
  console.log(
    `caught on ${incident.master}: ${incident.summary} (x${incident.count}, peers ${incident.peers.join(', ')}, endpoints ${incident.endpoints.join(', ')})`,
  );
}
console.log(`${storm.verified} reloads verified; run folder: ${stack.run.dir}`);
process.exitCode = caught.length === stack.masters.length ? 0 : 1;
