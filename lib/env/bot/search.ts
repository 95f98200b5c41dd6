// The bot's path planning over its own map: breadth-first search from the agent's pose through the
// cells it has seen, BabyAI's two-pass "prefer paths without blockers" shortest path, and the search
// for a cell where an object can be dropped without cutting the room in two.
// Layouts: cells are indexed p = y*W + x, like Grid.cells; `vis` (W*H) is 1 for cells the bot has seen.
// Subtle points, all as MiniGrid's baby_ai_bot.py does them (the bot's behaviour depends on them):
// - The acceptance test runs on every dequeued cell, seen or not, walls included; only seen cells are
//   expanded, and never walls or closed doors. Without `ignoreBlockers`, no object cell is expanded.
// - Neighbours are queued as (d), (d reflected: dy, dx), (-dy, -dx), (-d) where d is the direction
//   the cell was entered with, so paths prefer going straight; "first time dequeued wins". Here a cell
//   is marked when first queued, which dequeues cells in the same order with the same parents.
// - The blocker pass restarts from every cell the first pass reached, all facing east, in the order
//   the first pass reached them, and the path is stitched onto the first pass's path to that cell.

import type { WorldObj } from '../world-object.js';
import type { Grid } from '../grid.js';

/** Acceptance test of a search: cell p = y*W + x holding `cell` (null: empty). */
export type Accept = (p: number, cell: WorldObj | null) => boolean;

export interface PathResult {
  /** Cells to walk through, first step first, the accepted cell last ([] when the agent's cell was accepted). */
  path: number[];
  /** The accepted cell. */
  finish: number;
  /** Whether the path goes through objects that must be moved out of the way. */
  withBlockers: boolean;
}

const UNVISITED = -2;
const ROOT = -1;

export class PathFinder {
  readonly width: number;
  readonly height: number;
  /** (W*H) parent cell in the first / blocker pass; ROOT for start cells, UNVISITED otherwise. */
  readonly #prev: Int32Array;
  readonly #prev2: Int32Array;
  /** (W*H, 3) queue of (cell, dx, dy). */
  readonly #queue: Int32Array;
  /** (W*H) cells of the first pass in the order they were reached. */
  readonly #order: Int32Array;
  #orderLen = 0;
  /** Searches run (as MiniGrid's bfs_counter). */
  searches = 0;

  constructor(width: number, height: number) {
    this.width = width;
    this.height = height;
    const n = width * height;
    this.#prev = new Int32Array(n);
    this.#prev2 = new Int32Array(n);
    this.#queue = new Int32Array(n * 3);
    this.#order = new Int32Array(n);
  }

  /**
   * BFS from `starts` (cells, all facing (sdx, sdy) unless `startDir` gives one per start); returns the
   * first accepted cell or -1, leaving parents in `prev` (and the visit order in #order when `record`).
   */
  #bfs(
    grid: Grid, vis: Uint8Array, prev: Int32Array, starts: ArrayLike<number>, nStarts: number,
    sdx: number, sdy: number, accept: Accept, ignoreBlockers: boolean, record: boolean,
  ): number {
    this.searches++;
    const W = this.width;
    const H = this.height;
    const cells = grid.cells;
    const q = this.#queue;
    const order = this.#order;
    prev.fill(UNVISITED);
    let head = 0;
    let tail = 0;
    let nOrder = 0;
    for (let s = 0; s < nStarts; s++) {
      const p = starts[s]!;
      if (prev[p] !== UNVISITED) continue;
      prev[p] = ROOT;
      q[tail++] = p;
      q[tail++] = sdx;
      q[tail++] = sdy;
      if (record) order[nOrder++] = p;
    }
    while (head < tail) {
      const p = q[head++]!;
      const dx = q[head++]!;
      const dy = q[head++]!;
      const cell = cells[p]!;
      if (accept(p, cell)) {
        if (record) this.#orderLen = nOrder;
        return p;
      }
      if (vis[p] === 0) continue;
      if (cell !== null) {
        if (cell.type === 'wall') continue;
        if (cell.type === 'door') {
          if (!cell.canOverlap()) continue;
        } else if (!ignoreBlockers) {
          continue;
        }
      }
      const x = p % W;
      const y = (p - x) / W;
      for (let k = 0; k < 4; k++) {
        // (dx, dy), (dy, dx), (-dy, -dx), (-dx, -dy)
        const nx = k === 0 ? dx : k === 1 ? dy : k === 2 ? -dy : -dx;
        const ny = k === 0 ? dy : k === 1 ? dx : k === 2 ? -dx : -dy;
        const x2 = x + nx;
        const y2 = y + ny;
        if (x2 < 0 || y2 < 0 || x2 >= W || y2 >= H) continue;
        const p2 = y2 * W + x2;
        if (prev[p2] !== UNVISITED) continue;
        prev[p2] = p;
        q[tail++] = p2;
        q[tail++] = nx;
        q[tail++] = ny;
        if (record) order[nOrder++] = p2;
      }
    }
    if (record) this.#orderLen = nOrder;
    return -1;
  }

  /**
   * Shortest path from the agent (cell `start`, facing (dx, dy)) to any accepted cell; with
   * `tryWithBlockers`, falls back to paths through movable objects. null when nothing is accepted.
   */
  shortestPath(
    grid: Grid, vis: Uint8Array, start: number, dx: number, dy: number, accept: Accept, tryWithBlockers = false,
  ): PathResult | null {
    const prev = this.#prev;
    const startArr = [start];
    const finish = this.#bfs(grid, vis, prev, startArr, 1, dx, dy, accept, false, true);
    if (finish >= 0) return { path: walk(prev, finish), finish, withBlockers: false };
    if (!tryWithBlockers) return null;
    const prev2 = this.#prev2;
    const finish2 = this.#bfs(grid, vis, prev2, this.#order, this.#orderLen, 1, 0, accept, true, false);
    if (finish2 < 0) return null;
    // finish2 → junction (a cell the first pass reached) in prev2, then junction → the agent in prev.
    let junction = finish2;
    while (prev2[junction] !== ROOT) junction = prev2[junction]!;
    const path = walk(prev, junction).concat(walk(prev2, finish2));
    return { path, finish: finish2, withBlockers: true };
  }
}

/** Cells from the root's first step to `p`, following parents (the root itself excluded). */
function walk(prev: Int32Array, p: number): number[] {
  const out: number[] = [];
  for (let c = p; prev[c] !== ROOT; c = prev[c]!) out.push(c);
  out.reverse();
  return out;
}
