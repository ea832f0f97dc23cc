/**
 * SIGINT/SIGTERM for the CLI. A command that can stop gracefully (hunt run) asks for
 * `graceful()`: the first signal aborts that signal's controller and the command winds down
 * (containers removed, report written, exit 130); a second signal exits at once. Without a
 * graceful command, the first signal exits at once with 130 (`hunt clean` removes leftovers).
 */
const controller = new AbortController();
let wantsGraceful = false;

export function graceful(): AbortSignal {
  wantsGraceful = true;
  return controller.signal;
}

export function installSignalHandlers(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (wantsGraceful && !controller.signal.aborted) {
        process.stderr.write(
          `\nhunt: ${signal}, stopping: removing what the run started (again to quit at once)\n`,
        );
        controller.abort(signal);
        return;
      }
      process.stderr.write(`\nhunt: ${signal}, stopping\n`);
      process.exit(130);
    });
  }
}
