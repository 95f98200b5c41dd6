// Rooms laid out on a grid, with doors between them (MiniGrid's roomgrid.py): room walls, door
// positions, adding objects/doors/distractors, agent placement, connectivity.
// Subtle points kept from MiniGrid:
// - Neighbouring rooms share a wall: width = (roomSize-1)·numCols + 1. Door *positions* are drawn
//   when the rooms are built (one per shared wall), doors themselves only when added.
// - Objects are never placed right next to (Manhattan distance < 2) the agent's *current* position
//   (`rejectNextTo`), and the agent is re-drawn until the cell in front of it is empty or a wall.
// - `room.doors[k]` is a Door, `true` for a removed wall, or null; connectivity treats any truthy
//   entry (even a locked door) as a passage, exactly like connect_all's find_reach.
// - A level may change numRows/numCols between episodes (GLAM's mixed levels): `configureRooms`
//   resizes the grid.

import { COLOR_NAMES, type Color } from './constants.js';
import { GlamError } from '../errors.js';
import { Grid } from './grid.js';
import { MiniGridEnv, RejectSampling, type MiniGridOptions } from './minigrid-env.js';
import { Door, makeObject, type Pos, type WorldObj } from './world-object.js';

/** Manhattan distance < 2 from the agent (MiniGrid's reject_next_to). */
export function rejectNextTo(env: MiniGridEnv, x: number, y: number): boolean {
  const [sx, sy] = env.agentPos;
  return Math.abs(sx - x) + Math.abs(sy - y) < 2;
}

export class Room {
  readonly top: Pos;
  readonly size: Pos;
  /** Order: right, down, left, up. A Door, true (wall removed) or null. */
  doors: (Door | true | null)[] = [null, null, null, null];
  doorPos: (Pos | null)[] = [null, null, null, null];
  neighbors: (Room | null)[] = [null, null, null, null];
  /** Behind a locked door. */
  locked = false;
  objs: WorldObj[] = [];

  constructor(top: Pos, size: Pos) {
    this.top = top;
    this.size = size;
  }

  posInside(x: number, y: number): boolean {
    const [tx, ty] = this.top;
    const [sx, sy] = this.size;
    return x >= tx && y >= ty && x < tx + sx && y < ty + sy;
  }
}

export interface RoomGridOptions extends Omit<MiniGridOptions, 'width' | 'height'> {
  roomSize?: number;
  numRows?: number;
  numCols?: number;
}

export abstract class RoomGrid extends MiniGridEnv {
  roomSize: number;
  numRows: number;
  numCols: number;
  roomGrid: Room[][] = [];

  constructor(opts: RoomGridOptions = {}) {
    const roomSize = opts.roomSize ?? 7;
    const numRows = opts.numRows ?? 3;
    const numCols = opts.numCols ?? 3;
    if (!Number.isInteger(roomSize) || roomSize < 3 || !Number.isInteger(numRows) || numRows < 1 || !Number.isInteger(numCols) || numCols < 1) {
      throw new GlamError('InvalidArgument', `Expected roomSize >= 3 and numRows, numCols >= 1 (integers) but received ${roomSize}, ${numRows}, ${numCols}`);
    }
    super({ ...opts, width: (roomSize - 1) * numCols + 1, height: (roomSize - 1) * numRows + 1 });
    this.roomSize = roomSize;
    this.numRows = numRows;
    this.numCols = numCols;
  }

  /** Changes the room layout (takes effect at the next genRooms). */
  configureRooms(numRows: number, numCols: number): void {
    this.numRows = numRows;
    this.numCols = numCols;
    this.width = (this.roomSize - 1) * numCols + 1;
    this.height = (this.roomSize - 1) * numRows + 1;
  }

  roomFromPos(x: number, y: number): Room {
    const i = Math.floor(x / (this.roomSize - 1));
    const j = Math.floor(y / (this.roomSize - 1));
    if (x < 0 || y < 0 || i >= this.numCols || j >= this.numRows) {
      throw new GlamError('InvalidArgument', `Position (${x}, ${y}) is in no room of this ${this.numCols}x${this.numRows} room grid`);
    }
    return this.roomGrid[j]![i]!;
  }

  getRoom(i: number, j: number): Room {
    if (i < 0 || j < 0 || i >= this.numCols || j >= this.numRows) {
      throw new GlamError('InvalidArgument', `Room (${i}, ${j}) does not exist in a ${this.numCols}x${this.numRows} room grid`);
    }
    return this.roomGrid[j]![i]!;
  }

