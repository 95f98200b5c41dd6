// Test helpers: build replay states from small ASCII maps.
// A map row has 2 characters per cell: type then colour.
//   types: W wall, K key, A ball, X box, D closed door, L locked door, O open door, G goal, V lava;
//   colours: r red, g green, b blue, p purple, y yellow, e grey; ".." or "  " empty;
//   agent: ">>" east, "vv" south, "<<" west, "^^" north (on an empty cell).

import type { EnvState } from '../../lib/env/index.js';

const TYPES: Record<string, number> = { W: 2, D: 4, L: 4, O: 4, K: 5, A: 6, X: 7, G: 8, V: 9 };
const COLORS: Record<string, number> = { r: 0, g: 1, b: 2, p: 3, y: 4, e: 5 };
const DIRS: Record<string, number> = { '>': 0, v: 1, '<': 2, '^': 3 };

export function stateFromMap(rows: readonly string[], mission: string, extra: Partial<EnvState> = {}): EnvState {
  const height = rows.length;
  const width = rows[0]!.length / 2;
  const grid: number[][][] = [];
  let agent: EnvState['agent'] | null = null;
  for (let x = 0; x < width; x++) {
    const col: number[][] = [];
    for (let y = 0; y < height; y++) {
      const cell = rows[y]!.slice(2 * x, 2 * x + 2);
      if (cell[0]! in DIRS) {
        agent = { pos: [x, y], dir: DIRS[cell[0]!]! };
        col.push([1, 0, 0]);
      } else if (cell === '..' || cell === '  ') {
        col.push([1, 0, 0]);
      } else {
        const t = TYPES[cell[0]!];
        const c = COLORS[cell[1]!] ?? 5;
        if (t === undefined) throw new Error(`bad map cell "${cell}"`);
        const s = cell[0] === 'D' ? 1 : cell[0] === 'L' ? 2 : 0;
        col.push([t, t === 8 ? 1 : t === 9 ? 0 : c, s]);
      }
    }
    grid.push(col);
  }
  if (agent === null) throw new Error('map has no agent');
  return { level: 'Test', language: 'english', width, height, grid, agent, carrying: null, mission, max_steps: 64, ...extra };
}

/** An 8×8 room (walls around) from the 6 inner rows of 6 cells each. */
export function room8(inner: readonly string[], mission: string, extra: Partial<EnvState> = {}): EnvState {
  const wall = 'We'.repeat(8);
  return stateFromMap([wall, ...inner.map((r) => `We${r}We`), wall], mission, extra);
}
