// The agent's egocentric 7×7 view, computed in place (the env's hot path).
// Layout: out[offset + (i*7 + j)*3 + k], i column left→right, j row far (0) → near (6), k = (type,
// color, state); the agent sits at (3, 6) looking "up".
// Subtle: this must equal MiniGrid's gen_obs_grid + encode(vis_mask) exactly (slice the square in
// front, rotate it dir+1 times counter-clockwise, run process_vis from (3, 6), draw the carried object
// in the agent cell). Instead of building and rotating grids we map each view cell straight to its
// world cell: (i, j) ↦ agent + forward·(6 - j) + right·(i - 3); cells outside the grid read as
// walls. The occlusion sweep is MiniGrid's, not a ray cast. MiniGridEnv.genObsGrid keeps the literal
// slow path, and test/env/grid.test.ts checks both agree along random play in every level.

import { AGENT_VIEW_SIZE, DIR_TO_VEC, OBJECT_TO_IDX } from './constants.js';
import { GlamError } from '../errors.js';
import type { Grid } from './grid.js';
import { Wall, type WorldObj } from './world-object.js';

const VIEW = AGENT_VIEW_SIZE;
const VIEW_CELLS = VIEW * VIEW;
/** One shared out-of-grid wall (only ever encoded, never placed). */
const OUTSIDE = new Wall();

/**
 * Writes the view of an agent at (ax, ay) facing `dir` into out[offset .. offset+147).
 * @param objs (7*7) scratch for the cells' objects, i*7 + j
 * @param mask (7*7) scratch for the visibility mask, i*7 + j
 */
export function writeEgoView(
  out: Uint8Array,
  offset: number,
  grid: Grid,
  ax: number,
  ay: number,
  dir: number,
  carrying: WorldObj | null,
  objs: (WorldObj | null)[],
  mask: Uint8Array,
): void {
  const [dx, dy] = DIR_TO_VEC[dir]!;
  const rx = -dy;
  const ry = dx;
  const W = grid.width;
  const H = grid.height;
  const cells = grid.cells;
  const hs = VIEW >> 1;
  for (let i = 0; i < VIEW; i++) {
    for (let j = 0; j < VIEW; j++) {
      const ahead = VIEW - 1 - j;
      const x = ax + dx * ahead + rx * (i - hs);
      const y = ay + dy * ahead + ry * (i - hs);
      objs[i * VIEW + j] = x >= 0 && x < W && y >= 0 && y < H ? cells[y * W + x]! : OUTSIDE;
    }
  }
  processVisInto(objs, mask, hs, VIEW - 1);
  const agentCell = hs * VIEW + (VIEW - 1);
  for (let c = 0; c < VIEW_CELLS; c++) {
    const o = offset + c * 3;
    if (mask[c] === 0) {
      out[o] = 0;
      out[o + 1] = 0;
      out[o + 2] = 0;
      continue;
    }
    const v = c === agentCell ? carrying : objs[c]!;
    if (v === null) {
      out[o] = OBJECT_TO_IDX.empty;
      out[o + 1] = 0;
      out[o + 2] = 0;
    } else {
      out[o] = v.typeIdx;
      out[o + 1] = v.colorIdx;
      out[o + 2] = v.stateIdx();
    }
  }
}

/**
 * MiniGrid's process_vis on a (7, 7) view held as objects (i*7 + j); fills `mask` (1 visible).
 * Same sweep as Grid.processVis, without clearing cells (the encoder reads the mask instead).
 */
export function processVisInto(objs: readonly (WorldObj | null)[], mask: Uint8Array, ax: number, ay: number): void {
  const N = VIEW;
  mask.fill(0);
  mask[ax * N + ay] = 1;
  for (let j = N - 1; j >= 0; j--) {
    for (let i = 0; i < N - 1; i++) {
      if (mask[i * N + j] === 0) continue;
      const c = objs[i * N + j]!;
      if (c !== null && !c.seeBehind()) continue;
      mask[(i + 1) * N + j] = 1;
      if (j > 0) {
        mask[(i + 1) * N + j - 1] = 1;
        mask[i * N + j - 1] = 1;
      }
    }
    for (let i = N - 1; i >= 1; i--) {
      if (mask[i * N + j] === 0) continue;
      const c = objs[i * N + j]!;
      if (c !== null && !c.seeBehind()) continue;
      mask[(i - 1) * N + j] = 1;
      if (j > 0) {
        mask[(i - 1) * N + j - 1] = 1;
        mask[i * N + j - 1] = 1;
      }
    }
  }
}

/** MiniGrid's get_view_exts: [topX, topY, botX, botY) of the square seen from (ax, ay) facing dir. */
export function viewExts(ax: number, ay: number, dir: number): [number, number, number, number] {
  const s = VIEW;
  let topX: number;
  let topY: number;
  switch (dir) {
    case 0: topX = ax; topY = ay - (s >> 1); break;
    case 1: topX = ax - (s >> 1); topY = ay; break;
    case 2: topX = ax - s + 1; topY = ay - (s >> 1); break;
    case 3: topX = ax - (s >> 1); topY = ay - s + 1; break;
    default: throw new GlamError('InvalidArgument', `Expected an agent direction 0..3 but received ${dir}`);
  }
  return [topX, topY, topX + s, topY + s];
}

/** MiniGrid's get_view_coords: world (x, y) → view (vx, vy) for an agent at (ax, ay) facing dir; may fall outside 0..6. */
export function viewCoords(ax: number, ay: number, dir: number, x: number, y: number): [number, number] {
  const [dx, dy] = DIR_TO_VEC[dir]!;
  const rx = -dy;
  const ry = dx;
  const hs = VIEW >> 1;
  const lx = x - (ax + dx * (VIEW - 1) - rx * hs);
  const ly = y - (ay + dy * (VIEW - 1) - ry * hs);
  return [rx * lx + ry * ly, -(dx * lx + dy * ly)];
}
