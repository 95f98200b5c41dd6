// BabyAI's expert bot (MiniGrid's utils/baby_ai_bot.py, our own code): a planner over the true env
// state that solves the instruction. It keeps a map of the cells it has seen (from the agent's view,
// occlusion included), turns the instruction into a stack of subgoals (GoNextTo, Open, Pickup, Drop,
// Close, Explore) and replans after every step with BFS shortest paths (search.ts).
//
//   const bot = new Bot(env);             // after env.reset(); one bot per episode
//   for (;;) { const a = bot.replan(); if (env.step(a).done) break; }
//
// Subtle points:
// - `replan()` assumes the action it suggested last was taken (MiniGrid's replan(None)); pass the
//   action actually taken to use it as an advisor (DAgger-style): the plan then includes undoing it.
// - Seeing is the agent's view only: objects behind closed doors or around corners are unknown until
//   explored, so the bot walks and looks like an agent would (its demonstrations are learnable).
// - It returns `done` (6) when its plan is empty, which only happens once the mission is complete.
// - Opening a box (a toggle facing a box, never suggested by the bot) makes some missions unsolvable:
//   replan then throws InvalidArgument, as MiniGrid's DisappearedBoxError.

import { Action, checkAction } from '../actions.js';
import { GlamError } from '../../errors.js';
import { AGENT_VIEW_SIZE, DIR_TO_VEC } from '../constants.js';
import {
  AfterInstr, AndInstr, BeforeInstr, GoToInstr, OpenInstr, PickupInstr, PutNextInstr, type Instr, type ObjDesc,
} from '../instructions/index.js';
import type { RoomGridLevel } from '../levels/roomgrid-level.js';
import type { Door, Pos, WorldObj } from '../world-object.js';
import { findDropPos } from './drop-pos.js';
import { goNextToAfter, goNextToBefore } from './go-next-to.js';
import { PathFinder, type Accept, type PathResult } from './search.js';
import {
  drop, goNextTo, isExploratory, open, pickup, subgoalToString, type BotContext, type Pose, type Subgoal,
} from './subgoal.js';
import {
  closeAfter, closeBefore, dropAfter, dropBefore, exploreBefore, openAfter, openBefore, pickupAfter, pickupBefore,
} from './subgoals.js';

const VIEW = AGENT_VIEW_SIZE;
/** Replanning iterations without an action before we call it a bug (MiniGrid loops forever). */
const MAX_REPLANS = 10_000;

export class Bot implements BotContext {
  readonly env: RoomGridLevel;
  readonly vis: Uint8Array;
  readonly stack: Subgoal[] = [];
  prevAgentPos: Pos | null = null;
  prevCarrying: WorldObj | null = null;
  fwdDoorWasOpen = false;
  #prevFwdCell: WorldObj | null = null;
  #lastAction: number | null = null;
  readonly #finder: PathFinder;
  readonly #view = new Uint8Array(VIEW * VIEW * 3);
  /** The episode's grid (every reset builds a new one). */
  readonly #grid: RoomGridLevel['grid'];

  /** A bot for the env's current episode (call after env.reset()). */
  constructor(env: RoomGridLevel) {
    if (env === null || typeof env !== 'object' || !('instrs' in env)) {
      throw new GlamError('InvalidArgument', 'Expected a BabyAI level env (from makeEnv or envFromState) for new Bot(env)');
    }
    if (env.instrs === null || env.agentDir < 0) {
      throw new GlamError('InvalidArgument', 'The env has no episode yet; call env.reset() before new Bot(env)');
    }
    this.env = env;
    this.#grid = env.grid;
    this.vis = new Uint8Array(env.grid.width * env.grid.height);
    this.#finder = new PathFinder(env.grid.width, env.grid.height);
    this.#processInstr(env.instrs);
  }

  /** Breadth-first searches run so far (MiniGrid's bfs_counter). */
  get searches(): number {
    return this.#finder.searches;
  }

