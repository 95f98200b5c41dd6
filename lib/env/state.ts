// The replay state format (the start-state part of a recorded fixture line) and its round trip:
//   { level, language, width, height, grid: grid.encode() as [x][y][3], agent: { pos, dir },
//     carrying: [type, color, state] | null, mission, max_steps }
// `envFromState` rebuilds grid, agent, carried object, parsed instruction and episode limit;
// its reset() returns to that state. `envToState` writes the current state (call it right after
// reset to capture a start state).
// Subtle: locations in the mission ("on your left") are resolved against the recorded agent pose at
// reset, exactly as BabyAI resolves them against the start pose; the room layout needed for
// locations is recovered from the level's room size (8 for every BabyAI level here); max_steps is
// taken as recorded (it is fixed for the episode); the mission string is kept verbatim.

import { GlamError } from '../errors.js';
import { Grid } from './grid.js';
import { parseMission } from './mission-parser.js';
import { levelInfo, resolveTextStyle, type MakeEnvOptions } from './registry.js';
import { Room } from './room-grid.js';
import { RoomGridLevel } from './levels/roomgrid-level.js';
import { Door, decodeObject } from './world-object.js';
import type { Language, TextStyle } from './text/style.js';

export interface EnvState {
  level: string;
  language?: Language;
  width: number;
  height: number;
  /** grid.encode() as nested arrays [x][y] = [type, color, state]; the agent is not in it. */
  grid: number[][][];
  agent: { pos: [number, number]; dir: number };
  carrying: [number, number, number] | null;
  mission: string;
  max_steps: number;
  /** Room size, when the level is not a registered one (default: the level's, else 8). */
  room_size?: number;
}

