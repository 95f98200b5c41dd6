// The grid of cells (MiniGrid's grid.py): storage, walls, encoding, slicing, rotation and the
// occlusion pass `processVis`.
// Layouts (all flat, column-major like numpy's [i][j][k] on a (width, height, 3) array):
//   cells    (W*H)        cell (x, y) at y*W + x   (MiniGrid's own list order)
//   encoding (W, H, 3)    channel k of (x, y) at (x*H + y)*3 + k   → uint8 (type, color, state)
//   mask     (W, H)       (x, y) at x*H + y
// Subtle: `processVis` is MiniGrid's exact sweep (rows far-from-agent last, a left→right then a
// right→left pass per row, each visible see-through cell lighting its side and diagonal-up
// neighbours). It is NOT a ray cast: cells can be lit around corners, and it mutates the grid by
// clearing every invisible cell, as MiniGrid does. The env's hot path re-implements it on a 7×7
// scratch (minigrid-env.ts); this version is the slow oracle the tests compare against.

import { OBJECT_TO_IDX } from './constants.js';
import { GlamError } from '../errors.js';
import { Wall, decodeObject, type WorldObj } from './world-object.js';

export class Grid {
  readonly width: number;
  readonly height: number;
  /** (W*H) cell (x, y) at y*W + x; null is an empty cell. */
  readonly cells: (WorldObj | null)[];

  constructor(width: number, height: number) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 3 || height < 3) {
      throw new GlamError('InvalidArgument', `Expected grid width and height to be integers >= 3 but received ${width}x${height}`);
    }
    this.width = width;
    this.height = height;
    this.cells = new Array<WorldObj | null>(width * height).fill(null);
  }

  inBounds(x: number, y: number): boolean {
    return x >= 0 && x < this.width && y >= 0 && y < this.height;
  }

  get(x: number, y: number): WorldObj | null {
    if (!this.inBounds(x, y)) throw new GlamError('InvalidArgument', `Cell (${x}, ${y}) is outside the ${this.width}x${this.height} grid`);
    return this.cells[y * this.width + x]!;
  }

  set(x: number, y: number, v: WorldObj | null): void {
    if (!this.inBounds(x, y)) throw new GlamError('InvalidArgument', `Cell (${x}, ${y}) is outside the ${this.width}x${this.height} grid`);
    this.cells[y * this.width + x] = v;
  }

  horzWall(x: number, y: number, length: number = this.width - x): void {
    for (let i = 0; i < length; i++) this.set(x + i, y, new Wall());
  }

  vertWall(x: number, y: number, length: number = this.height - y): void {
    for (let j = 0; j < length; j++) this.set(x, y + j, new Wall());
  }

  wallRect(x: number, y: number, w: number, h: number): void {
    this.horzWall(x, y, w);
    this.horzWall(x, y + h - 1, w);
    this.vertWall(x, y, h);
    this.vertWall(x + w - 1, y, h);
  }

  /** Counter-clockwise rotation: (i, j) → (j, W-1-i) in a new H×W grid (objects shared, not copied). */
  rotateLeft(): Grid {
    const g = new Grid(this.height, this.width);
    for (let i = 0; i < this.width; i++) {
      for (let j = 0; j < this.height; j++) g.set(j, g.height - 1 - i, this.get(i, j));
    }
    return g;
  }

  /** Sub-grid with top-left corner (topX, topY); cells outside this grid become (new) grey walls. */
  slice(topX: number, topY: number, width: number, height: number): Grid {
    const g = new Grid(width, height);
    for (let j = 0; j < height; j++) {
      for (let i = 0; i < width; i++) {
        const x = topX + i;
        const y = topY + j;
        g.set(i, j, this.inBounds(x, y) ? this.get(x, y) : new Wall());
      }
    }
    return g;
  }

  /**
   * (W, H, 3) uint8 encoding; with `visMask` ((W, H), x*H + y), invisible cells stay (0, 0, 0) = unseen.
   * Empty visible cells are (1, 0, 0).
   */
  encode(visMask?: Uint8Array): Uint8Array {
    const { width: W, height: H } = this;
    const out = new Uint8Array(W * H * 3);
    for (let x = 0; x < W; x++) {
      for (let y = 0; y < H; y++) {
        if (visMask !== undefined && visMask[x * H + y] === 0) continue;
        const o = (x * H + y) * 3;
        const v = this.cells[y * W + x]!;
        if (v === null) {
          out[o] = OBJECT_TO_IDX.empty;
        } else {
          out[o] = v.typeIdx;
          out[o + 1] = v.colorIdx;
          out[o + 2] = v.stateIdx();
        }
      }
    }
    return out;
  }

  /** Inverse of `encode`: a grid of fresh objects plus the mask of cells that were not unseen. */
  static decode(array: ArrayLike<number>, width: number, height: number): { grid: Grid; visMask: Uint8Array } {
    if (array.length !== width * height * 3) {
      throw new GlamError('InvalidArgument', `Grid encoding has ${array.length} values but a ${width}x${height} grid needs ${width * height * 3}`);
    }
    const grid = new Grid(width, height);
    const visMask = new Uint8Array(width * height);
    for (let x = 0; x < width; x++) {
      for (let y = 0; y < height; y++) {
        const o = (x * height + y) * 3;
        const obj = decodeObject(array[o]!, array[o + 1]!, array[o + 2]!);
        if (obj !== null) obj.initPos = obj.curPos = [x, y];
        grid.set(x, y, obj);
        visMask[x * height + y] = array[o] !== OBJECT_TO_IDX.unseen ? 1 : 0;
      }
    }
    return { grid, visMask };
  }

  /**
   * MiniGrid's process_vis from the agent cell (ax, ay): returns the (W, H) visibility mask
   * (x*H + y) and clears every invisible cell of this grid.
   */
  processVis(ax: number, ay: number): Uint8Array {
    const { width: W, height: H } = this;
    const mask = new Uint8Array(W * H);
    const m = (x: number, y: number): number => x * H + y;
    mask[m(ax, ay)] = 1;
    for (let j = H - 1; j >= 0; j--) {
      for (let i = 0; i < W - 1; i++) {
        if (!mask[m(i, j)]) continue;
        const cell = this.get(i, j);
        if (cell !== null && !cell.seeBehind()) continue;
        mask[m(i + 1, j)] = 1;
        if (j > 0) {
          mask[m(i + 1, j - 1)] = 1;
          mask[m(i, j - 1)] = 1;
        }
      }
      for (let i = W - 1; i >= 1; i--) {
        if (!mask[m(i, j)]) continue;
        const cell = this.get(i, j);
        if (cell !== null && !cell.seeBehind()) continue;
        mask[m(i - 1, j)] = 1;
        if (j > 0) {
          mask[m(i - 1, j - 1)] = 1;
          mask[m(i, j - 1)] = 1;
        }
      }
    }
    for (let j = 0; j < H; j++) {
      for (let i = 0; i < W; i++) if (!mask[m(i, j)]) this.set(i, j, null);
    }
    return mask;
  }
}