  /** MiniGrid's RoomGrid._gen_grid: empty rooms with walls, door positions, agent in the middle facing east. */
  genRooms(): void {
    this.grid = new Grid(this.width, this.height);
    this.roomGrid = [];
    const s = this.roomSize;
    for (let j = 0; j < this.numRows; j++) {
      const row: Room[] = [];
      for (let i = 0; i < this.numCols; i++) {
        const room = new Room([i * (s - 1), j * (s - 1)], [s, s]);
        row.push(room);
        this.grid.wallRect(room.top[0], room.top[1], s, s);
      }
      this.roomGrid.push(row);
    }
    for (let j = 0; j < this.numRows; j++) {
      for (let i = 0; i < this.numCols; i++) {
        const room = this.roomGrid[j]![i]!;
        const xl = room.top[0] + 1;
        const yl = room.top[1] + 1;
        const xm = room.top[0] + room.size[0] - 1;
        const ym = room.top[1] + room.size[1] - 1;
        if (i < this.numCols - 1) {
          room.neighbors[0] = this.roomGrid[j]![i + 1]!;
          room.doorPos[0] = [xm, this.randInt(yl, ym)];
        }
        if (j < this.numRows - 1) {
          room.neighbors[1] = this.roomGrid[j + 1]![i]!;
          room.doorPos[1] = [this.randInt(xl, xm), ym];
        }
        if (i > 0) {
          room.neighbors[2] = this.roomGrid[j]![i - 1]!;
          room.doorPos[2] = room.neighbors[2].doorPos[0]!;
        }
        if (j > 0) {
          room.neighbors[3] = this.roomGrid[j - 1]![i]!;
          room.doorPos[3] = room.neighbors[3].doorPos[1]!;
        }
      }
    }
    this.agentPos = [
      (this.numCols >> 1) * (s - 1) + (s >> 1),
      (this.numRows >> 1) * (s - 1) + (s >> 1),
    ];
    this.agentDir = 0;
  }

  /** Puts an existing object in room (i, j), away from the agent. */
  placeInRoom(i: number, j: number, obj: WorldObj): Pos {
    const room = this.getRoom(i, j);
    const pos = this.placeObj(obj, room.top, room.size, rejectNextTo, 1000);
    room.objs.push(obj);
    return pos;
  }

  /** A new key/ball/box (random kind and colour unless given) in room (i, j). */
  addObject(i: number, j: number, kind?: 'key' | 'ball' | 'box', color?: Color): { obj: WorldObj; pos: Pos } {
    const k = kind ?? this.randElem(['key', 'ball', 'box'] as const);
    const c = color ?? this.randColor();
    const obj = makeObject(k, c);
    return { obj, pos: this.placeInRoom(i, j, obj) };
  }

  /** A door on wall `doorIdx` (random free wall with a neighbour if omitted) of room (i, j). */
  addDoor(i: number, j: number, doorIdx?: number, color?: Color, locked?: boolean): { door: Door; pos: Pos } {
    const room = this.getRoom(i, j);
    let k = doorIdx;
    if (k === undefined) {
      for (;;) {
        k = this.randInt(0, 4);
        if (room.neighbors[k] !== null && room.doors[k] === null) break;
      }
    }
    const c = color ?? this.randColor();
    const isLocked = locked ?? this.randBool();
    if (room.doors[k] !== null) throw new GlamError('Internal', `door already exists on wall ${k} of room (${i}, ${j})`);
    room.locked = isLocked;
    const door = new Door(c, false, isLocked);
    const pos = room.doorPos[k];
    const neighbor = room.neighbors[k];
    if (pos === null || pos === undefined || neighbor === null || neighbor === undefined) {
      throw new GlamError('Internal', `wall ${k} of room (${i}, ${j}) has no neighbour`);
    }
    this.grid.set(pos[0], pos[1], door);
    door.curPos = [pos[0], pos[1]];
    room.doors[k] = door;
    neighbor.doors[(k + 2) % 4] = door;
    return { door, pos: [pos[0], pos[1]] };
  }

  /** Opens the whole wall `wallIdx` between room (i, j) and its neighbour. */
  removeWall(i: number, j: number, wallIdx: number): void {
    const room = this.getRoom(i, j);
    const neighbor = room.neighbors[wallIdx];
    if (room.doors[wallIdx] !== null || neighbor === null || neighbor === undefined) {
      throw new GlamError('Internal', `cannot remove wall ${wallIdx} of room (${i}, ${j})`);
    }
    const [tx, ty] = room.top;
    const [w, h] = room.size;
    if (wallIdx === 0) for (let k = 1; k < h - 1; k++) this.grid.set(tx + w - 1, ty + k, null);
    else if (wallIdx === 1) for (let k = 1; k < w - 1; k++) this.grid.set(tx + k, ty + h - 1, null);
    else if (wallIdx === 2) for (let k = 1; k < h - 1; k++) this.grid.set(tx, ty + k, null);
    else for (let k = 1; k < w - 1; k++) this.grid.set(tx + k, ty, null);
    room.doors[wallIdx] = true;
    neighbor.doors[(wallIdx + 2) % 4] = true;
  }

