import { numberAttribute, sleepUntil, type ToxicType } from '../toxic.ts';

/**
 * Freezes the connection: from `after` ms after it was accepted, for `duration` ms, nothing
 * moves; then everything held goes through in order. With stream "both", both directions
 * freeze: the stunnel symptom (a service that hangs for minutes, then carries on).
 */
const stall: ToxicType<{ after: number; duration: number }> = {
  type: 'stall',
  summary: 'freeze the connection for duration ms, starting after ms after it opened, then resume',
  parse: (a) => ({
    after: numberAttribute('stall', a, 'after', { default: 0, min: 0, max: 3_600_000 }),
    duration: numberAttribute('stall', a, 'duration', { default: 0, min: 0, max: 3_600_000 }),
  }),
  create: ({ after, duration }, { connectedAt }) => {
    let reported = false;
    const from = connectedAt + after;
    const until = from + duration;
    return {
      async transform(chunk, out) {
        const now = performance.now();
        if (now >= from && now < until) {
          if (!reported) out.fired('stalled', { for: Math.round(until - now) });
          reported = true;
          await sleepUntil(until);
        }
        await out.push(chunk);
      },
    };
  },
};
export default stall;
