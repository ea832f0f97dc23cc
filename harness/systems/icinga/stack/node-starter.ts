import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { ErrorCodes, HuntError } from '../../../errors.ts';
import type { CertificateAuthority, IssuedCertificate } from '../../../pki/certificate-authority.ts';
import type { RunFolder } from '../../../run/run-folder.ts';
import { LogTail } from '../../../seam/log-tail.ts';
import { CAPTURE_DIR, KEYS_DIR, startNodeContainer } from '../../../seam/run-containers.ts';
import { IcingaApiClient } from '../api/icinga-api.ts';
import { API_PORT, type ConfigFiles, type NodeSettings } from './icinga-config.ts';
import { parseIcingaTimestamp } from './icinga-log.ts';
import { type NodeRole, StartedIcingaNode } from './icinga-node.ts';

export interface StartNodeInput {
  docker: Docker;
  run: RunFolder;
  network: string;
  image: string;
  name: string;
  role: NodeRole;
  files: ConfigFiles;
  certificates: Map<string, IssuedCertificate>;
  ca: CertificateAuthority;
  settings: NodeSettings;
  /** Preload the key-log shim into the daemon: keys/nodes/<name>.keylog (our images only). */
  tlsSecrets: boolean;
  /** The key log rotates at this size, one old generation kept (HH_KEYLOG_MAX_BYTES; default 128 MiB). */
  keylogMaxBytes?: number;
  /** Stops the wait for the node to serve (the node is removed). */
  signal?: AbortSignal;
  /** Preload the certificate-fault shim in this mode (see docker/icinga2/hh-certfault.c). */
  certFault?: CertFaultMode;
  /** This node holds the CA (ca.crt and ca.key in /var/lib/icinga2/ca): it signs renewals. */
  caHolder?: boolean;
}

/** When the certificate-fault shim is on: while the trigger exists, latched per worker, or per umbrella. */
export type CertFaultMode = 'trigger' | 'worker' | 'umbrella';

/** The file whose existence switches the certificate fault on, inside a node. */
export const CERT_FAULT_TRIGGER = '/var/lib/hh-fault/trigger';

export { CAPTURE_DIR, KEYS_DIR } from '../../../seam/run-containers.ts';

/** Starts one Icinga 2 container of a stack and waits until it serves. */
export async function startNode(input: StartNodeInput): Promise<StartedIcingaNode> {
  const { docker, run, network, name, role } = input;
  const certificate = input.certificates.get(name);
  if (!certificate) throw new Error(`no certificate issued for ${name}`);
  const files = [
    ...Object.entries(input.files).map(([path, content]) => ({
      content,
      target: `/etc/icinga2/${path}`,
      mode: 0o644,
    })),
    { content: certificate.certificatePem, target: `/var/lib/icinga2/certs/${name}.crt`, mode: 0o644 },
    { content: certificate.privateKeyPem, target: `/var/lib/icinga2/certs/${name}.key`, mode: 0o600 },
    // The trust bundle: the root, and its fillers (their names go into every CertificateRequest).
    { content: input.ca.trustBundlePem, target: '/var/lib/icinga2/certs/ca.crt', mode: 0o644 },
    ...(input.caHolder
      ? [
          {
            content: input.ca.holderFiles().certificatePem,
            target: '/var/lib/icinga2/ca/ca.crt',
            mode: 0o644,
          },
          {
            content: input.ca.holderFiles().privateKeyPem,
            target: '/var/lib/icinga2/ca/ca.key',
            mode: 0o600,
          },
        ]
      : []),
  ];
  const { container, address, logDir, containerLog, captureDir } = await startNodeContainer({
    docker,
    run,
    network,
    image: input.image,
    name,
    role,
    files,
    // icinga2.log lands in the run folder directly: evidence survives the container.
    logDir: '/var/log/icinga2',
    environment: {
      ...(input.tlsSecrets
        ? {
            HH_TLS_KEYLOG: `${KEYS_DIR}/${name}.keylog`,
            ...(input.keylogMaxBytes ? { HH_KEYLOG_MAX_BYTES: String(input.keylogMaxBytes) } : {}),
          }
        : {}),
      ...(input.certFault
        ? { HH_CERT_FAULT: input.certFault, HH_CERT_FAULT_TRIGGER: CERT_FAULT_TRIGGER }
        : {}),
    },
    expectation: 'is its command the Icinga 2 daemon?',
  });
  const log = new LogTail(join(logDir, 'icinga2.log'), { parseTimestamp: parseIcingaTimestamp });
  const output = new LogTail(containerLog, { parseTimestamp: parseIcingaTimestamp });
  const api =
    role === 'master' && input.settings.apiUser
      ? new IcingaApiClient({
          url: `https://${address}:${API_PORT}`,
          servername: name,
          ca: input.ca.certificatePem,
          user: input.settings.apiUser.name,
          password: input.settings.apiUser.password,
          timeoutMs: 5_000,
        })
      : undefined;
  // The flight recorder records the cluster and API port, in the node's own network namespace.
  const capture = { filter: `tcp port ${API_PORT}`, nodeDir: CAPTURE_DIR, hostDir: captureDir };
  const node = new StartedIcingaNode({ name, role, container, address, log, output, api, docker, capture });
  try {
    await waitUntilServing(node, containerLog, input.signal);
  } catch (error) {
    await node.stop();
    throw error;
  }
  return node;
}

/** Masters: until the API answers. Agents: until the log says the listener is up. */
async function waitUntilServing(
  node: StartedIcingaNode,
  containerLog: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    if (node.role === 'master') {
      if (
        await node.api.icingaApplication().then(
          () => true,
          () => false,
        )
      )
        return;
    } else if (
      node.log.since(0).some((line) => /Started new listener|Reconnecting to endpoint/.test(line.text))
    ) {
      return;
    }
    if (!(await node.isRunning())) {
      const output = await readFile(containerLog, 'utf8').catch(() => '');
      const reasons = output
        .split('\n')
        .filter((line) => /critical|error|\^/i.test(line))
        .slice(0, 20);
      throw new HuntError(
        ErrorCodes.CONFIG_INVALID,
        `${node.name} exited at start: Icinga refused its configuration.\n${reasons.map((line) => `  ${line}`).join('\n')}\n` +
          `Full output: ${containerLog}`,
        { details: { node: node.name, reasons } },
      );
    }
    await sleep(100, undefined, { signal });
  }
  throw new HuntError(
    ErrorCodes.STACK_NOT_READY,
    `${node.name} did not start serving within 60 s (see ${containerLog}).`,
  );
}
