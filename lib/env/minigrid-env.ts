// Env dynamics (MiniGrid's MiniGridEnv): agent pose, carrying, step rules, the 7×7 egocentric view,
// object/agent placement helpers, reward. Levels (room-grid.ts, levels/) build on this.
// Subtle points, all as MiniGrid does them:
// - `step` increments stepCount first, so the reward of a success on step t is 1 - 0.9·t/maxSteps,
//   and `truncated` is set when stepCount reaches maxSteps, even on the step that succeeds.
// - Forward moves onto empty cells or overlappable objects (open doors, floor, goal, lava); pickup
//   only with empty hands; drop only onto an empty cell; toggle acts on the front object.
// - The view is the 7×7 square in front of the agent rotated so that the agent sits at column 3,
//   row 6, looking "up" (row 0 is the farthest); cells outside the grid read as walls, occlusion is
//   MiniGrid's process_vis sweep, and the agent cell shows the carried object (else empty).
//   `writeView` does this in place (view.ts); `genObsGrid` is the literal slice+rotate oracle.
// - Descriptions come from text/describe.ts (never built here), recomputed on reset and every step,
//   as GLAM's fork does.

import { AGENT_VIEW_SIZE, COLOR_NAMES, DIR_TO_VEC, type Color } from './constants.js';
import { Action, checkAction } from './actions.js';
import { GlamError } from '../errors.js';
import { Grid } from './grid.js';
import { Rng } from '../util/rng.js';
import type { Pos, WorldObj } from './world-object.js';
import { viewCoords, viewExts, writeEgoView } from './view.js';
import type { Observation, StepOutcome, StepResult } from './observation.js';
import { describeView, type TextStyle } from './text/describe.js';

/** Thrown inside level generation to ask for a fresh attempt (MiniGrid's RejectSampling / RecursionError). */
export class RejectSampling extends Error {
  constructor(message: string) {
    // Control flow, never shown to users: skip the stack capture, the main cost of a rejection.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = 'RejectSampling';
  }
}

export type { Observation, StepOutcome, StepResult } from './observation.js';

export interface MiniGridOptions {
  width: number;
  height: number;
  maxSteps?: number;
  seed?: number;
  /** Passed to describeView; default GLAM's English text. */
  textStyle?: TextStyle;
  /** Compute `descriptions` (default true); false leaves them empty for speed. */
  text?: boolean;
}

const VIEW = AGENT_VIEW_SIZE;
const VIEW_CELLS = VIEW * VIEW;

export abstract class MiniGridEnv {
  width: number;
  height: number;
  grid: Grid;
  agentPos: Pos = [-1, -1];
  agentDir = -1;
  carrying: WorldObj | null = null;
  stepCount = 0;
  maxSteps: number;
  mission = '';
  readonly rng: Rng;
  textStyle: TextStyle | undefined;
  text: boolean;
  readonly agentViewSize = VIEW;

  // View scratch, (7*7) each, cell (i, j) at i*7 + j.
  readonly #viewObj: (WorldObj | null)[] = new Array<WorldObj | null>(VIEW_CELLS).fill(null);
  readonly #viewMask = new Uint8Array(VIEW_CELLS);

  constructor(opts: MiniGridOptions) {
    this.width = opts.width;
    this.height = opts.height;
    this.grid = new Grid(opts.width, opts.height);
    this.maxSteps = opts.maxSteps ?? 100;
    this.rng = new Rng(opts.seed ?? 0);
    this.textStyle = opts.textStyle;
    this.text = opts.text ?? true;
  }

  /** Builds the grid, places the agent (and sets the mission). */
  protected abstract genGrid(): void;

  /** Hook run at the end of reset (instructions, max_steps). */
  protected afterReset(): void {}

  /** Hook run after the dynamics of each step (instruction verification). */
  protected afterStep(_action: number, _out: StepOutcome): void {}