  /** The plan, bottom to top, e.g. "GoNextTo(red ball) > Pickup". */
  planString(): string {
    return this.stack.map(subgoalToString).join(' > ');
  }

  /**
   * Updates the map and the plan, and returns the next MiniGrid action id.
   * @param actionTaken the action taken since the last call, if not the one suggested.
   */
  replan(actionTaken?: number): number {
    if (this.env.grid !== this.#grid) {
      throw new GlamError('InvalidArgument', 'The env was reset since this Bot was built; build a new Bot(env) per episode');
    }
    const taken = actionTaken === undefined ? this.#lastAction : checkAction(actionTaken);
    this.#processObs();
    if (taken === Action.toggle && this.#prevFwdCell !== null && this.#prevFwdCell.type === 'box') {
      throw new GlamError('InvalidArgument', 'A box was opened (toggled) during the episode; the bot cannot tell whether the mission is still solvable');
    }
    const s = this.stack;
    if (s.length > 0 && taken !== null) this.#after(s[s.length - 1]!, taken);
    while (s.length > 0 && isExploratory(s[s.length - 1]!)) s.pop();
    let action: number | null = null;
    for (let it = 0; s.length > 0; it++) {
      if (it >= MAX_REPLANS) throw new GlamError('Internal', `bot: no action after ${MAX_REPLANS} replans (plan ${this.planString()})`);
      action = this.#before(s[s.length - 1]!);
      if (action !== null) break;
    }
    if (s.length === 0) action = Action.done;
    this.#rememberCurrentState();
    this.#lastAction = action;
    return action!;
  }

