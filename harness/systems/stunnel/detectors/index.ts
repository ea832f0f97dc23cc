import type { Detector } from '../../../observe/detector.ts';
import acceptQueue from './accept-queue.ts';
import logSilence from './log-silence.ts';
import resetSpike from './reset-spike.ts';
import throughputStall from './throughput-stall.ts';

/**
 * stunnel's detectors, one file each in this folder, listed here so tsc checks each entry (a
 * test checks that no file is left out). Adding one: its file, its test, and a line here.
 */
export const stunnelDetectors: readonly Detector[] = [acceptQueue, logSilence, resetSpike, throughputStall];
