import { ErrorCodes, HuntError } from '../../../errors.ts';

/**
 * Pure rendering of the Icinga 2 configuration for every node of a stack. Each node gets its
 * own /etc/icinga2/icinga2.conf that includes only our files (no Debian defaults), so what a
 * run tests is exactly what this module writes.
 */

export const API_PORT = 5665;
export const MASTER_ZONE = 'master';
export const GLOBAL_ZONE = 'global-templates';

/** Who opens the cluster connection between masters and agents. */
export type AgentConnection =
  /** Masters connect to agents: a reloaded master reconnects at once (fast barriers). */
  | 'masters-dial'
  /** Agents connect to masters, on their reconnect timer (the other common field setup). */
  | 'agents-dial';

export type LogSeverity = 'debug' | 'notice' | 'information' | 'warning' | 'critical';

export interface Topology {
  /** Master endpoint names, 1 or 2: one HA zone "master". */
  masters: string[];
  /** Real agent endpoint names: each its own zone under "master". */
  agents: string[];
  /** Simulated endpoints (the swarm): like agents, but they always dial the masters. */
  simulated?: string[];
  agentConnection: AgentConnection;
  /** How other nodes reach an endpoint: a host name on the stack's network, or a proxy. */
  hostOf: Record<string, { host: string; port: number }>;
}

export interface NodeSettings {
  ticketSalt: string;
  logSeverity: LogSeverity;
  /** Seconds between checks of the agents' services. */
  checkInterval: number;
  /** Masters only: the API user the harness talks as. */
  apiUser?: { name: string; password: string };
  /** Masters only: extra config files, name -> content, included after ours. */
  snippets?: Record<string, string>;
}

/** Files for one node, relative to /etc/icinga2. */
export type ConfigFiles = Record<string, string>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function validateTopology(topology: Topology): void {
  if (topology.masters.length < 1 || topology.masters.length > 2) {
    throw new HuntError(
      ErrorCodes.USAGE,
      `A stack has 1 or 2 masters (one HA zone), not ${topology.masters.length}. Icinga's HA zone ` +
        'supports two endpoints; more masters would be satellites, which this stack does not build.',
    );
  }
  const names = [...topology.masters, ...topology.agents, ...(topology.simulated ?? [])];
  for (const name of names) {
    if (!NAME.test(name)) {
      throw new HuntError(
        ErrorCodes.USAGE,
        `"${name}" is not a usable endpoint name: use letters, digits, ".", "_", "-".`,
      );
    }
  }
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate) throw new HuntError(ErrorCodes.USAGE, `Endpoint name "${duplicate}" is used twice.`);
}

/** A DSL string literal. Names are validated; free text (passwords, snippets' values) escaped. */
export function dslString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function endpoint(topology: Topology, name: string, withHost: boolean, extra: string[] = []): string {
  const lines = [...extra];
  const address = topology.hostOf[name];
  if (withHost && address)
    lines.unshift(`host = ${dslString(address.host)}`, `port = ${dslString(String(address.port))}`);
  return `object Endpoint ${dslString(name)} {${lines.map((line) => `\n  ${line}`).join('')}${lines.length ? '\n' : ''}}`;
}

function zone(name: string, endpoints: string[], parent?: string): string {
  const members = endpoints.map(dslString).join(', ');
  return `object Zone ${dslString(name)} {\n  endpoints = [ ${members} ]${parent ? `\n  parent = ${dslString(parent)}` : ''}\n}`;
}

function mastersZone(topology: Topology): string[] {
  // Only the masters after the first carry a host, so exactly one side dials: master1 -> master2.
  const [first, ...rest] = topology.masters;
  return [
    ...(first ? [endpoint(topology, first, false)] : []),
    ...rest.map((name) => endpoint(topology, name, true)),
    zone(MASTER_ZONE, topology.masters),
    `object Zone ${dslString(GLOBAL_ZONE)} {\n  global = true\n}`,
  ];
}

export function renderMasterZones(topology: Topology): string {
  const dial = topology.agentConnection === 'masters-dial';
  const agents = topology.agents.flatMap((name) => [
    // log_duration = 0: no replay log kept for agents, as the notes advise.
    endpoint(topology, name, dial, ['log_duration = 0']),
    zone(name, [name], MASTER_ZONE),
  ]);
  const simulated = (topology.simulated ?? []).flatMap((name) => [
    endpoint(topology, name, false, ['log_duration = 0']),
    zone(name, [name], MASTER_ZONE),
  ]);
  return `${[...mastersZone(topology), ...agents, ...simulated].join('\n\n')}\n`;
}