  /** New episode; `seed` re-seeds the generator first (same seed → same episode). */
  reset(opts: { seed?: number } = {}): Observation {
    if (opts.seed !== undefined) this.rng.seed(opts.seed);
    this.agentPos = [-1, -1];
    this.agentDir = -1;
    // Cleared before genGrid (MiniGrid clears it after) so that a replayed state may set it.
    this.carrying = null;
    this.genGrid();
    const [ax, ay] = this.agentPos;
    if (!this.grid.inBounds(ax, ay) || this.agentDir < 0 || this.agentDir > 3) {
      throw new GlamError('Internal', 'level generation did not place the agent');
    }
    const start = this.grid.get(ax, ay);
    if (start !== null && !start.canOverlap()) {
      throw new GlamError('InvalidArgument', `The agent starts on a ${start.type} at (${ax}, ${ay}); it must start on an empty or overlappable cell`);
    }
    this.stepCount = 0;
    this.afterReset();
    return this.genObs();
  }

  get dirVec(): readonly [number, number] {
    return DIR_TO_VEC[this.agentDir]!;
  }

  get rightVec(): [number, number] {
    const [dx, dy] = this.dirVec;
    return [-dy, dx];
  }

  get frontPos(): Pos {
    const [dx, dy] = this.dirVec;
    return [this.agentPos[0] + dx, this.agentPos[1] + dy];
  }

  /** MiniGrid's reward on success. */
  reward(): number {
    return 1 - 0.9 * (this.stepCount / this.maxSteps);
  }

  /** Applies one action (dynamics, truncation, instruction check) without building the observation. */
  act(action: number): StepOutcome {
    const a = checkAction(action);
    if (this.agentDir < 0) throw new GlamError('InvalidArgument', 'The env has not been reset; call reset() before step()');
    this.stepCount++;
    const out: StepOutcome = { reward: 0, terminated: false, truncated: false, status: 'continue' };
    const [fx, fy] = this.frontPos;
    if (!this.grid.inBounds(fx, fy)) {
      throw new GlamError('InvalidArgument', `The agent at (${this.agentPos[0]}, ${this.agentPos[1]}) faces outside the grid; surround the grid with walls`);
    }
    const fwd = this.grid.get(fx, fy);
    switch (a) {
      case Action.left:
        this.agentDir = (this.agentDir + 3) % 4;
        break;
      case Action.right:
        this.agentDir = (this.agentDir + 1) % 4;
        break;
      case Action.forward:
        if (fwd === null || fwd.canOverlap()) this.agentPos = [fx, fy];
        if (fwd !== null && fwd.type === 'goal') {
          out.terminated = true;
          out.reward = this.reward();
        }
        if (fwd !== null && fwd.type === 'lava') out.terminated = true;
        break;
      case Action.pickup:
        if (fwd !== null && fwd.canPickup() && this.carrying === null) {
          this.carrying = fwd;
          fwd.curPos = [-1, -1];
          this.grid.set(fx, fy, null);
        }
        break;
      case Action.drop:
        if (fwd === null && this.carrying !== null) {
          this.grid.set(fx, fy, this.carrying);
          this.carrying.curPos = [fx, fy];
          this.carrying = null;
        }
        break;
      case Action.toggle:
        if (fwd !== null) fwd.toggle(this, fx, fy);
        break;
      case Action.done:
        break;
    }
    if (this.stepCount >= this.maxSteps) out.truncated = true;
    this.afterStep(a, out);
    return out;
  }

  /** MiniGrid's step: act, then observe. */
  step(action: number): StepResult {
    const out = this.act(action) as StepResult;
    out.obs = this.genObs();
    out.done = out.terminated || out.truncated;
    return out;
  }

  genObs(): Observation {
    const image = new Uint8Array(VIEW_CELLS * 3);
    this.writeView(image, 0);
    const carried = this.carrying === null ? null : this.carrying.encode();
    return {
      image,
      direction: this.agentDir,
      mission: this.mission,
      descriptions: this.text ? describeView(image, carried, this.textStyle) : [],
    };
  }

