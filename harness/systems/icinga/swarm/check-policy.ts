import { derivedRandom } from '../../../random.ts';
import type { CheckOutcome, ExecuteCommandParams } from './messages.ts';

/** How a simulated endpoint answers a check. */
export type CheckPolicy =
  | { kind: 'fixed'; state: CheckOutcome['state']; output: string }
  /** States drawn from the run's seed; `weights` for OK, WARNING, CRITICAL, UNKNOWN. */
  | { kind: 'random'; seed: number; weights?: [number, number, number, number] }
  /** Like a plugin: anything computed from the endpoint and the command. */
  | { kind: 'function'; answer: (endpoint: string, params: ExecuteCommandParams) => CheckOutcome };

const STATE_NAMES = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;

export const defaultCheckPolicy: CheckPolicy = {
  kind: 'fixed',
  state: 0,
  output: 'OK - simulated by handshake-hunter',
};

/** Builds the answering function of one endpoint. */
export function checkAnswerer(
  policy: CheckPolicy,
  endpoint: string,
): (params: ExecuteCommandParams) => CheckOutcome {
  switch (policy.kind) {
    case 'fixed':
      return () => ({ state: policy.state, output: policy.output });
    case 'function':
      return (params) => policy.answer(endpoint, params);
    case 'random': {
      const random = derivedRandom(policy.seed, `check:${endpoint}`);
      const weights = policy.weights ?? [0.85, 0.1, 0.04, 0.01];
      const total = weights.reduce((sum, weight) => sum + weight, 0);
      let counter = 0;
      return () => {
        let draw = random() * total;
        let state = 0;
        while (state < 3 && draw >= (weights[state] ?? 0)) draw -= weights[state++] ?? 0;
        counter++;
        return {
          state: state as CheckOutcome['state'],
          output: `${STATE_NAMES[state]} - simulated check #${counter} of ${endpoint}`,
        };
      };
    }
  }
}
