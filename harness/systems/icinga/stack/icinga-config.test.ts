import t from 'tap';
import { ErrorCodes } from '../../../errors.ts';
import {
  dslString,
  type NodeSettings,
  renderAgentConfig,
  renderMasterConfig,
  renderMasterZones,
  snippetFileName,
  type Topology,
} from './icinga-config.ts';

function topology(overrides: Partial<Topology> = {}): Topology {
  const masters = overrides.masters ?? ['master1', 'master2'];
  const agents = overrides.agents ?? ['agent-1', 'agent-2'];
  const hostOf = Object.fromEntries(
    [...masters, ...agents].map((name) => [name, { host: name, port: 5665 }]),
  );
  return { masters, agents, agentConnection: 'masters-dial', hostOf, ...overrides };
}

const settings: NodeSettings = {
  ticketSalt: 'salt',
  logSeverity: 'information',
  checkInterval: 10,
  apiUser: { name: 'hunt', password: 'p"w\\d' },
};

t.test('exactly one master dials the other: only master2 carries a host', async (t) => {
  const zones = renderMasterZones(topology());
  t.match(zones, /object Endpoint "master1" \{\}/);
  t.match(zones, /object Endpoint "master2" \{\n {2}host = "master2"\n {2}port = "5665"\n\}/);
  t.match(zones, /object Zone "master" \{\n {2}endpoints = \[ "master1", "master2" \]\n\}/);
});

t.test('masters-dial: masters know agent hosts; agents know none and listen', async (t) => {
  const zones = renderMasterZones(topology());
  t.match(
    zones,
    /object Endpoint "agent-1" \{\n {2}host = "agent-1"\n {2}port = "5665"\n {2}log_duration = 0\n\}/,
  );
  t.match(zones, /object Zone "agent-1" \{\n {2}endpoints = \[ "agent-1" \]\n {2}parent = "master"\n\}/);
  const agent = renderAgentConfig(topology(), 'agent-1', settings)['hh/zones.conf'] ?? '';
  t.notMatch(agent, /host =/);
  t.notMatch(agent, /agent-2/, 'an agent only knows its own zone');
});

t.test('agents-dial: agents know master hosts; masters do not dial agents', async (t) => {
  const dialIn = topology({ agentConnection: 'agents-dial' });
  t.match(renderMasterZones(dialIn), /object Endpoint "agent-1" \{\n {2}log_duration = 0\n\}/);
  const agent = renderAgentConfig(dialIn, 'agent-1', settings)['hh/zones.conf'] ?? '';
  t.match(agent, /object Endpoint "master1" \{\n {2}host = "master1"/);
  t.match(agent, /object Endpoint "master2" \{\n {2}host = "master2"/);
});

t.test('a proxy can take over an endpoint address', async (t) => {
  const proxied = topology();
  proxied.hostOf.master2 = { host: '10.1.2.3', port: 15665 };
  t.match(renderMasterZones(proxied), /host = "10\.1\.2\.3"\n {2}port = "15665"/);
});

t.test('a master config holds only our files: constants, API user, checks on agents', async (t) => {
  const files = renderMasterConfig(topology(), 'master1', {
    ...settings,
    snippets: { 'my extra': 'const X = 1\n' },
  });
  t.same(Object.keys(files).sort(), [
    'hh/api-users.conf',
    'hh/constants.conf',
    'hh/extra/00-placeholder.conf',
    'hh/extra/my-extra.conf',
    'hh/features.conf',
    'hh/objects.conf',
    'hh/zones.conf',
    'icinga2.conf',
  ]);
  t.match(
    files['hh/constants.conf'],
    /const NodeName = "master1"\nconst ZoneName = "master"\nconst TicketSalt = "salt"/,
  );
  t.match(files['hh/api-users.conf'], /password = "p\\"w\\\\d"/, 'the password is escaped');
  t.match(files['hh/features.conf'], /object CheckerComponent "checker"/);
  t.match(files['hh/objects.conf'], /command_endpoint = host\.vars\.agent_endpoint\n {2}zone = "master"/);
  t.match(files['icinga2.conf'], /include "hh\/extra\/\*\.conf"/);
  t.notMatch(files['icinga2.conf'], /conf\.d|features-enabled/, 'no Debian defaults');
});

t.test('an agent runs no checker and has no API user', async (t) => {
  const files = renderAgentConfig(topology(), 'agent-2', settings);
  t.notOk(files['hh/api-users.conf']);
  t.notMatch(files['hh/features.conf'], /CheckerComponent/);
  t.match(files['hh/constants.conf'], /const ZoneName = "agent-2"/);
});

t.test('bad topologies are refused with a reason', async (t) => {
  t.throws(() => renderMasterConfig(topology({ masters: [] }), 'master1', settings), {
    code: ErrorCodes.USAGE,
    message: /1 or 2 masters.*not 0/,
  });
  t.throws(() => renderMasterConfig(topology({ masters: ['m1', 'm2', 'm3'] }), 'm1', settings), {
    code: ErrorCodes.USAGE,
    message: /not 3/,
  });
  t.throws(() => renderMasterConfig(topology({ agents: ['bad name'] }), 'master1', settings), {
    message: /usable endpoint name/,
  });
  t.throws(() => renderMasterConfig(topology({ agents: ['master1'] }), 'master1', settings), {
    message: /used twice/,
  });
});

t.test('strings and snippet names are made safe', async (t) => {
  t.equal(dslString('a"b\\c\nd'), '"a\\"b\\\\c\\nd"');
  t.equal(snippetFileName('storm settings.conf'), 'storm-settings.conf');
  t.equal(snippetFileName('../../etc/passwd'), 'etc-passwd.conf');
  t.throws(() => snippetFileName('///'), { code: ErrorCodes.USAGE });
});
