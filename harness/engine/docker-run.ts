import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { harnessLabels, Labels } from './labels.ts';

export interface RunOnceResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs one command in a fresh, labelled container and removes it: `docker run --rm` for
 * short probes (versions, self-checks). The entrypoint is overridden so the image's own
 * start-up (an init, a daemon) does not run.
 */
export async function runOnce(docker: Docker, image: string, command: string[]): Promise<RunOnceResult> {
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: [],
    Cmd: command,
    Labels: harnessLabels({ [Labels.ROLE]: 'probe' }),
    HostConfig: { NetworkMode: 'none' },
  });
  try {
    const stdout = collect();
    const stderr = collect();
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    docker.modem.demuxStream(stream, stdout.sink, stderr.sink);
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    // The attach stream ends once the container's output is drained.
    await new Promise<void>((resolve) => {
      if ((stream as NodeJS.ReadableStream & { readableEnded?: boolean }).readableEnded) resolve();
      else {
        stream.once('end', () => resolve());
        setTimeout(resolve, 2000).unref();
      }
    });
    return { exitCode: StatusCode, stdout: stdout.text(), stderr: stderr.text() };
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

function collect(): { sink: PassThrough; text: () => string } {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { sink, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** Docker's JSON progress stream (build, pull, import) as lines; rejects on an error event. */
export function followDockerStream(
  docker: Docker,
  stream: NodeJS.ReadableStream,
  onLine: (line: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    // Closing the connection is how a client cancels a build or pull: the engine stops it.
    const onAbort = () => {
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      reject(signal?.reason);
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    docker.modem.followProgress(
      stream,
      (error: Error | null, events: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
        signal?.removeEventListener('abort', onAbort);
        const failed = events?.find((event) => event.error);
        if (error) reject(error);
        else if (failed) reject(new Error(failed.errorDetail?.message ?? failed.error));
        else resolve();
      },
      (event: { stream?: string; status?: string; progress?: string }) => {
        const text = (event.stream ?? event.status ?? '').trimEnd();
        for (const line of text.split('\n')) if (line.trim()) onLine(line);
      },
    );
  });
}