  #before(sg: Subgoal): number | null {
    switch (sg.kind) {
      case 'close': return closeBefore(this);
      case 'open': return openBefore(this, sg);
      case 'drop': return dropBefore(this);
      case 'pickup': return pickupBefore(this);
      case 'goNextTo': return goNextToBefore(this, sg);
      case 'explore': return exploreBefore(this);
    }
  }

  #after(sg: Subgoal, action: number): void {
    switch (sg.kind) {
      case 'close': closeAfter(this, action); break;
      case 'open': openAfter(this, sg, action); break;
      case 'drop': dropAfter(this, action); break;
      case 'pickup': pickupAfter(this, action); break;
      case 'goNextTo': goNextToAfter(this, action); break;
      case 'explore': break;
    }
  }

  /** The instruction as subgoals, pushed so that the first thing to do ends up on top. */
  #processInstr(instr: Instr): void {
    const s = this.stack;
    if (instr instanceof GoToInstr) {
      s.push(goNextTo(instr.desc));
    } else if (instr instanceof OpenInstr) {
      s.push(open(), goNextTo(instr.desc, 'Open'));
    } else if (instr instanceof PickupInstr) {
      // Put it back down afterwards, so that the hands are free for what comes next.
      s.push(drop(), pickup(), goNextTo(instr.desc));
    } else if (instr instanceof PutNextInstr) {
      s.push(drop(), goNextTo(instr.descFixed, 'PutNext'), pickup(), goNextTo(instr.descMove));
    } else if (instr instanceof BeforeInstr || instr instanceof AndInstr) {
      this.#processInstr(instr.instrB);
      this.#processInstr(instr.instrA);
    } else if (instr instanceof AfterInstr) {
      this.#processInstr(instr.instrA);
      this.#processInstr(instr.instrB);
    } else {
      throw new GlamError('InvalidArgument', `The bot cannot plan for instruction ${instr.constructor.name}`);
    }
  }

  /** Marks every cell of the agent's current view as seen (world (x, y) of view cell (i, j)). */
  #processObs(): void {
    const env = this.env;
    const view = this.#view;
    env.writeView(view, 0);
    const W = env.grid.width;
    const H = env.grid.height;
    const [ax, ay] = env.agentPos;
    const [dx, dy] = DIR_TO_VEC[env.agentDir]!;
    const rx = -dy;
    const ry = dx;
    const hs = VIEW >> 1;
    for (let i = 0; i < VIEW; i++) {
      for (let j = 0; j < VIEW; j++) {
        if (view[(i * VIEW + j) * 3] === 0) continue;
        const ahead = VIEW - 1 - j;
        const x = ax + dx * ahead + rx * (i - hs);
        const y = ay + dy * ahead + ry * (i - hs);
        if (x >= 0 && x < W && y >= 0 && y < H) this.vis[y * W + x] = 1;
      }
    }
  }

  #rememberCurrentState(): void {
    const env = this.env;
    this.prevAgentPos = [env.agentPos[0], env.agentPos[1]];
    this.prevCarrying = env.carrying;
    const [fx, fy] = env.frontPos;
    const fwd = env.grid.inBounds(fx, fy) ? env.grid.get(fx, fy) : null;
    if (fwd !== null && fwd.type === 'door') this.fwdDoorWasOpen = (fwd as Door).isOpen;
    this.#prevFwdCell = fwd;
  }

  // ---- BotContext: what the subgoal planners ask of the bot ----

  pose(): Pose {
    const env = this.env;
    const pos = env.agentPos;
    const dir = DIR_TO_VEC[env.agentDir]!;
    const fwdPos: Pos = [pos[0] + dir[0], pos[1] + dir[1]];
    return {
      pos,
      dir: [dir[0], dir[1]],
      right: [-dir[1], dir[0]],
      fwdPos,
      fwdCell: env.grid.get(fwdPos[0], fwdPos[1]),
      carrying: env.carrying,
    };
  }

  shortestPath(accept: Accept, tryWithBlockers = false): PathResult | null {
    const env = this.env;
    const [dx, dy] = DIR_TO_VEC[env.agentDir]!;
    const start = env.agentPos[1] * env.grid.width + env.agentPos[0];
    return this.#finder.shortestPath(env.grid, this.vis, start, dx, dy, accept, tryWithBlockers);
  }

  findDropPos(exceptPos: Pos | null = null): Pos | null {
    return findDropPos(this, exceptPos);
  }

  /**
   * The seen object of `desc` that is cheapest to reach: path length, plus 4 (empty hands) or 7 (full
   * hands) when blockers must be moved; 0 counts 2 (3 when `adjacent`), and 1 counts 3 when `adjacent`
   * (we must step back anyway). Objects are taken at their current positions; carried ones are skipped.
   */
  findObjPos(desc: ObjDesc, adjacent: boolean): { obj: WorldObj; pos: Pos } | null {
    const env = this.env;
    const grid = env.grid;
    const W = grid.width;
    let best = Infinity;
    let found: { obj: WorldObj; pos: Pos } | null = null;
    for (const obj of desc.objSet) {
      if (obj.type === 'wall' || obj === env.carrying) continue;
      const pos = obj.curPos;
      if (pos === null || !grid.inBounds(pos[0], pos[1]) || grid.get(pos[0], pos[1]) !== obj) continue;
      const p = pos[1] * W + pos[0];
      if (this.vis[p] === 0) continue;
      const r = this.shortestPath((q) => q === p, true);
      if (r === null) continue;
      let d = r.path.length;
      if (r.withBlockers) d += env.carrying !== null ? 7 : 4;
      if (d === 0) d = adjacent ? 3 : 2;
      if (adjacent && d === 1) d = 3;
      if (d < best) {
        best = d;
        found = { obj, pos: [pos[0], pos[1]] };
      }
    }
    return found;
  }

  closestWallOrDoor(pos: Pos, dir: Pos): number {
    const env = this.env;
    for (let d = 1; ; d++) {
      const x = pos[0] + d * dir[0];
      const y = pos[1] + d * dir[1];
      if (!env.inView(x, y) || !env.grid.inBounds(x, y)) return d - 1;
      const cell = env.grid.get(x, y);
      if (cell !== null && (cell.type === 'door' || cell.type === 'wall')) return d;
    }
  }
}
