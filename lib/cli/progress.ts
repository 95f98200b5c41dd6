// Episode progress for long evaluations: a cli-progress bar (episodes, success so far, episodes/s,
// ETA) when the output is a terminal, else a plain line at most every `everyMs` so that logs of
// scripts and CI stay short but show the run is alive.
// Subtle: the bar is drawn only when both stdout and stderr are terminals (the caller decides and
// passes the stream): a redirected stdout means a script, and a redirected stderr must not fill with
// control codes. The bar goes to stderr, so stdout (a table or --json) is unchanged.
import { SingleBar, Presets } from 'cli-progress';

import type { CliIO } from './io.js';

export interface EpisodeProgress {
  /** `done` episodes finished in all, `successes` of them successful. */
  update(done: number, successes: number): void;
  stop(): void;
}

/** Seconds as "1h02m", "3m05s" or "7s" ('?' when unknown). */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const t = Math.round(s);
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

/** The terminal to draw a bar on: stderr when both stdout and stderr are terminals. */
export function progressTerminal(): NodeJS.WritableStream | undefined {
  return process.stdout.isTTY && process.stderr.isTTY ? process.stderr : undefined;
}

export function episodeProgress(io: CliIO, o: { total: number; label: string; tty?: NodeJS.WritableStream; everyMs?: number; now?: () => number }): EpisodeProgress {
  const now = o.now ?? (() => performance.now());
  const t0 = now();
  const rate = (done: number) => done / Math.max(1e-9, (now() - t0) / 1000);
  const success = (done: number, wins: number) => (done > 0 ? (wins / done).toFixed(3) : '-');
  if (o.tty) {
    const bar = new SingleBar({
      stream: o.tty, format: ` ${o.label} {bar} {value}/{total} episodes | success {success} | {rate} episodes/s | ETA {eta_formatted}`,
      hideCursor: false, clearOnComplete: true, etaBuffer: 50, fps: 5, noTTYOutput: false,
    }, Presets.shades_classic);
    bar.start(o.total, 0, { success: '-', rate: '-' });
    let active = true;
    return {
      update: (done, wins) => bar.update(done, { success: success(done, wins), rate: rate(done).toFixed(1) }),
      stop: () => {
        if (active) bar.stop();
        active = false;
      },
    };
  }
  const every = o.everyMs ?? 10_000;
  let last = t0;
  return {
    update: (done, wins) => {
      const t = now();
      if (t - last < every || done >= o.total) return;
      last = t;
      const r = rate(done);
      io.err(`${o.label}: ${done}/${o.total} episodes  success ${success(done, wins)}  ${r.toFixed(1)} episodes/s  ETA ${formatDuration((o.total - done) / r)}\n`);
    },
    stop: () => {},
  };
}
