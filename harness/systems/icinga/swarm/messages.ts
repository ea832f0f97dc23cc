/** The JSON-RPC messages a simulated endpoint sends and understands (Icinga 2 cluster protocol). */

export interface JsonRpcMessage {
  jsonrpc?: '2.0';
  method?: string;
  params?: Record<string, unknown>;
  id?: unknown;
  [key: string]: unknown;
}

/** "r2.13.6-1" or "2.14.6" -> 21306 / 21406 (major*10000 + minor*100 + patch). */
export function icingaVersionNumber(version: string): number {
  const match = /(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!match) throw new Error(`not an Icinga version: ${version}`);
  return Number(match[1]) * 10000 + Number(match[2]) * 100 + Number(match[3]);
}

/**
 * The Hello an endpoint of the master's own version sends: 2.14 says capabilities 3, 2.13
 * says 1, 2.12 sends empty params. A different version makes the master log "Unexpected
 * Icinga version of endpoint".
 */
export function helloMessage(masterVersion: number): JsonRpcMessage {
  if (masterVersion < 21300) return { jsonrpc: '2.0', method: 'icinga::Hello', params: {} };
  return {
    jsonrpc: '2.0',
    method: 'icinga::Hello',
    params: { version: masterVersion, capabilities: masterVersion >= 21400 ? 3 : 1 },
  };
}

export const heartbeatMessage: JsonRpcMessage = { jsonrpc: '2.0', method: 'event::Heartbeat', params: {} };

export interface CheckOutcome {
  state: 0 | 1 | 2 | 3;
  output: string;
}

export interface ExecuteCommandParams {
  command_type?: string;
  command?: string;
  host?: string;
  service?: string;
  macros?: Record<string, unknown>;
}

/**
 * The answer to event::ExecuteCommand. Traps: `cr` must contain performance_data (may be
 * empty) or the master stores an empty result; host checks leave out `service`; nested objects
 * must not carry a `type` key (only `cr` itself is typed).
 */
export function checkResultMessage(
  params: ExecuteCommandParams,
  outcome: CheckOutcome,
  checkSource: string,
): JsonRpcMessage {
  const now = Date.now() / 1000;
  return {
    jsonrpc: '2.0',
    method: 'event::CheckResult',
    params: {
      host: params.host,
      ...(params.service ? { service: params.service } : {}),
      cr: {
        type: 'CheckResult',
        state: outcome.state,
        exit_status: outcome.state,
        output: outcome.output,
        performance_data: [],
        command: [params.command ?? 'simulated'],
        execution_start: now,
        execution_end: now,
        schedule_start: now,
        schedule_end: now,
        active: true,
        ttl: 0,
        check_source: checkSource,
      },
    },
  };
}
