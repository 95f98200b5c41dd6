// The bot's plan is a stack of subgoals (MiniGrid's baby_ai_bot.py): plain tagged records, so that the
// planner code of each kind can live in its own file without import cycles. This file defines the
// records, what the planner code may ask of the bot (`BotContext`), and the agent's pose as seen by
// one replanning call (`Pose`).
// Subtle: subgoals never cache the agent's pose; the bot reads the env afresh at every call, which is
// what MiniGrid's `update_agent_attributes` amounts to (nothing moves while the bot replans).

import type { ObjDesc } from '../instructions/obj-desc.js';
import type { RoomGridLevel } from '../levels/roomgrid-level.js';
import type { Pos, WorldObj } from '../world-object.js';
import type { Accept, PathResult } from './search.js';

/** What to go next to: any object matching a description, one object, or one cell. */
export type Target = ObjDesc | WorldObj | Pos;

/**
 * Why a GoNextTo was planned: PutNext = face an empty cell next to the target; Explore = a step of
 * exploration (dropped at every replan); Open = to open the target door (fetch its key first if locked).
 */
export type GoReason = 'PutNext' | 'Explore' | 'Open' | null;

/** Unlock = drop the key once the door is open; KeepKey = keep it. */
export type OpenReason = 'Unlock' | 'KeepKey' | null;

export type Subgoal =
  | { readonly kind: 'close' }
  | { readonly kind: 'open'; readonly reason: OpenReason }
  | { readonly kind: 'drop' }
  | { readonly kind: 'pickup' }
  | { readonly kind: 'goNextTo'; readonly target: Target; readonly reason: GoReason }
  | { readonly kind: 'explore' };

export const close = (): Subgoal => ({ kind: 'close' });
export const open = (reason: OpenReason = null): Subgoal => ({ kind: 'open', reason });
export const drop = (): Subgoal => ({ kind: 'drop' });
export const pickup = (): Subgoal => ({ kind: 'pickup' });
export const goNextTo = (target: Target, reason: GoReason = null): Subgoal => ({ kind: 'goNextTo', target, reason });
export const explore = (): Subgoal => ({ kind: 'explore' });

/** Exploratory subgoals are dropped from the top of the stack at every replan. */
export function isExploratory(sg: Subgoal): boolean {
  return sg.kind === 'explore' || (sg.kind === 'goNextTo' && sg.reason === 'Explore');
}

/** The agent as one replanning call sees it. */
export interface Pose {
  readonly pos: Pos;
  readonly dir: Pos;
  /** Right of the facing direction. */
  readonly right: Pos;
  readonly fwdPos: Pos;
  readonly fwdCell: WorldObj | null;
  readonly carrying: WorldObj | null;
}

/** What the subgoal planners use from the bot. */
export interface BotContext {
  readonly env: RoomGridLevel;
  /** (W*H) 1 where the bot has seen the cell (p = y*W + x). */
  readonly vis: Uint8Array;
  readonly stack: Subgoal[];
  /** Agent position and carried object before the last action (null before the first). */
  readonly prevAgentPos: Pos | null;
  readonly prevCarrying: WorldObj | null;
  /** Whether the door in front of the agent was open before the last action. */
  readonly fwdDoorWasOpen: boolean;
  pose(): Pose;
  /** Shortest path from the agent to a cell passing `accept` (see search.ts). */
  shortestPath(accept: Accept, tryWithBlockers?: boolean): PathResult | null;
  /** A seen empty cell where dropping an object blocks nothing (except `exceptPos`), or null. */
  findDropPos(exceptPos?: Pos | null): Pos | null;
  /** The closest seen object matching `desc` and its position (`adjacent`: we will face a cell next to it). */
  findObjPos(desc: ObjDesc, adjacent: boolean): { obj: WorldObj; pos: Pos } | null;
  /** Cells from `pos` along `dir` to the first wall or door, within the view square (MiniGrid's helper). */
  closestWallOrDoor(pos: Pos, dir: Pos): number;
}

/** One-line form of a subgoal, for traces and errors. */
export function subgoalToString(sg: Subgoal): string {
  switch (sg.kind) {
    case 'open': return sg.reason === null ? 'Open' : `Open(${sg.reason})`;
    case 'goNextTo': {
      const t = sg.target;
      const what = Array.isArray(t) ? `(${t[0]}, ${t[1]})` : 'objSet' in t ? t.toString() : `${t.color} ${t.type}`;
      return `GoNextTo(${what}${sg.reason === null ? '' : `, ${sg.reason}`})`;
    }
    default: return sg.kind[0]!.toUpperCase() + sg.kind.slice(1);
  }
}

export const samePos = (a: readonly [number, number], b: readonly [number, number]): boolean => a[0] === b[0] && a[1] === b[1];
export const manhattan = (a: readonly [number, number], b: readonly [number, number]): number => Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]);