  /**
   * Writes the (7, 7, 3) view encoding into out[offset .. offset+147). Hot path: no allocation;
   * equal to genObsGrid().grid.encode(visMask) (tested).
   */
  writeView(out: Uint8Array, offset = 0): void {
    writeEgoView(out, offset, this.grid, this.agentPos[0], this.agentPos[1], this.agentDir, this.carrying, this.#viewObj, this.#viewMask);
  }

  /** MiniGrid's gen_obs_grid, literally (slice, rotate dir+1 times, process_vis, carried object). Slow oracle. */
  genObsGrid(): { grid: Grid; visMask: Uint8Array } {
    const [topX, topY] = this.getViewExts();
    let grid = this.grid.slice(topX, topY, VIEW, VIEW);
    for (let i = 0; i < this.agentDir + 1; i++) grid = grid.rotateLeft();
    const visMask = grid.processVis(VIEW >> 1, VIEW - 1);
    grid.set(VIEW >> 1, VIEW - 1, this.carrying);
    return { grid, visMask };
  }

  /** Extents [topX, topY, botX, botY) of the square the agent sees, in world coordinates. */
  getViewExts(): [number, number, number, number] {
    return viewExts(this.agentPos[0], this.agentPos[1], this.agentDir);
  }

  /** World (x, y) → view (vx, vy); may fall outside 0..6. */
  getViewCoords(x: number, y: number): [number, number] {
    return viewCoords(this.agentPos[0], this.agentPos[1], this.agentDir, x, y);
  }

  /** View coordinates of a world cell inside the 7×7 square, else null. */
  relativeCoords(x: number, y: number): [number, number] | null {
    const [vx, vy] = this.getViewCoords(x, y);
    if (vx < 0 || vy < 0 || vx >= VIEW || vy >= VIEW) return null;
    return [vx, vy];
  }

  inView(x: number, y: number): boolean {
    return this.relativeCoords(x, y) !== null;
  }

  /** Whether the (non-empty) world cell (x, y) is visible in the current view. */
  agentSees(x: number, y: number): boolean {
    const rc = this.relativeCoords(x, y);
    if (rc === null) return false;
    const view = new Uint8Array(VIEW_CELLS * 3);
    this.writeView(view, 0);
    const t = view[(rc[0] * VIEW + rc[1]) * 3]!;
    const cell = this.grid.get(x, y);
    return cell !== null && t === cell.typeIdx;
  }

  // ---- random helpers (MiniGrid's _rand_*), all drawing from this.rng ----
  randInt(lo: number, hi: number): number { return this.rng.randInt(lo, hi); }
  randFloat(lo: number, hi: number): number { return this.rng.randFloat(lo, hi); }
  randBool(): boolean { return this.rng.randBool(); }
  randElem<T>(list: readonly T[]): T { return this.rng.randElem(list); }
  randSubset<T>(list: readonly T[], k: number): T[] { return this.rng.subset(list, k); }
  randColor(): Color { return this.rng.randElem(COLOR_NAMES); }

  /**
   * Puts `obj` (null: just finds a cell) on a random empty cell of the rectangle, never on the agent;
   * throws RejectSampling after `maxTries` failed draws.
   */
  placeObj(
    obj: WorldObj | null,
    top: readonly [number, number] = [0, 0],
    size: readonly [number, number] = [this.grid.width, this.grid.height],
    rejectFn?: (env: this, x: number, y: number) => boolean,
    maxTries = Infinity,
  ): Pos {
    const tx = Math.max(top[0], 0);
    const ty = Math.max(top[1], 0);
    const hx = Math.min(tx + size[0], this.grid.width);
    const hy = Math.min(ty + size[1], this.grid.height);
    let tries = 0;
    for (;;) {
      if (tries > maxTries) throw new RejectSampling('rejection sampling failed in placeObj');
      tries++;
      const x = this.randInt(tx, hx);
      const y = this.randInt(ty, hy);
      if (this.grid.get(x, y) !== null) continue;
      if (x === this.agentPos[0] && y === this.agentPos[1]) continue;
      if (rejectFn !== undefined && rejectFn(this, x, y)) continue;
      this.grid.set(x, y, obj);
      if (obj !== null) obj.initPos = obj.curPos = [x, y];
      return [x, y];
    }
  }

  putObj(obj: WorldObj, x: number, y: number): void {
    this.grid.set(x, y, obj);
    obj.initPos = obj.curPos = [x, y];
  }

  /** Agent on a random empty cell of the rectangle (random direction unless randDir is false). */
  placeAgentIn(top?: readonly [number, number], size?: readonly [number, number], randDir = true, maxTries = Infinity): Pos {
    this.agentPos = [-1, -1];
    const pos = this.placeObj(null, top, size, undefined, maxTries);
    this.agentPos = pos;
    if (randDir) this.agentDir = this.randInt(0, 4);
    return pos;
  }
}
