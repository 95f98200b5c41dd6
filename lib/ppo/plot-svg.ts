// Learning curves as SVG, written by hand (no plotting dependency): success rate and episodic return
// against environment frames, one colour per run, two stacked panels sharing the frames axis, axes with
// "nice" ticks (1, 2, 5 x 10^k) and labels, a legend. `glam train` writes one into each run directory;
// `glam plot RUN_DIR...` overlays several runs.
//
// Subtle:
// - A run's series come from its metrics.jsonl records ({"step": frames, ...}): the training metrics
//   charts/success_rate and charts/episodic_return when the run has them (PPO), else the periodic greedy
//   evaluation eval/success_rate and eval/episodic_return (behaviour cloning); the legend says which.
//   Updates where no episode finished have no value and are skipped, not drawn as zeros.
// - Exactly one <polyline> per run per series that has points (class "series success" / "series return",
//   data-run = the run's index), so tests and tools can find them; a series with a single point also gets
//   a dot, since a one-point polyline draws nothing. A run with no point in a series says "(no data)".
// - Every text is XML-escaped (run names are paths); coordinates are rounded to 0.01 px.
// - smooth in [0, 1) is TensorBoard's debiased exponential moving average (0 = raw values, the default).

/** One point of a curve: environment frames (x) and the metric (y). */
export interface CurvePoint {
  readonly frames: number;
  readonly value: number;
}

/** What one run contributes to the plot. */
export interface CurveRun {
  readonly label: string;
  readonly success: readonly CurvePoint[];
  readonly return: readonly CurvePoint[];
  /** Where the series come from: 'train' (charts/*) or 'eval' (eval/*, greedy evaluation). */
  readonly source?: 'train' | 'eval';
}

export interface PlotOptions {
  readonly title?: string;
  /** Total size in px (default 760 x 600). */
  readonly width?: number;
  readonly height?: number;
  /** EMA weight in [0, 1) (default 0: raw values). */
  readonly smooth?: number;
}

/** Tableau 10: distinguishable, colour-blind-friendlier than pure hues. */
export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'] as const;

/** Escapes the five XML special characters. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Ticks at multiples of 1, 2 or 5 x 10^k covering [lo, hi], about `count` of them (lo < hi). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  const out: number[] = [];
  const first = Math.ceil(lo / step - 1e-9);
  for (let k = first; k * step <= hi + step * 1e-9; k++) out.push(Number((k * step).toPrecision(12)));
  return out;
}

/** The axis range rounded outwards to the tick step: [0, 1234] -> [0, 1400]. */
export function niceRange(lo: number, hi: number, count = 5): [number, number] {
  if (!(hi > lo)) return [lo, lo + 1];
  const t = niceTicks(lo, hi, count);
  const step = t.length > 1 ? t[1]! - t[0]! : hi - lo;
  return [Math.floor(lo / step + 1e-9) * step, Math.ceil(hi / step - 1e-9) * step];
}

/** Frames as a short label: 0, 512, 10k, 1.5M; `scale` forces the unit (an axis labels all ticks alike). */
export function formatFrames(n: number, scale = Math.abs(n)): string {
  const trim = (x: number) => String(Number(x.toFixed(2)));
  if (scale >= 1e9) return `${trim(n / 1e9)}G`;
  if (scale >= 1e6) return `${trim(n / 1e6)}M`;
  if (scale >= 1e4) return `${trim(n / 1e3)}k`;
  return trim(n);
}

function formatValue(v: number): string {
  return String(Number(v.toFixed(3)));
}

/** TensorBoard's smoothing: debiased EMA with weight w (w = 0 returns the values unchanged). */
export function smoothPoints(points: readonly CurvePoint[], w: number): CurvePoint[] {
  if (!(w > 0)) return points.slice();
  let last = 0;
  let num = 0;
  return points.map((p) => {
    last = last * w + (1 - w) * p.value;
    num += 1;
    return { frames: p.frames, value: last / (1 - w ** num) };
  });
}

const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * A run's curves from its metrics.jsonl records: charts/success_rate and charts/episodic_return when
 * present (training), else eval/success_rate and eval/episodic_return (greedy evaluation).
 */
export function curveFromRecords(label: string, records: readonly unknown[]): CurveRun {
  const rows = records.filter((r): r is Record<string, unknown> => r !== null && typeof r === 'object' && num((r as Record<string, unknown>).step));
  const series = (key: string): CurvePoint[] => rows.filter((r) => num(r[key])).map((r) => ({ frames: r.step as number, value: r[key] as number }));
  const train = { success: series('charts/success_rate'), return: series('charts/episodic_return') };
  if (train.success.length > 0 || train.return.length > 0) return { label, ...train, source: 'train' };
  const ev = { success: series('eval/success_rate'), return: series('eval/episodic_return') };
  if (ev.success.length > 0 || ev.return.length > 0) return { label, ...ev, source: 'eval' };
  return { label, success: [], return: [], source: 'train' };
}

const r2 = (v: number) => String(Math.round(v * 100) / 100);

interface Panel {
  key: 'success' | 'return';
  title: string;
  top: number;
  height: number;
  y: [number, number];
}

