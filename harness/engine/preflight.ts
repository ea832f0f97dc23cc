import type { Progress } from '../progress.ts';
import { type Engine, ensureEngine } from './docker-engine.ts';
import { ensureHostTools, type HostTool } from './host-tools.ts';

/** Host tools every run may need: captures are taken and decrypted on the host. */
export const CAPTURE_TOOLS: readonly HostTool[] = ['tcpdump', 'tshark', 'editcap'];

/** What every hunt command does first: an engine that answers, and the host tools. */
export async function preflight(progress: Progress, env: NodeJS.ProcessEnv = process.env): Promise<Engine> {
  const engine = await ensureEngine(progress, env);
  await ensureHostTools(CAPTURE_TOOLS, progress);
  return engine;
}
