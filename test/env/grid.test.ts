// Grid encoding/decoding, rotation, slicing, MiniGrid's process_vis occlusion, and the env's fast
// 7×7 view against the slow slice → rotate → process_vis oracle.

import { describe, expect, it } from 'vitest';
import { Ball, Door, Grid, listLevels, makeEnv, Rng, Wall } from '../../lib/env/index.js';
import { GlamError } from '../../lib/errors.js';

function visible(mask: Uint8Array, h: number, x: number, y: number): boolean {
  return mask[x * h + y] === 1;
}

describe('Grid', () => {
  it('encodes empty as (1,0,0), objects by (type, color, state), column-major (x*H + y)*3 + k', () => {
    const g = new Grid(3, 4);
    g.set(2, 1, new Door('blue', false, true));
    g.set(0, 3, new Ball('yellow'));
    const e = g.encode();
    expect(Array.from(e.subarray((2 * 4 + 1) * 3, (2 * 4 + 1) * 3 + 3))).toEqual([4, 2, 2]);
    expect(Array.from(e.subarray((0 * 4 + 3) * 3, (0 * 4 + 3) * 3 + 3))).toEqual([6, 4, 0]);
    expect(Array.from(e.subarray(0, 3))).toEqual([1, 0, 0]);
  });

  it('round-trips through decode, with unseen cells masked out', () => {
    const g = new Grid(5, 5);
    g.wallRect(0, 0, 5, 5);
    g.set(2, 2, new Door('red', true));
    g.set(1, 3, new Ball('green'));
    const e = g.encode();
    const { grid, visMask } = Grid.decode(e, 5, 5);
    expect(Array.from(grid.encode())).toEqual(Array.from(e));
    expect(Array.from(visMask).every((v) => v === 1)).toBe(true);
    const masked = g.encode(new Uint8Array(25)); // nothing visible
    expect(Array.from(masked).every((v) => v === 0)).toBe(true);
    expect(Array.from(Grid.decode(masked, 5, 5).visMask).every((v) => v === 0)).toBe(true);
  });

  it('rotates counter-clockwise and slices with walls outside', () => {
    const g = new Grid(3, 4);
    const b = new Ball('red');
    g.set(2, 0, b);
    const r = g.rotateLeft();
    expect([r.width, r.height]).toEqual([4, 3]);
    expect(r.get(0, 0)).toBe(b); // (i, j) → (j, W-1-i)
    let back = r;
    for (let k = 0; k < 3; k++) back = back.rotateLeft();
    expect(back.get(2, 0)).toBe(b);
    const s = g.slice(1, -1, 3, 3);
    expect(s.get(0, 0)?.type).toBe('wall');
    expect(s.get(1, 1)).toBe(b);
    expect(s.get(2, 1)?.type).toBe('wall');
  });

  it('rejects out-of-range cells and bad sizes', () => {
    const g = new Grid(3, 3);
    expect(() => g.get(3, 0)).toThrow(GlamError);
    expect(() => g.set(0, -1, null)).toThrow(GlamError);
    expect(() => new Grid(2, 5)).toThrow(GlamError);
    expect(() => Grid.decode([1, 0, 0], 3, 3)).toThrow(GlamError);
  });
});

describe('processVis (MiniGrid occlusion sweep)', () => {
  it('sees everything in an empty view', () => {
    const g = new Grid(7, 7);
    const m = g.processVis(3, 6);
    expect(Array.from(m).every((v) => v === 1)).toBe(true);
  });

  it('a full wall row hides everything beyond it (the wall itself is seen)', () => {
    const g = new Grid(7, 7);
    g.horzWall(0, 3, 7);
    g.set(3, 1, new Ball('red'));
    const m = g.processVis(3, 6);
    for (let x = 0; x < 7; x++) {
      expect(visible(m, 7, x, 3)).toBe(true);
      for (let y = 0; y < 3; y++) expect(visible(m, 7, x, y)).toBe(false);
    }
    expect(g.get(3, 1)).toBeNull(); // invisible cells are cleared
  });

  it('a wall column hides the columns behind it', () => {
    const g = new Grid(7, 7);
    g.vertWall(1, 0, 7);
    const m = g.processVis(3, 6);
    for (let y = 0; y < 7; y++) {
      expect(visible(m, 7, 0, y)).toBe(false);
      expect(visible(m, 7, 1, y)).toBe(true);
    }
  });

  it('lights cells around a single occluder (a sweep, not ray casting)', () => {
    const g = new Grid(7, 7);
    g.set(3, 5, new Wall());
    const m = g.processVis(3, 6);
    expect(visible(m, 7, 3, 4)).toBe(true);
    expect(visible(m, 7, 3, 0)).toBe(true);
  });

  it('closed doors occlude, open doors do not', () => {
    const closed = new Grid(7, 7);
    closed.horzWall(0, 4, 7);
    closed.set(3, 4, new Door('red'));
    const mc = closed.processVis(3, 6);
    expect(visible(mc, 7, 3, 3)).toBe(false);
    const open = new Grid(7, 7);
    open.horzWall(0, 4, 7);
    open.set(3, 4, new Door('red', true));
    const mo = open.processVis(3, 6);
    expect(visible(mo, 7, 3, 3)).toBe(true);
    expect(visible(mo, 7, 2, 3)).toBe(true);
    expect(visible(mo, 7, 3, 0)).toBe(true);
  });
});

describe('fast view = slow oracle', () => {
  it('matches genObsGrid().grid.encode(visMask) along random play in every level', () => {
    const rng = new Rng(7);
    let checked = 0;
    for (const id of listLevels()) {
      for (let seed = 0; seed < 6; seed++) {
        const env = makeEnv(id, { seed, text: false });
        env.reset();
        for (let t = 0; t < 60; t++) {
          const fast = new Uint8Array(147);
          env.writeView(fast);
          const { grid, visMask } = env.genObsGrid();
          expect(Array.from(fast), `${id} seed ${seed} t ${t}`).toEqual(Array.from(grid.encode(visMask)));
          checked++;
          const r = env.step(rng.randInt(0, 7));
          if (r.done) env.reset();
        }
      }
    }
    expect(checked).toBe(listLevels().length * 6 * 60);
  });

  it('agrees with getViewCoords for every visible cell', () => {
    const env = makeEnv('BabyAI-GoToLocal-v0', { seed: 3, text: false });
    env.reset();
    for (let t = 0; t < 40; t++) {
      for (let x = 0; x < env.width; x++) {
        for (let y = 0; y < env.height; y++) {
          const rc = env.relativeCoords(x, y);
          if (rc === null) continue;
          const view = new Uint8Array(147);
          env.writeView(view);
          const o = (rc[0] * 7 + rc[1]) * 3;
          if (view[o] === 0 || (rc[0] === 3 && rc[1] === 6)) continue;
          const cell = env.grid.get(x, y);
          expect(view[o]).toBe(cell === null ? 1 : cell.typeIdx);
        }
      }
      env.step(t % 3 === 0 ? 0 : 2);
    }
  });
});