/** The learning-curve SVG document for `runs` (at least one). */
export function learningCurveSvg(runs: readonly CurveRun[], opts: PlotOptions = {}): string {
  const W = opts.width ?? 760;
  const H = opts.height ?? 600;
  const smooth = opts.smooth ?? 0;
  if (!(smooth >= 0 && smooth < 1)) throw new RangeError(`smooth must be in [0, 1), got ${smooth}`);
  const data = runs.map((r) => ({ ...r, success: smoothPoints(r.success, smooth), return: smoothPoints(r.return, smooth) }));

  // --- layout: title, legend rows, two panels, frames axis
  const left = 70, right = 24, titleH = 34;
  const legendRows = Math.max(1, data.length);
  const legendH = legendRows * 18 + 8;
  const bottom = 46;
  const gap = 44;
  const plotW = W - left - right;
  const panelsTop = titleH + legendH + 8;
  const panelH = Math.max(60, (H - panelsTop - bottom - gap) / 2);

  // --- ranges: frames from 0 to the largest frame count; success in [0, 1]; return spans its data (and 0)
  let maxFrames = 0;
  let rLo = 0, rHi = 0;
  for (const r of data) {
    for (const p of [...r.success, ...r.return]) maxFrames = Math.max(maxFrames, p.frames);
    for (const p of r.return) { rLo = Math.min(rLo, p.value); rHi = Math.max(rHi, p.value); }
  }
  const [x0, x1] = niceRange(0, maxFrames > 0 ? maxFrames : 1, 6);
  const panels: Panel[] = [
    { key: 'success', title: 'success rate', top: panelsTop, height: panelH, y: [0, 1] },
    { key: 'return', title: 'episodic return', top: panelsTop + panelH + gap, height: panelH, y: rHi > rLo ? niceRange(rLo, rHi, 4) : [0, 1] },
  ];
  const sx = (f: number) => left + ((f - x0) / (x1 - x0)) * plotW;

  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${r2(W / 2)}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(opts.title ?? 'learning curve')}</text>`);

  // --- legend: one row per run, colour swatch + label
  out.push(`<g class="legend">`);
  data.forEach((r, i) => {
    const y = titleH + 4 + i * 18;
    const colour = PALETTE[i % PALETTE.length]!;
    const empty = r.success.length === 0 && r.return.length === 0;
    const note = empty ? ' (no data)' : r.source === 'eval' ? ' (greedy eval)' : '';
    out.push(`<line x1="${left}" y1="${y + 6}" x2="${left + 24}" y2="${y + 6}" stroke="${colour}" stroke-width="3"/>`);
    out.push(`<text x="${left + 30}" y="${y + 10}">${escapeXml(r.label + note)}</text>`);
  });
  out.push(`</g>`);

  for (const p of panels) {
    // 6 px inside the axes so that values at the range's ends (success 0 or 1) do not hide under them
    const pad = 6;
    const sy = (v: number) => p.top + p.height - pad - ((v - p.y[0]) / (p.y[1] - p.y[0])) * (p.height - 2 * pad);
    out.push(`<g class="panel ${p.key}">`);
    // grid and ticks
    for (const t of niceTicks(p.y[0], p.y[1], p.key === 'success' ? 5 : 4)) {
      const y = r2(sy(t));
      out.push(`<line x1="${left}" y1="${y}" x2="${left + plotW}" y2="${y}" stroke="#e5e5e5"/>`);
      out.push(`<text x="${left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeXml(formatValue(t))}</text>`);
    }
    const xTicks = niceTicks(x0, x1, 6);
    const xScale = Math.max(...xTicks.map(Math.abs));
    for (const t of xTicks) {
      const x = r2(sx(t));
      out.push(`<line x1="${x}" y1="${p.top}" x2="${x}" y2="${p.top + p.height}" stroke="#f0f0f0"/>`);
      out.push(`<line x1="${x}" y1="${r2(p.top + p.height)}" x2="${x}" y2="${r2(p.top + p.height + 5)}" stroke="#333333"/>`);
      out.push(`<text x="${x}" y="${r2(p.top + p.height + 18)}" text-anchor="middle">${escapeXml(formatFrames(t, xScale))}</text>`);
    }
    // axes
    out.push(`<line x1="${left}" y1="${p.top}" x2="${left}" y2="${r2(p.top + p.height)}" stroke="#333333"/>`);
    out.push(`<line x1="${left}" y1="${r2(p.top + p.height)}" x2="${left + plotW}" y2="${r2(p.top + p.height)}" stroke="#333333"/>`);
    const cy = r2(p.top + p.height / 2);
    out.push(`<text x="18" y="${cy}" text-anchor="middle" transform="rotate(-90 18 ${cy})">${escapeXml(p.title)}</text>`);
    // series
    data.forEach((r, i) => {
      const pts = r[p.key];
      if (pts.length === 0) return;
      const colour = PALETTE[i % PALETTE.length]!;
      const coords = pts.map((q) => `${r2(sx(q.frames))},${r2(sy(q.value))}`).join(' ');
      out.push(`<polyline class="series ${p.key}" data-run="${i}" fill="none" stroke="${colour}" stroke-width="2" stroke-linejoin="round" points="${coords}"/>`);
      if (pts.length === 1) out.push(`<circle cx="${r2(sx(pts[0]!.frames))}" cy="${r2(sy(pts[0]!.value))}" r="3" fill="${colour}"/>`);
    });
    out.push(`</g>`);
  }
  out.push(`<text x="${r2(left + plotW / 2)}" y="${H - 8}" text-anchor="middle">environment frames</text>`);
  out.push(`</svg>`);
  return out.join('\n') + '\n';
}
