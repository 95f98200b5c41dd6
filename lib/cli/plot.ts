// `glam plot RUN_DIR... [--out FILE] [--title TEXT] [--smooth X]`: the learning curves of one or more
// runs (success rate and episodic return against frames, lib/ppo/plot-svg.ts) overlaid in one SVG.
// Default output: RUN_DIR/curve.svg for one run, ./curve.svg for several.
// Subtle: a run is labelled by the path given (several runs often share a basename such as "final"),
// with its algorithm when its config.json says; a directory without metrics.jsonl exits 2.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Command } from 'commander';

import { GlamError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readJsonl } from '../ppo/jsonl-writer.js';
import { curveFromRecords, learningCurveSvg, type CurveRun } from '../ppo/plot-svg.js';
import { intFlag, runCommand, type CliIO } from './io.js';

interface PlotFlags {
  out?: string;
  title?: string;
  smooth?: string;
  width?: string;
  height?: string;
}

/** A run's curves from RUN/metrics.jsonl, labelled `label (algo)`. */
export function loadRunCurve(dir: string, label = dir.replace(/\/+$/, '')): CurveRun {
  const file = join(dir, 'metrics.jsonl');
  if (!existsSync(file)) throw new GlamError('ConfigMissing', `${file} does not exist: ${dir} is not a glam run directory`);
  let algo = '';
  try {
    algo = (JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { algo?: string }).algo ?? '';
  } catch {
    /* a run without config.json still plots */
  }
  return curveFromRecords(algo ? `${label} (${algo})` : label, readJsonl(file));
}

export async function plotCommand(dirs: string[], f: PlotFlags, io: CliIO): Promise<string> {
  if (dirs.length === 0) throw new GlamError('InvalidArgument', 'Expected at least one run directory');
  let smooth = 0;
  if (f.smooth !== undefined) {
    smooth = Number(f.smooth);
    if (f.smooth.trim() === '' || !(smooth >= 0 && smooth < 1)) throw new GlamError('InvalidArgument', `Expected a number in [0, 1) for --smooth but received '${f.smooth}'`);
  }
  const runs = dirs.map((d) => loadRunCurve(d));
  const out = f.out ?? (dirs.length === 1 ? join(dirs[0]!, 'curve.svg') : 'curve.svg');
  const svg = learningCurveSvg(runs, {
    title: f.title ?? (runs.length === 1 ? runs[0]!.label : `${runs.length} runs`), smooth,
    ...(f.width ? { width: intFlag('width', f.width, 200) } : {}), ...(f.height ? { height: intFlag('height', f.height, 200) } : {}),
  });
  writeFileAtomic(out, svg);
  const points = runs.reduce((n, r) => n + r.success.length, 0);
  io.out(`wrote ${out} (${runs.length} run${runs.length === 1 ? '' : 's'}, ${points} success-rate points)\n`);
  return out;
}

export function registerPlotCommand(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('plot')
    .description('learning curves (success rate and return against frames) of one or more runs as SVG')
    .argument('<run_dir...>', 'run directories (with metrics.jsonl)')
    .option('--out <file>', 'SVG file (default: RUN_DIR/curve.svg for one run, ./curve.svg for several)')
    .option('--title <text>', 'plot title')
    .option('--smooth <x>', 'exponential moving average weight in [0, 1), as TensorBoard (default 0: raw)')
    .option('--width <px>', 'width in pixels (default 760)')
    .option('--height <px>', 'height in pixels (default 600)')
    .action(async (dirs: string[], f: PlotFlags) => setExit(await runCommand(io, async () => void (await plotCommand(dirs, f, io)))));
}
