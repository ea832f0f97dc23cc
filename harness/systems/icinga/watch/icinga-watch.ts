import { ensureHostTools } from '../../../engine/host-tools.ts';
import { ErrorCodes, HuntError } from '../../../errors.ts';
import { silentProgress } from '../../../progress.ts';
import type { FoundInstance, SystemWatch } from '../../../seam/target.ts';
import {
  checkLogOption,
  DEFAULT_ICINGA_LOG,
  describeFound,
  type FoundIcinga,
  findIcinga,
} from './find-icinga.ts';
import { checkRestart, serviceOf } from './service-restart.ts';
import { MAX_CORES, MAX_RESTARTS, type WatchOptions, watchedIcingaSystem } from './watched-icinga.ts';

/** `hunt watch` for Icinga 2: finds the daemon from --pid (or the one running), its log and port. */
export const icingaWatch: SystemWatch = {
  options: {
    pid: { type: 'string' },
    log: { type: 'string' },
    journal: { type: 'string' },
    port: { type: 'string' },
    name: { type: 'string' },
    core: { type: 'boolean' },
    keylog: { type: 'string' },
    'restart-after-evidence': { type: 'boolean' },
  },
  help: `  --pid <pid>       the icinga2 daemon (pgrep -o icinga2), or a process whose child it is (a
                    container's State.Pid); default: the one icinga2 running here
  --log <path>      its main log as the daemon sees it (default ${DEFAULT_ICINGA_LOG})
  --journal <unit>  or its systemd unit's journal (icinga2.service), where the daemon logs
                    there (its syslog feature; journald from 2.14): read with this host's
                    journalctl, below the daemon's root (a container with its own systemd too)
  --port <port>     its API port, where it listens on several (default: 5665 or its one port)
  --name <node>     the node's name in the report (default: master)
  --keylog <path>   the TLS key log the daemon writes through the key-log shim (as it sees
                    it): the kept captures embed the secrets of their sessions (TLS 1.3 readable)
  --core            on an incident, also a core file of the worker (gdb's gcore; the worker
                    stops for seconds while it is written): cores/ in the run folder, mode
                    0600, never bundled (it holds private keys); at most ${MAX_CORES} a watch
  --restart-after-evidence
                    once an incident's evidence is written (its capture, the process, the
                    core), restart the daemon as one does by hand: its container (docker
                    restart) or systemd unit (systemctl restart); at most ${MAX_RESTARTS} a watch`,
  async find(values) {
    const name = typeof values.name === 'string' ? values.name : 'master';
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(name))
      throw new HuntError(
        ErrorCodes.USAGE,
        `--name is a short node name (lower-case letters, digits and -, from a letter), not "${name}".`,
      );
    // Every option checked before a process is looked for.
    const pid = whole(values.pid, '--pid');
    const port = whole(values.port, '--port');
    if (port !== undefined && (port < 1 || port > 65_535))
      throw new HuntError(ErrorCodes.USAGE, `--port is a TCP port (1 to 65535), not ${port}.`);
    const log = typeof values.log === 'string' ? values.log : undefined;
    if (log !== undefined) checkLogOption(log);
    const unit = typeof values.journal === 'string' ? values.journal : undefined;
    if (unit !== undefined && log !== undefined)
      throw new HuntError(
        ErrorCodes.USAGE,
        '--log and --journal both say where the daemon logs: give the one it writes to.',
      );
    if (unit !== undefined && !/^[\w@:.\\-]+$/.test(unit))
      throw new HuntError(ErrorCodes.USAGE, `--journal is a systemd unit (icinga2.service), not "${unit}".`);
    // A unit named without its type is a service, as systemctl takes it (icinga2: icinga2.service).
    const journal = unit === undefined || unit.includes('.') ? unit : `${unit}.service`;
    const core = values.core === true;
    if (core) await ensureHostTools(['gdb'], silentProgress, { install: false });
    const keylog = typeof values.keylog === 'string' ? values.keylog : undefined;
    const found = await findIcinga({ pid, log, journal, port, keylog });
    const restart = values['restart-after-evidence'] === true ? serviceOf(found.cgroup) : undefined;
    if (restart) await checkRestart(restart);
    return foundInstance(found, name, { core, restart });
  },
};

/** What a watch of this daemon is: the description run.json and --dry-run give, and its system. */
export function foundInstance(found: FoundIcinga, name: string, options: WatchOptions = {}): FoundInstance {
  return {
    node: name,
    description: {
      ...describeFound(found, name),
      core: options.core === true,
      restartAfterEvidence: options.restart?.describe ?? null,
    },
    lines: [
      `${name}: icinga2 ${found.version ?? '(version unknown)'}, pid ${found.umbrella.pid} (worker ${found.worker.pid}), OpenSSL ${found.openssl ?? 'unknown'}`,
      `  addresses ${found.addresses.join(', ') || 'none'}; API port ${found.apiPort}`,
      found.journal
        ? `  journal of ${found.journal.unit}: followed from now, across restarts`
        : `  log ${found.log?.inProcess}: followed from its end, across rotation and restarts`,
      ...(found.keylog
        ? [`  key log ${found.keylog.inProcess}: kept captures embed their sessions' secrets`]
        : []),
      ...(options.core
        ? [`  on an incident, a core file of the worker (at most ${MAX_CORES}), mode 0600, never bundled`]
        : []),
      ...(options.restart
        ? [`  once an incident's evidence is written: ${options.restart.describe} (at most ${MAX_RESTARTS})`]
        : []),
    ],
    captures: `tcp port ${found.apiPort} in the daemon's network namespace`,
    secrets: found.keylog !== undefined,
    system: watchedIcingaSystem(found, name, options),
  };
}

function whole(value: unknown, option: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(number))
    throw new HuntError(ErrorCodes.USAGE, `${option} is a whole number, not "${String(value)}".`);
  return number;
}
