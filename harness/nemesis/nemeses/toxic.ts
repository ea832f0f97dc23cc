import { ErrorCodes, HuntError } from '../../errors.ts';
import { toxicList } from '../../proxy/toxic-registry.ts';
import { defineNemesis } from '../nemesis.ts';

/**
 * Any chaos-proxy toxic on the proxy in front of the node, for the fault's length: a latency
 * burst right after a reload, a truncated Certificate message (the TLS toxics see it in TLS 1.2
 * only, i.e. 2.12.3). Attributes: `type`, `stream` (default downstream), `toxicity`, and the
 * toxic's own `attributes`, checked by the toxic itself.
 */
export default defineNemesis<{
  type: string;
  stream: string;
  toxicity: number;
  attributes: Record<string, unknown>;
}>({
  name: 'toxic',
  summary: "a proxy toxic on the node's proxy for the fault's length (type, stream, toxicity, attributes)",
  parse(a) {
    if (typeof a.type !== 'string')
      throw new HuntError(
        ErrorCodes.USAGE,
        'Nemesis toxic: attribute "type" names a toxic (latency, tls_length, ...).',
      );
    if (!toxicList.some((type) => type.type === a.type))
      throw new HuntError(
        ErrorCodes.USAGE,
        `Nemesis toxic: unknown toxic "${a.type}". Known: ${toxicList.map((type) => type.type).join(', ')}.`,
      );
    if (a.stream !== undefined && !['upstream', 'downstream', 'both'].includes(String(a.stream)))
      throw new HuntError(
        ErrorCodes.USAGE,
        `Nemesis toxic: stream is upstream, downstream or both, not ${JSON.stringify(a.stream)}.`,
      );
    const toxicity = a.toxicity === undefined ? 1 : Number(a.toxicity);
    if (!(toxicity >= 0 && toxicity <= 1))
      throw new HuntError(ErrorCodes.USAGE, `Nemesis toxic: toxicity is 0..1, not ${String(a.toxicity)}.`);
    return {
      type: a.type,
      stream: typeof a.stream === 'string' ? a.stream : 'downstream',
      toxicity,
      attributes: (a.attributes ?? {}) as Record<string, unknown>,
    };
  },
  check: (target, node) =>
    target.proxyFor?.(node.name)
      ? undefined
      : `${node.name} has no chaos proxy in front of it (start the target with it proxied).`,
  async start({ target, node, fault }, spec) {
    const proxy = target.proxyFor?.(node.name);
    if (!proxy)
      throw new HuntError(
        ErrorCodes.USAGE,
        `Nemesis toxic: ${node.name} has no chaos proxy in front of it (start the target with it proxied).`,
      );
    const name = `nemesis-${fault}-${spec.type}`;
    await proxy.addToxic({
      name,
      type: spec.type,
      stream: spec.stream as 'upstream' | 'downstream' | 'both',
      toxicity: spec.toxicity,
      attributes: spec.attributes,
    });
    return async () => proxy.removeToxic(name);
  },
});
