// Planner code of GoNextTo, the bot's navigation subgoal (MiniGrid's baby_ai_bot.py GoNextToSubgoal):
// walk to face a cell, an object, or the closest seen object matching a description.
// Subtle points kept from MiniGrid:
// - Standing ON the target cell (or, for PutNext, right next to the target object) first steps away:
//   the goal is to face it (for PutNext: to face an empty cell next to it, where the drop will go).
// - Going to open a locked door with empty hands commits to that door and fetches its key first.
// - A path through blockers is followed up to the blocker, which is then picked up and put down
//   where it blocks nothing (with full hands: put the carried object down first, then take it back).
// - With the next cell behind the agent, it turns towards the side whose nearest wall or door is
//   farther (a cheap guess at where there is more to see).
// - Unlike MiniGrid, which reads the instruction's cached positions (stale or misaligned once objects
//   moved), targets are found at their current positions (see Bot.findObjPos).

import { Action } from '../actions.js';
import { GlamError } from '../../errors.js';
import { ObjDesc } from '../instructions/obj-desc.js';
import { WorldObj, type Door, type Pos } from '../world-object.js';
import {
  drop, explore, goNextTo, manhattan, open, pickup, samePos,
  type BotContext, type Subgoal,
} from './subgoal.js';
import { planUndo } from './subgoals.js';

const steppable = (cell: WorldObj | null): boolean => cell === null || (cell.type === 'door' && (cell as Door).isOpen);

export function goNextToBefore(ctx: BotContext, sg: Subgoal & { kind: 'goNextTo' }): number | null {
  const s = ctx.stack;
  const { pos, dir, right, fwdPos, fwdCell, carrying } = ctx.pose();
  const grid = ctx.env.grid;
  let targetObj: WorldObj | null = null;
  let targetPos: Pos;
  const t = sg.target;
  if (t instanceof ObjDesc) {
    const found = ctx.findObjPos(t, sg.reason === 'PutNext');
    if (found === null) {
      s.push(explore());
      return null;
    }
    targetObj = found.obj;
    targetPos = found.pos;
  } else if (t instanceof WorldObj) {
    targetObj = t;
    if (t.curPos === null) throw new GlamError('Internal', 'bot: GoNextTo an object that was never placed');
    targetPos = t.curPos;
  } else {
    targetPos = t;
  }

  // Going to open a locked door with empty hands: fetch the key first.
  if (sg.reason === 'Open' && targetObj !== null && targetObj.type === 'door' && (targetObj as Door).isLocked && carrying === null) {
    const keyDesc = new ObjDesc('key', targetObj.color);
    keyDesc.findMatchingObjs(ctx.env);
    s.pop();
    s.push(goNextTo(targetObj, 'Open'), pickup(), goNextTo(keyDesc));
    return null;
  }

  // On the cell to face (PutNext: next to the object): step away.
  if (manhattan(targetPos, pos) === (sg.reason === 'PutNext' ? 1 : 0)) {
    if (steppable(fwdCell)) return Action.forward;
    if (steppable(grid.get(pos[0] + right[0], pos[1] + right[1]))) return Action.right;
    if (steppable(grid.get(pos[0] - right[0], pos[1] - right[1]))) return Action.left;
    return Action.left; // spin and hope for the best
  }

  // Facing the target: done.
  if (sg.reason === 'PutNext') {
    if (manhattan(targetPos, fwdPos) === 1) {
      if (fwdCell === null) {
        s.pop();
        return null;
      }
      if (fwdCell.type === 'door' && (fwdCell as Door).isOpen) {
        // No dropping in a doorway: go face the cell beyond it instead.
        s.push(goNextTo([fwdPos[0] + 2 * dir[0], fwdPos[1] + 2 * dir[1]]));
        return null;
      }
    }
  } else if (samePos(targetPos, fwdPos)) {
    s.pop();
    return null;
  }

  // Still far: a path without blockers if there is one, else through blockers, else explore.
  const W = grid.width;
  const targetP = targetPos[1] * W + targetPos[0];
  const isTarget = (p: number): boolean => p === targetP;
  const found = ctx.shortestPath(isTarget) ?? ctx.shortestPath(isTarget, true);
  if (found === null || found.path.length === 0) {
    s.push(explore());
    return null;
  }
  const next = found.path[0]!;
  const nx = next % W;
  const ny = (next - nx) / W;

  if (nx === fwdPos[0] && ny === fwdPos[1]) {
    if (fwdCell === null) return Action.forward;
    if (fwdCell.type === 'door') {
      if ((fwdCell as Door).isOpen) return Action.forward;
      s.push(open());
      return null;
    }
    // A blocker in front: move it out of the way.
    if (carrying !== null) {
      const dropPosCur = ctx.findDropPos();
      const dropPosBlock = ctx.findDropPos(dropPosCur);
      if (dropPosCur === null || dropPosBlock === null) {
        s.push(explore());
        return null;
      }
      s.push(
        pickup(), goNextTo(dropPosCur), // take back the carried object
        drop(), goNextTo(dropPosBlock), pickup(), goNextTo([fwdPos[0], fwdPos[1]]), // move the blocker
        drop(), goNextTo(dropPosCur), // put the carried object down
      );
      return null;
    }
    const dropPos = ctx.findDropPos();
    if (dropPos === null) {
      s.push(explore());
      return null;
    }
    s.push(drop(), goNextTo(dropPos), pickup());
    return null;
  }

  // Turn towards the next cell.
  const ddx = nx - pos[0];
  const ddy = ny - pos[1];
  if (ddx === right[0] && ddy === right[1]) return Action.right;
  if (ddx === -right[0] && ddy === -right[1]) return Action.left;
  // Behind: turn to the side with more room.
  const distRight = ctx.closestWallOrDoor(pos, right);
  const distLeft = ctx.closestWallOrDoor(pos, [-right[0], -right[1]]);
  return distLeft > distRight ? Action.left : Action.right;
}

export function goNextToAfter(ctx: BotContext, action: number): void {
  if (action === Action.pickup || action === Action.drop || action === Action.toggle) planUndo(ctx, action);
}
