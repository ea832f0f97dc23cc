/**
 * How library code tells the user what it is doing. The CLI decides how to show it (a
 * rewritten status line on a TTY, plain lines otherwise); tests collect or drop it.
 */
export interface Progress {
  /** A step that starts (shown as a heading). */
  step(text: string): void;
  /** A line of detail within the current step (tool output, counters). */
  detail(text: string): void;
}

export const silentProgress: Progress = { step() {}, detail() {} };