export function renderAgentZones(topology: Topology, agent: string): string {
  const dial = topology.agentConnection === 'agents-dial';
  const masters = topology.masters.map((name) => endpoint(topology, name, dial));
  return `${[
    ...masters,
    zone(MASTER_ZONE, topology.masters),
    endpoint(topology, agent, false),
    zone(agent, [agent], MASTER_ZONE),
    `object Zone ${dslString(GLOBAL_ZONE)} {\n  global = true\n}`,
  ].join('\n\n')}\n`;
}

function constants(node: string, zoneName: string, settings: NodeSettings): string {
  return [
    `const NodeName = ${dslString(node)}`,
    `const ZoneName = ${dslString(zoneName)}`,
    `const TicketSalt = ${dslString(settings.ticketSalt)}`,
    // <plugins> needs it; Debian's own constants.conf is not included.
    `const PluginDir = "/usr/lib/nagios/plugins"`,
    '',
  ].join('\n');
}

function features(settings: NodeSettings, master: boolean): string {
  return [
    'object ApiListener "api" {',
    '  accept_config = true',
    '  accept_commands = true',
    '  ticket_salt = TicketSalt',
    '}',
    '',
    'object FileLogger "main-log" {',
    `  severity = ${dslString(settings.logSeverity)}`,
    '  path = LogDir + "/icinga2.log"',
    '}',
    ...(master ? ['', 'object CheckerComponent "checker" { }'] : []),
    '',
  ].join('\n');
}

/** Hosts for the agents, and a real plugin check ("load") executed on each agent. */
export function renderMasterObjects(topology: Topology, settings: NodeSettings): string {
  const hosts = [...topology.agents, ...(topology.simulated ?? [])].map((name) =>
    [
      `object Host ${dslString(name)} {`,
      '  check_command = "dummy"',
      // Checks with a command_endpoint must belong to a zone; outside zones.d we say which.
      `  zone = ${dslString(MASTER_ZONE)}`,
      `  check_interval = ${settings.checkInterval}s`,
      `  vars.agent_endpoint = ${dslString(name)}`,
      '}',
    ].join('\n'),
  );
  const service = [
    'apply Service "load" {',
    '  check_command = "load"',
    '  command_endpoint = host.vars.agent_endpoint',
    `  zone = ${dslString(MASTER_ZONE)}`,
    `  check_interval = ${settings.checkInterval}s`,
    `  retry_interval = ${settings.checkInterval}s`,
    '  assign where host.vars.agent_endpoint',
    '}',
  ].join('\n');
  return `${[...hosts, service].join('\n\n')}\n`;
}

function icinga2Conf(master: boolean): string {
  return [
    "// Written by handshake-hunter: only these files make up this node's configuration.",
    'include "hh/constants.conf"',
    'include "hh/zones.conf"',
    'include <itl>',
    'include <plugins>',
    'include "hh/features.conf"',
    ...(master ? ['include "hh/api-users.conf"', 'include "hh/objects.conf"'] : []),
    'include "hh/extra/*.conf"',
    '',
  ].join('\n');
}

export function renderMasterConfig(topology: Topology, master: string, settings: NodeSettings): ConfigFiles {
  validateTopology(topology);
  if (!settings.apiUser) throw new HuntError(ErrorCodes.USAGE, 'A master needs an API user.');
  const files: ConfigFiles = {
    'icinga2.conf': icinga2Conf(true),
    'hh/constants.conf': constants(master, MASTER_ZONE, settings),
    'hh/zones.conf': renderMasterZones(topology),
    'hh/features.conf': features(settings, true),
    'hh/api-users.conf': `object ApiUser ${dslString(settings.apiUser.name)} {\n  password = ${dslString(settings.apiUser.password)}\n  permissions = [ "*" ]\n}\n`,
    'hh/objects.conf': renderMasterObjects(topology, settings),
    'hh/extra/00-placeholder.conf': '// Extra configuration snippets go beside this file.\n',
  };
  for (const [name, content] of Object.entries(settings.snippets ?? {})) {
    files[`hh/extra/${snippetFileName(name)}`] = content;
  }
  return files;
}

export function renderAgentConfig(topology: Topology, agent: string, settings: NodeSettings): ConfigFiles {
  validateTopology(topology);
  return {
    'icinga2.conf': icinga2Conf(false),
    'hh/constants.conf': constants(agent, agent, settings),
    'hh/zones.conf': renderAgentZones(topology, agent),
    'hh/features.conf': features(settings, false),
    'hh/extra/00-placeholder.conf': '// Extra configuration snippets go beside this file.\n',
  };
}

/** "my snippet" -> "my-snippet.conf": a safe file name under hh/extra/. */
export function snippetFileName(name: string): string {
  const base = name
    .replace(/\.conf$/, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+/, '');
  if (!base) throw new HuntError(ErrorCodes.USAGE, `Config snippet name "${name}" has no usable characters.`);
  return `${base}.conf`;
}
