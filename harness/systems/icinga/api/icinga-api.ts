import { Client, errors as undiciErrors } from 'undici';
import { ErrorCodes, HuntError } from '../../../errors.ts';

export interface IcingaApiOptions {
  /** https://<address>:5665 */
  url: string;
  /** The name the master's certificate carries (its endpoint name): verified, never skipped. */
  servername: string;
  /** The stack's CA, PEM. */
  ca: string;
  user: string;
  password: string;
  /** Per request. */
  timeoutMs?: number;
}

/**
 * An HTTP error from the API. During reloads the status matters: 401 is a config problem,
 * 423 a config-stage deploy still pending (2.13.3+), 503 "Icinga is reloading" (2.14).
 */
export class IcingaApiError extends HuntError {
  readonly status: number | undefined;
  readonly body: unknown;

  constructor(
    code: typeof ErrorCodes.API_HTTP | typeof ErrorCodes.API_UNREACHABLE,
    message: string,
    status?: number,
    body?: unknown,
    cause?: unknown,
  ) {
    super(code, message, { cause, details: { status } });
    this.name = 'IcingaApiError';
    this.status = status;
    this.body = body;
  }
}

export interface ApiListenerStatus {
  num_endpoints: number;
  num_conn_endpoints: number;
  num_not_conn_endpoints: number;
  conn_endpoints: string[];
  not_conn_endpoints: string[];
  [key: string]: unknown;
}

export interface IcingaApplicationStatus {
  pid: number;
  program_start: number;
  version: string;
  node_name: string;
  [key: string]: unknown;
}

export interface ApiObject<Attrs> {
  name: string;
  type: string;
  attrs: Attrs;
}

export interface CheckResult {
  state: number;
  output: string;
  check_source: string;
  execution_end: number;
  [key: string]: unknown;
}

/** The Icinga 2 REST API of one node, over one kept-alive connection that verifies the CA. */
export class IcingaApiClient {
  readonly url: string;
  private readonly client: Client;
  private readonly authorization: string;
  private readonly timeoutMs: number;

  constructor(options: IcingaApiOptions) {
    this.url = options.url;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.authorization = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString('base64')}`;
    this.client = new Client(options.url, {
      connect: {
        ca: options.ca,
        servername: options.servername,
        rejectUnauthorized: true,
        timeout: this.timeoutMs,
      },
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      pipelining: 1,
    });
  }

  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    let response: Awaited<ReturnType<Client['request']>>;
    try {
      response = await this.client.request({
        method,
        path,
        headers: {
          authorization: this.authorization,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new IcingaApiError(
        ErrorCodes.API_UNREACHABLE,
        `${method} ${this.url}${path} failed: ${describeNetworkError(error)}`,
        undefined,
        undefined,
        error,
      );
    }
    const text = await response.body.text().catch(() => '');
    const parsed = parseJson(text);
    if (response.statusCode >= 400) {
      const status = (parsed as { status?: string } | undefined)?.status ?? text.slice(0, 200);
      throw new IcingaApiError(
        ErrorCodes.API_HTTP,
        `${method} ${this.url}${path} answered ${response.statusCode}: ${status}`,
        response.statusCode,
        parsed ?? text,
      );
    }
    return parsed as T;
  }

  async status<T>(component: string): Promise<T> {
    const answer = await this.request<{ results: Array<{ status: T }> }>('GET', `/v1/status/${component}`);
    const first = answer.results[0];
    if (!first)
      throw new IcingaApiError(ErrorCodes.API_HTTP, `/v1/status/${component} returned no result`, 200);
    return first.status;
  }

  async apiListener(): Promise<ApiListenerStatus> {
    return (await this.status<{ api: ApiListenerStatus }>('ApiListener')).api;
  }

  async icingaApplication(): Promise<IcingaApplicationStatus> {
    return (await this.status<{ icingaapplication: { app: IcingaApplicationStatus } }>('IcingaApplication'))
      .icingaapplication.app;
  }

  async objects<Attrs>(type: string, attrs: string[], filter?: string): Promise<Array<ApiObject<Attrs>>> {
    const query = new URLSearchParams();
    for (const attr of attrs) query.append('attrs', attr);
    if (filter) query.set('filter', filter);
    const answer = await this.request<{ results: Array<ApiObject<Attrs>> }>(
      'GET',
      `/v1/objects/${type}?${query}`,
    );
    return answer.results;
  }

  /**
   * Endpoint name -> connected, as this node sees it. With `disconnectedOnly` Icinga filters:
   * only the endpoints not connected come back (a handful while a reload's wave settles, instead
   * of the whole swarm on every poll); an endpoint the node does not know is then not listed.
   */
  async endpointConnections(options: { disconnectedOnly?: boolean } = {}): Promise<Map<string, boolean>> {
    const endpoints = await this.objects<{ connected: boolean }>(
      'endpoints',
      ['connected'],
      options.disconnectedOnly ? '!endpoint.connected' : undefined,
    );
    return new Map(endpoints.map((endpoint) => [endpoint.name, endpoint.attrs.connected]));
  }

  async variable(name: string): Promise<unknown> {
    const answer = await this.request<{ results: Array<{ value: unknown }> }>(
      'GET',
      `/v1/variables/${encodeURIComponent(name)}`,
    );
    return answer.results[0]?.value;
  }

  async restartProcess(): Promise<void> {
    await this.request('POST', '/v1/actions/restart-process');
  }

  async createPackage(name: string): Promise<void> {
    await this.request('POST', `/v1/config/packages/${encodeURIComponent(name)}`);
  }

  /** Uploads a config stage; Icinga validates it and reloads asynchronously. Returns the stage name. */
  async uploadStage(packageName: string, files: Record<string, string>, reload = true): Promise<string> {
    const answer = await this.request<{ results: Array<{ stage: string }> }>(
      'POST',
      `/v1/config/stages/${encodeURIComponent(packageName)}`,
      { files, reload },
    );
    const stage = answer.results[0]?.stage;
    if (!stage)
      throw new IcingaApiError(
        ErrorCodes.API_HTTP,
        'config stage upload returned no stage name',
        200,
        answer,
      );
    return stage;
  }

  /** Removes a config stage (Director removes old ones after each deploy). */
  async deleteStage(packageName: string, stage: string): Promise<void> {
    await this.request(
      'DELETE',
      `/v1/config/stages/${encodeURIComponent(packageName)}/${encodeURIComponent(stage)}`,
    );
  }

  async packages(): Promise<Array<{ name: string; stages: string[]; 'active-stage': string }>> {
    return (
      await this.request<{ results: Array<{ name: string; stages: string[]; 'active-stage': string }> }>(
        'GET',
        '/v1/config/packages',
      )
    ).results;
  }

  async close(): Promise<void> {
    await this.client.destroy().catch(() => undefined);
  }
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** A short reason for a failed request: the errno code where there is one (ECONNREFUSED, ...). */
function describeNetworkError(error: unknown): string {
  if (error instanceof undiciErrors.UndiciError) return `${error.code}: ${error.message}`;
  const code = (error as { code?: string }).code;
  const message = (error as Error).message ?? String(error);
  return code ? `${code}: ${message}` : message;
}