  /** Agent in room (i, j) (random room if omitted), re-drawn until it does not face an object. */
  placeAgent(i?: number, j?: number, randDir = true): Pos {
    const ci = i ?? this.randInt(0, this.numCols);
    const cj = j ?? this.randInt(0, this.numRows);
    const room = this.roomGrid[cj]![ci]!;
    for (;;) {
      this.placeAgentIn(room.top, room.size, randDir, 1000);
      const [fx, fy] = this.frontPos;
      const front = this.grid.get(fx, fy);
      if (front === null || front.type === 'wall') break;
    }
    return this.agentPos;
  }

  /** Adds unlocked doors until every room is reachable from the agent's room. */
  connectAll(doorColors: readonly Color[] = COLOR_NAMES, maxItrs = 5000): Door[] {
    const start = this.roomFromPos(this.agentPos[0], this.agentPos[1]);
    const added: Door[] = [];
    const total = this.numRows * this.numCols;
    const findReach = (): number => {
      const reach = new Set<Room>();
      const stack: Room[] = [start];
      while (stack.length > 0) {
        const room = stack.pop()!;
        if (reach.has(room)) continue;
        reach.add(room);
        for (let k = 0; k < 4; k++) if (room.doors[k]) stack.push(room.neighbors[k]!);
      }
      return reach.size;
    };
    let itrs = 0;
    for (;;) {
      if (itrs > maxItrs) throw new RejectSampling('connectAll failed');
      itrs++;
      if (findReach() === total) break;
      const i = this.randInt(0, this.numCols);
      const j = this.randInt(0, this.numRows);
      const k = this.randInt(0, 4);
      const room = this.getRoom(i, j);
      if (!room.doorPos[k] || room.doors[k]) continue;
      const neighbor = room.neighbors[k]!;
      if (room.locked || neighbor.locked) continue;
      const color = this.randElem(doorColors);
      added.push(this.addDoor(i, j, k, color, false).door);
    }
    return added;
  }

  /** Random key/ball/box distractors, in room (i, j) or random rooms; unique (type, colour) if allUnique. */
  addDistractors(i?: number, j?: number, numDistractors = 10, allUnique = true): WorldObj[] {
    const existing: string[] = [];
    for (const row of this.roomGrid) for (const room of row) for (const o of room.objs) existing.push(`${o.type} ${o.color}`);
    const dists: WorldObj[] = [];
    while (dists.length < numDistractors) {
      const color = this.randElem(COLOR_NAMES);
      const type = this.randElem(['key', 'ball', 'box'] as const);
      const key = `${type} ${color}`;
      if (allUnique && existing.includes(key)) continue;
      const ri = i ?? this.randInt(0, this.numCols);
      const rj = j ?? this.randInt(0, this.numRows);
      const { obj } = this.addObject(ri, rj, type, color);
      existing.push(key);
      dists.push(obj);
    }
    return dists;
  }

  /** Opens every door of the maze. */
  openAllDoors(): void {
    for (const row of this.roomGrid) for (const room of row) for (const d of room.doors) if (d instanceof Door) d.isOpen = true;
  }

  /**
   * Whether every non-wall object is reachable from the agent without moving anything (doors,
   * even locked ones, count as passable; any other object blocks). MiniGrid's check_objs_reachable.
   */
  checkObjsReachable(): boolean {
    const W = this.grid.width;
    const H = this.grid.height;
    const reach = new Uint8Array(W * H);
    const stack: number[] = [this.agentPos[0], this.agentPos[1]];
    while (stack.length > 0) {
      const y = stack.pop()!;
      const x = stack.pop()!;
      if (x < 0 || x >= W || y < 0 || y >= H) continue;
      if (reach[y * W + x]) continue;
      reach[y * W + x] = 1;
      const cell = this.grid.cells[y * W + x]!;
      if (cell !== null && cell.type !== 'door') continue;
      stack.push(x + 1, y, x - 1, y, x, y + 1, x, y - 1);
    }
    for (let k = 0; k < W * H; k++) {
      const cell = this.grid.cells[k]!;
      if (cell === null || cell.type === 'wall') continue;
      if (!reach[k]) return false;
    }
    return true;
  }
}
