// The hand-written learning-curve SVG: well-formed XML (checked by xml-check.ts: one root, balanced tags,
// quoted unique attributes, escaped text), one polyline per run per series, ticks, legend, escaping.
import { describe, expect, test } from 'vitest';

import {
  curveFromRecords, escapeXml, formatFrames, learningCurveSvg, niceRange, niceTicks, smoothPoints, type CurveRun,
} from '../../lib/ppo/plot-svg.js';
import { checkXml } from './xml-check.js';

const curve = (n: number, f: (k: number) => number) => Array.from({ length: n }, (_, k) => ({ frames: (k + 1) * 512, value: f(k) }));

describe('learningCurveSvg', () => {
  const runs: CurveRun[] = [
    { label: 'ppo <small> & "fast"', success: curve(20, (k) => k / 19), return: curve(20, (k) => 0.8 * (k / 19)), source: 'train' },
    { label: 'bc', success: curve(3, (k) => 0.2 * k), return: curve(3, (k) => 0.1 * k), source: 'eval' },
  ];

  test('is well-formed XML with one polyline per run per series, axes, ticks and a legend', () => {
    const svg = learningCurveSvg(runs, { title: 'GoTo <RedBall>' });
    expect(checkXml(svg).root).toBe('svg');
    const polylines = svg.match(/<polyline [^>]*>/g) ?? [];
    expect(polylines).toHaveLength(4);
    for (const series of ['success', 'return']) {
      for (const run of [0, 1]) {
        const p = polylines.filter((l) => l.includes(`class="series ${series}"`) && l.includes(`data-run="${run}"`));
        expect(p).toHaveLength(1);
        const pts = /points="([^"]*)"/.exec(p[0]!)![1]!.split(' ');
        expect(pts).toHaveLength(run === 0 ? 20 : 3);
        for (const xy of pts) expect(xy).toMatch(/^-?\d+(\.\d+)?,-?\d+(\.\d+)?$/);
      }
    }
    expect(svg).toContain('GoTo &lt;RedBall&gt;');
    expect(svg).toContain('ppo &lt;small&gt; &amp; &quot;fast&quot;');
    expect(svg).toContain('bc (greedy eval)');
    expect(svg).toContain('>success rate<');
    expect(svg).toContain('>episodic return<');
    expect(svg).toContain('>environment frames<');
    for (const t of ['0', '0.2', '0.4', '0.6', '0.8', '1']) expect(svg).toContain(`>${t}</text>`);
    for (const t of ['0', '2k', '4k', '10k', '12k']) expect(svg).toContain(`>${t}</text>`); // frames up to 10240: one unit per axis
  });

  test('success polyline is monotone in x and spans the panel in y', () => {
    const svg = learningCurveSvg(runs.slice(0, 1));
    const line = /<polyline class="series success"[^>]*points="([^"]*)"/.exec(svg)![1]!;
    const pts = line.split(' ').map((s) => s.split(',').map(Number) as [number, number]);
    for (let k = 1; k < pts.length; k++) {
      expect(pts[k]![0]).toBeGreaterThan(pts[k - 1]![0]);
      expect(pts[k]![1]).toBeLessThan(pts[k - 1]![1]); // rising success = smaller y
    }
  });

  test('empty and one-point series', () => {
    const svg = learningCurveSvg([
      { label: 'nothing yet', success: [], return: [] },
      { label: 'one', success: [{ frames: 100, value: 0.5 }], return: [{ frames: 100, value: 0.3 }] },
    ]);
    checkXml(svg);
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg.match(/<circle /g)).toHaveLength(2);
    expect(svg).toContain('nothing yet (no data)');
  });
});

test('curveFromRecords reads training metrics, else greedy evaluation, skipping updates without a value', () => {
  const ppo = curveFromRecords('a', [
    { step: 512, update: 1, 'losses/value_loss': 1 },
    { step: 1024, update: 2, 'charts/success_rate': 0.5, 'charts/episodic_return': 0.4 },
    { step: 1536, update: 3, 'charts/success_rate': null },
  ]);
  expect(ppo.source).toBe('train');
  expect(ppo.success).toEqual([{ frames: 1024, value: 0.5 }]);
  expect(ppo.return).toEqual([{ frames: 1024, value: 0.4 }]);
  const bc = curveFromRecords('b', [{ step: 10, 'losses/bc_loss': 1 }, { step: 20, 'eval/success_rate': 0.25, 'eval/episodic_return': 0.2 }]);
  expect(bc.source).toBe('eval');
  expect(bc.success).toEqual([{ frames: 20, value: 0.25 }]);
});

test('ticks, ranges, labels, smoothing, escaping', () => {
  expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  expect(niceTicks(0, 102400, 6)).toEqual([0, 20000, 40000, 60000, 80000, 100000]);
  expect(niceRange(0, 5120, 6)).toEqual([0, 6000]);
  expect(niceRange(-0.3, 0.9, 4)).toEqual([-0.5, 1]);
  expect(formatFrames(512)).toBe('512');
  expect(formatFrames(20000)).toBe('20k');
  expect(formatFrames(2000, 12000)).toBe('2k');
  expect(formatFrames(1_500_000)).toBe('1.5M');
  expect(escapeXml(`<a & 'b'>`)).toBe('&lt;a &amp; &apos;b&apos;&gt;');
  const raw = [{ frames: 1, value: 1 }, { frames: 2, value: 0 }, { frames: 3, value: 1 }];
  expect(smoothPoints(raw, 0)).toEqual(raw);
  const s = smoothPoints(raw, 0.5);
  expect(s[0]!.value).toBeCloseTo(1); // debiased: the first point is the value itself
  expect(s[1]!.value).toBeCloseTo(1 / 3);
  expect(() => learningCurveSvg([], { smooth: 1 })).toThrow(RangeError);
});

test('checkXml rejects malformed documents', () => {
  expect(() => checkXml('<svg><g></svg>')).toThrow();
  expect(() => checkXml('<svg a="1" a="2"/>')).toThrow();
  expect(() => checkXml('<svg>a & b</svg>')).toThrow();
  expect(() => checkXml('<svg/><svg/>')).toThrow();
  expect(() => checkXml('<svg x=1/>')).toThrow();
  expect(checkXml('<?xml version="1.0"?>\n<svg><text>a &amp; b</text></svg>').elements).toBe(2);
});