function bad(what: string, value: unknown, hint: string): GlamError {
  const shown = value === undefined ? 'undefined' : JSON.stringify(value)?.slice(0, 80);
  return new GlamError('InvalidArgument', `Invalid env state: ${what} is ${shown}; ${hint}`);
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** Checks shape and value ranges of a state; throws GlamError('InvalidArgument') saying what to fix. */
export function validateState(s: unknown): asserts s is EnvState {
  if (s === null || typeof s !== 'object') throw bad('the state', s, 'expected an object (one fixture line)');
  const st = s as Record<string, unknown>;
  if (typeof st.level !== 'string' || st.level === '') throw bad('level', st.level, 'expected a level name such as "GoToLocal"');
  if (st.language !== undefined && st.language !== 'english' && st.language !== 'french') throw bad('language', st.language, "expected 'english' or 'french'");
  if (!isInt(st.width) || st.width < 3 || !isInt(st.height) || st.height < 3) throw bad('width/height', [st.width, st.height], 'expected integers >= 3');
  const W = st.width;
  const H = st.height;
  if (!Array.isArray(st.grid) || st.grid.length !== W) throw bad('grid', typeof st.grid, `expected ${W} columns (grid[x][y] = [type, color, state])`);
  for (let x = 0; x < W; x++) {
    const col = st.grid[x];
    if (!Array.isArray(col) || col.length !== H) throw bad(`grid[${x}]`, typeof col, `expected ${H} cells`);
    for (let y = 0; y < H; y++) {
      const c = col[y];
      if (!Array.isArray(c) || c.length !== 3 || !c.every((v) => isInt(v) && v >= 0 && v <= 255)) {
        throw bad(`grid[${x}][${y}]`, c, 'expected [type, color, state] integers');
      }
    }
  }
  const agent = st.agent as { pos?: unknown; dir?: unknown } | undefined;
  if (agent === null || typeof agent !== 'object') throw bad('agent', agent, 'expected { pos: [x, y], dir }');
  const pos = agent.pos;
  if (!Array.isArray(pos) || pos.length !== 2 || !isInt(pos[0]) || !isInt(pos[1]) || pos[0] < 0 || pos[0] >= W || pos[1] < 0 || pos[1] >= H) {
    throw bad('agent.pos', pos, `expected [x, y] inside the ${W}x${H} grid`);
  }
  if (!isInt(agent.dir) || agent.dir < 0 || agent.dir > 3) throw bad('agent.dir', agent.dir, 'expected 0 east, 1 south, 2 west or 3 north');
  const carrying = st.carrying;
  if (carrying !== null && (!Array.isArray(carrying) || carrying.length !== 3 || !carrying.every((v) => isInt(v)))) {
    throw bad('carrying', carrying, 'expected null or [type, color, state]');
  }
  if (typeof st.mission !== 'string') throw bad('mission', st.mission, 'expected a BabyAI mission string');
  if (!isInt(st.max_steps) || st.max_steps < 1) throw bad('max_steps', st.max_steps, 'expected a positive integer');
  if (st.room_size !== undefined && (!isInt(st.room_size) || st.room_size < 3)) throw bad('room_size', st.room_size, 'expected an integer >= 3');
}

function roomSizeOf(state: EnvState): number {
  if (state.room_size !== undefined) return state.room_size;
  try {
    return levelInfo(state.level).roomSize;
  } catch {
    return 8;
  }
}

/** An env that replays one recorded start state: reset() always restores it. */
export class ReplayEnv extends RoomGridLevel {
  readonly state: EnvState;
  constructor(state: EnvState, opts: Pick<MakeEnvOptions, 'textStyle' | 'text'> = {}) {
    const rs = roomSizeOf(state);
    if ((state.width - 1) % (rs - 1) !== 0 || (state.height - 1) % (rs - 1) !== 0) {
      throw bad('width/height', [state.width, state.height], `a grid of rooms of size ${rs} has sides (${rs}-1)·n + 1; set room_size`);
    }
    const textStyle = resolveTextStyle({ ...(state.language === undefined ? {} : { language: state.language }), ...(opts.textStyle === undefined ? {} : { textStyle: opts.textStyle }) });
    super({
      roomSize: rs,
      numRows: (state.height - 1) / (rs - 1),
      numCols: (state.width - 1) / (rs - 1),
      maxSteps: state.max_steps,
      ...(textStyle === undefined ? {} : { textStyle }),
      text: opts.text ?? true,
    });
    this.state = state;
    parseMission(state.mission); // fail at construction, not at the first reset
  }

  get levelName(): string {
    return this.state.level;
  }

  protected genMission(): void {
    throw new GlamError('Internal', 'a replayed env does not generate missions');
  }

  protected override genGrid(): void {
    const s = this.state;
    const flat = new Array<number>(s.width * s.height * 3);
    for (let x = 0; x < s.width; x++) {
      for (let y = 0; y < s.height; y++) {
        const c = s.grid[x]![y]!;
        const o = (x * s.height + y) * 3;
        flat[o] = c[0]!;
        flat[o + 1] = c[1]!;
        flat[o + 2] = c[2]!;
      }
    }
    this.grid = Grid.decode(flat, s.width, s.height).grid;
    this.#rebuildRooms();
    this.agentPos = [s.agent.pos[0], s.agent.pos[1]];
    this.agentDir = s.agent.dir;
    if (s.carrying !== null) {
      const obj = decodeObject(s.carrying[0], s.carrying[1], s.carrying[2]);
      if (obj === null || !obj.canPickup()) throw bad('carrying', s.carrying, 'expected a key, ball or box');
      obj.curPos = [-1, -1];
      this.carrying = obj;
    }
    this.instrs = parseMission(s.mission);
    this.mission = s.mission;
  }

  /** Room objects, neighbours and the doors found on their shared walls (for locations and bots). */
  #rebuildRooms(): void {
    const s = this.roomSize;
    this.roomGrid = [];
    for (let j = 0; j < this.numRows; j++) {
      const row: Room[] = [];
      for (let i = 0; i < this.numCols; i++) row.push(new Room([i * (s - 1), j * (s - 1)], [s, s]));
      this.roomGrid.push(row);
    }
    for (let j = 0; j < this.numRows; j++) {
      for (let i = 0; i < this.numCols; i++) {
        const room = this.roomGrid[j]![i]!;
        const [tx, ty] = room.top;
        if (i < this.numCols - 1) room.neighbors[0] = this.roomGrid[j]![i + 1]!;
        if (j < this.numRows - 1) room.neighbors[1] = this.roomGrid[j + 1]![i]!;
        if (i > 0) room.neighbors[2] = this.roomGrid[j]![i - 1]!;
        if (j > 0) room.neighbors[3] = this.roomGrid[j - 1]![i]!;
        for (let k = 1; k < s - 1; k++) {
          const walls: [number, number, number][] = [[0, tx + s - 1, ty + k], [1, tx + k, ty + s - 1], [2, tx, ty + k], [3, tx + k, ty]];
          for (const [w, x, y] of walls) {
            if (room.neighbors[w] === null) continue;
            const cell = this.grid.get(x, y);
            if (cell instanceof Door) {
              room.doors[w] = cell;
              room.doorPos[w] = [x, y];
            } else if (cell === null && room.doors[w] === null) {
              room.doors[w] = true;
            }
          }
        }
        for (let x = tx + 1; x < tx + s - 1; x++) {
          for (let y = ty + 1; y < ty + s - 1; y++) {
            const c = this.grid.get(x, y);
            if (c !== null && c.canPickup()) room.objs.push(c);
          }
        }
      }
    }
  }
}

/** Builds an env from a recorded start state (validated); its reset() returns to that state. */
export function envFromState(state: unknown, opts: Pick<MakeEnvOptions, 'textStyle' | 'text'> = {}): ReplayEnv {
  validateState(state);
  const env = new ReplayEnv(state, opts);
  env.reset();
  return env;
}

/** The env's current state in the replay format (call right after reset for a start state). */
export function envToState(env: RoomGridLevel): EnvState {
  const enc = env.grid.encode();
  const W = env.grid.width;
  const H = env.grid.height;
  const grid: number[][][] = [];
  for (let x = 0; x < W; x++) {
    const col: number[][] = [];
    for (let y = 0; y < H; y++) {
      const o = (x * H + y) * 3;
      col.push([enc[o]!, enc[o + 1]!, enc[o + 2]!]);
    }
    grid.push(col);
  }
  const language: Language = env.textStyle?.language ?? 'english';
  return {
    level: env.levelName,
    language,
    width: W,
    height: H,
    grid,
    agent: { pos: [env.agentPos[0], env.agentPos[1]], dir: env.agentDir },
    carrying: env.carrying === null ? null : env.carrying.encode(),
    mission: env.mission,
    max_steps: env.maxSteps,
    room_size: env.roomSize,
  };
}
