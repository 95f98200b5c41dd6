// `glam train`'s progress display: on a terminal, two cli-progress bars — the run (frames, frames/s,
// success, update n/N, ETA) and the update in flight (its rollout steps, then its gradient steps, with
// that phase's ETA); elsewhere (a pipe, a log file) one line per update plus, during a long update, a
// line every `periodS` seconds saying where it is.
// Subtle:
// - The run's ETA counts the current update's progress too (its rollout steps, then its gradient steps,
//   each taken as half the update until a whole update has been timed), so it moves within a long update.
// - MultiBar prints logged lines above the bars at its next redraw, and stop() drops them: log() redraws.
import { MultiBar, Presets, type SingleBar } from 'cli-progress';

import type { CliIO } from './io.js';
import { formatDuration } from './progress.js';

export interface TrainProgress {
  /** An update's rollout or gradient steps (within the update). */
  step(p: { update: number; phase: 'rollout' | 'epochs'; done: number; total: number }): void;
  /** An update ended. */
  update(frames: number, info: { update: number; success?: number }): void;
  log(line: string): void;
  stop(): void;
}

export function makeTrainProgress(io: CliIO, tty: NodeJS.WritableStream | undefined,
  o: { totalFrames: number; startFrames: number; updates: number; batch: number; periodS?: number }): TrainProgress {
  const t0 = performance.now();
  const now = () => (performance.now() - t0) / 1000;
  const fps = (frames: number) => (frames - o.startFrames) / Math.max(1e-9, now());
  let success = '-';
  const showSuccess = (s: number | undefined) => { if (s !== undefined) success = s.toFixed(2); return success; };
  // ETA: seconds per update from the updates timed so far, and the fraction of the current one done
  let doneUpdates = 0;
  let lastEnd = 0;
  let current = 0; // fraction of the update in flight
  let update = 0;
  const eta = () => {
    const remaining = o.updates - update - current;
    if (doneUpdates > 0) return formatDuration((lastEnd / doneUpdates) * remaining);
    return current > 0 ? formatDuration(((now() - lastEnd) / current) * remaining) : '?';
  };
  const phaseText = (p: { phase: string; done: number; total: number }) => `${p.phase === 'rollout' ? 'rollout' : 'epochs'} ${p.done}/${p.total} ${p.phase === 'rollout' ? 'steps' : 'gradient steps'}`;
  const fraction = (p: { phase: string; done: number; total: number }) => (p.phase === 'rollout' ? 0 : 0.5) + 0.5 * (p.done / p.total);

  if (tty) {
    const bars = new MultiBar({
      stream: tty, hideCursor: false, clearOnComplete: false, etaBuffer: 20, fps: 5, noTTYOutput: false,
      format: ' {bar} {percentage}% | {value}/{total} frames | {fps} frames/s | success {success} | update {update}/{updates} | ETA {runEta}',
    }, Presets.shades_classic);
    const run = bars.create(o.totalFrames, o.startFrames, { fps: '-', success, update: 0, updates: o.updates, runEta: '?' });
    let inner: SingleBar | undefined;
    let phase = '';
    let active = true;
    return {
      step: (p) => {
        update = p.update - 1;
        current = fraction(p);
        if (!inner) inner = bars.create(p.total, 0, {}, { format: ' {bar} {what} | ETA {eta_formatted}' });
        if (phase !== p.phase) {
          phase = p.phase;
          inner.start(p.total, 0, { what: phaseText(p) });
        }
        inner.update(p.done, { what: `update ${p.update}: ${phaseText(p)}` });
        run.update({ runEta: eta() });
      },
      update: (frames, i) => {
        update = i.update;
        current = 0;
        doneUpdates += 1;
        lastEnd = now();
        phase = '';
        run.update(Math.min(frames, o.totalFrames), { fps: fps(frames).toFixed(0), success: showSuccess(i.success), update: i.update, updates: o.updates, runEta: eta() });
      },
      log: (line) => {
        if (!active) return void io.err(line.endsWith('\n') ? line : line + '\n');
        bars.log(line.endsWith('\n') ? line : line + '\n');
        bars.update();
      },
      stop: () => {
        if (active) bars.stop();
        active = false;
      },
    };
  }
  let lastLine = now();
  const period = o.periodS ?? 30;
  return {
    step: (p) => {
      update = p.update - 1;
      current = fraction(p);
      if (now() - lastLine < period) return;
      lastLine = now();
      io.err(`update ${p.update}/${o.updates}: ${phaseText(p)}  ETA ${eta()}\n`);
    },
    update: (frames, i) => {
      update = i.update;
      current = 0;
      doneUpdates += 1;
      lastEnd = now();
      lastLine = now();
      io.err(`update ${i.update}/${o.updates}  frames ${frames}/${o.totalFrames}  ${fps(frames).toFixed(0)} frames/s  success ${showSuccess(i.success)}  ETA ${eta()}\n`);
    },
    log: (line) => io.err(line.endsWith('\n') ? line : line + '\n'),
    stop: () => {},
  };
}
