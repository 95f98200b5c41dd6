// Planner code of the bot's short subgoals (MiniGrid's baby_ai_bot.py): Close, Open, Drop, Pickup and
// Explore, plus the plan to undo an action the agent took against the bot's advice.
// Each subgoal kind has `before` (called while it is on top of the stack: returns an action, or null
// after changing the stack) and `after` (called with the action taken, before the next `before`).
// Subtle points kept from MiniGrid:
// - Open in front of a locked door without its key replans: (drop what is carried), fetch the key,
//   come back, open; with reason null it first becomes Open(Unlock), which schedules dropping the key
//   once the door is open (the drop cell is chosen then, not earlier, since it might be taken).
// - Open in front of an open door closes it first (an open instruction needs the toggle that opens).
// - Explore walks to the closest cell never seen (through movable objects if it must); when every
//   reachable cell has been seen, it opens the closest closed door, unlocked ones first (a locked one
//   first could make Open explore the same door again, forever).

import { Action } from '../actions.js';
import { GlamError } from '../../errors.js';
import { ObjDesc } from '../instructions/obj-desc.js';
import type { Door, Pos } from '../world-object.js';
import {
  close, drop, goNextTo, open, pickup, samePos, subgoalToString,
  type BotContext, type Subgoal,
} from './subgoal.js';

function internal(ctx: BotContext, what: string): GlamError {
  const plan = ctx.stack.map(subgoalToString).join(' > ');
  return new GlamError('Internal', `bot: ${what} (agent at ${ctx.env.agentPos.join(',')}, plan ${plan})`);
}

/** MiniGrid's _plan_undo_action: plan to undo `action`, taken although the bot advised otherwise. */
export function planUndo(ctx: BotContext, action: number): void {
  const { pos, right, fwdCell, carrying } = ctx.pose();
  const s = ctx.stack;
  if (action === Action.forward) {
    const prev = ctx.prevAgentPos;
    if (prev !== null && !samePos(prev, pos)) s.push(goNextTo([pos[0], pos[1]]));
  } else if (action === Action.left) {
    s.push(goNextTo([pos[0] + right[0], pos[1] + right[1]]));
  } else if (action === Action.right) {
    s.push(goNextTo([pos[0] - right[0], pos[1] - right[1]]));
  } else if (action === Action.drop && ctx.prevCarrying !== carrying) {
    s.push(pickup());
  } else if (action === Action.pickup && ctx.prevCarrying !== carrying) {
    s.push(drop());
  } else if (action === Action.toggle) {
    if (fwdCell !== null && fwdCell.type === 'door' && ctx.fwdDoorWasOpen !== (fwdCell as Door).isOpen) {
      s.push((fwdCell as Door).isOpen ? close() : open());
    }
  }
}

const isMove = (a: number): boolean => a === Action.forward || a === Action.left || a === Action.right;

export function closeBefore(ctx: BotContext): number {
  const { fwdCell } = ctx.pose();
  if (fwdCell === null || fwdCell.type !== 'door' || !(fwdCell as Door).isOpen) throw internal(ctx, 'Close without an open door in front');
  return Action.toggle;
}

export function closeAfter(ctx: BotContext, action: number): void {
  if (action === Action.toggle) ctx.stack.pop();
  else if (isMove(action)) planUndo(ctx, action);
}

export function openBefore(ctx: BotContext, sg: Subgoal & { kind: 'open' }): number | null {
  const { fwdPos, fwdCell, carrying } = ctx.pose();
  if (fwdCell === null || fwdCell.type !== 'door') throw internal(ctx, 'Open without a door in front');
  const door = fwdCell as Door;
  const s = ctx.stack;
  const gotKey = carrying !== null && carrying.type === 'key' && carrying.color === door.color;
  if (door.isLocked && !gotKey) {
    const keyDesc = new ObjDesc('key', door.color);
    keyDesc.findMatchingObjs(ctx.env);
    const doorPos: Pos = [fwdPos[0], fwdPos[1]];
    s.pop();
    if (carrying !== null) {
      // Put down what we carry, fetch the key, open, then take the object back.
      const dropPosCur = ctx.findDropPos();
      if (dropPosCur === null) throw internal(ctx, 'no cell to put down the carried object');
      s.push(pickup(), goNextTo(dropPosCur), open(), goNextTo(doorPos), pickup(), goNextTo(keyDesc), drop(), goNextTo(dropPosCur));
    } else {
      s.push(open(), goNextTo(doorPos), pickup(), goNextTo(keyDesc));
    }
    return null;
  }
  if (door.isOpen) {
    s.push(close());
    return null;
  }
  if (door.isLocked && sg.reason === null) {
    s.pop();
    s.push(open('Unlock'));
    return null;
  }
  return Action.toggle;
}

export function openAfter(ctx: BotContext, sg: Subgoal & { kind: 'open' }, action: number): void {
  if (action !== Action.toggle) {
    planUndo(ctx, action);
    return;
  }
  ctx.stack.pop();
  if (sg.reason === 'Unlock') {
    const dropKeyPos = ctx.findDropPos();
    if (dropKeyPos !== null) ctx.stack.push(drop(), goNextTo(dropKeyPos));
  }
}

export function dropBefore(ctx: BotContext): number {
  const { fwdCell, carrying } = ctx.pose();
  if (carrying === null) throw internal(ctx, 'Drop with empty hands');
  if (fwdCell !== null) throw internal(ctx, `Drop in front of a ${fwdCell.type}`);
  return Action.drop;
}

export function dropAfter(ctx: BotContext, action: number): void {
  if (action === Action.drop) ctx.stack.pop();
  else if (isMove(action)) planUndo(ctx, action);
}

export function pickupBefore(ctx: BotContext): number {
  if (ctx.env.carrying !== null) throw internal(ctx, 'Pickup with full hands');
  return Action.pickup;
}

export function pickupAfter(ctx: BotContext, action: number): void {
  if (action === Action.pickup) ctx.stack.pop();
  else if (action === Action.left || action === Action.right) planUndo(ctx, action);
}

export function exploreBefore(ctx: BotContext): null {
  const { vis, env } = ctx;
  const W = env.grid.width;
  const unseen = ctx.shortestPath((p) => vis[p] === 0, true);
  if (unseen !== null) {
    ctx.stack.push(goNextTo([unseen.finish % W, Math.floor(unseen.finish / W)], 'Explore'));
    return null;
  }
  const closedDoor = (unlockedOnly: boolean) => (_p: number, cell: unknown): boolean => {
    const d = cell as Door | null;
    return d !== null && d.type === 'door' && !d.isOpen && (!unlockedOnly || !d.isLocked);
  };
  const found = ctx.shortestPath(closedDoor(true), true) ?? ctx.shortestPath(closedDoor(false), true);
  if (found === null) throw internal(ctx, 'nothing left to explore');
  const door = env.grid.cells[found.finish] as Door;
  const carrying = env.carrying;
  const gotKey = carrying !== null && carrying.type === 'key' && carrying.color === door.color;
  ctx.stack.pop();
  ctx.stack.push(open(door.isLocked && gotKey ? 'KeepKey' : null), goNextTo(door, 'Open'));
  return null;
}
