// `glam env levels|sample|replay|play` through a real commander program, output captured: the
// sample → replay round trip, replay of recorded GLAM episodes (descriptions as recorded), the
// keyboard loop on a fake TTY, and bad input (exit code 2, one line, no stack trace).

import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';

import { registerEnvCommands, parseActions, type EnvCliIO } from '../../lib/cli/env.js';
import type { KeyInput } from '../../lib/cli/env-play.js';
import { envFromState, envToState, listLevels, makeEnv, type EnvState } from '../../lib/env/index.js';

const dir = mkdtempSync(join(tmpdir(), 'glam-env-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[], extra: Partial<EnvCliIO> = {}): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  let code = 0;
  const program = new Command('glam').exitOverride().configureOutput({ writeOut: (s) => void (out += s), writeErr: (s) => void (err += s) });
  registerEnvCommands(program, { out: (s) => void (out += s), err: (s) => void (err += s), ...extra }, (c) => void (code = c));
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    code = (e as { exitCode?: number }).exitCode ?? 1;
  }
  return { out, err, code };
}

interface StepLine {
  step: number;
  mission: string;
  descriptions: string[];
  view: number[][][];
  agent: { pos: [number, number]; dir: number };
  carrying: [number, number, number] | null;
  reward: number;
  terminated: boolean;
  truncated: boolean;
}
const lines = (out: string): StepLine[] => out.trimEnd().split('\n').map((l) => JSON.parse(l) as StepLine);

describe('glam env levels / sample', () => {
  it('lists every level id', async () => {
    const r = await run(['env', 'levels']);
    expect(r.code).toBe(0);
    expect(r.out.trimEnd().split('\n').map((l) => l.split(/\s+/)[0])).toEqual(listLevels());
    const j = await run(['env', 'levels', '--json']);
    expect((JSON.parse(j.out) as { id: string }[]).map((l) => l.id)).toEqual(listLevels());
  });

  it('prints the start state, as one line with --json and as formatted JSON otherwise', async () => {
    const r = await run(['env', 'sample', '--level', 'BabyAI-MixedTrainLocal-v0', '--seed', '7', '--json']);
    expect(r.code).toBe(0);
    expect(r.out.trimEnd().split('\n').length).toBe(1);
    const env = makeEnv('BabyAI-MixedTrainLocal-v0', { seed: 7 });
    env.reset({ seed: 7 });
    expect(JSON.parse(r.out)).toEqual(envToState(env));
    const pretty = await run(['env', 'sample', '--level', 'BabyAI-MixedTrainLocal-v0', '--seed', '7']);
    expect(JSON.parse(pretty.out)).toEqual(JSON.parse(r.out));
    expect(pretty.out.split('\n').length).toBeGreaterThan(10);
  });

  it('samples French states, which replay in French', async () => {
    const s = await run(['env', 'sample', '--level', 'BabyAI-GoToLocal-v0', '--seed', '2', '--language', 'french', '--json']);
    expect(s.code).toBe(0);
    expect((JSON.parse(s.out) as EnvState).language).toBe('french');
    const file = join(dir, 'fr.json');
    writeFileSync(file, s.out);
    const r = await run(['env', 'replay', '--state', file, '--json']);
    expect(lines(r.out)[0]!.descriptions.join(' ')).toMatch(/Tu vois/);
  });
});

describe('glam env replay', () => {
  it('round-trips: sample → replay reproduces the same state and the same trajectory as the env', async () => {
    for (const [level, seed] of [['BabyAI-PutNextLocal-v0', 3], ['BabyAI-UnlockLocal-v0', 4], ['BabyAI-MixedTestLocal-v0', 5]] as const) {
      const s = await run(['env', 'sample', '--level', level, '--seed', String(seed), '--json']);
      const file = join(dir, `${seed}.json`);
      writeFileSync(file, s.out);
      const state = JSON.parse(s.out) as EnvState;
      expect(envToState(envFromState(state))).toEqual(state);
      const acts = [2, 1, 2, 3, 0, 2, 2, 5, 4, 2];
      const names = ['go forward', 'turn right', 'go_forward', 'pick up', 'turn left', '2', 'go forward', 'toggle', 'drop', 'go forward'];
      const r = await run(['env', 'replay', '--state', file, '--actions', names.join(','), '--json']);
      expect(r.code).toBe(0);
      const got = lines(r.out);
      const env = makeEnv(level, { seed });
      let obs = env.reset({ seed });
      expect(got[0]).toMatchObject({ step: 0, mission: state.mission, agent: state.agent, carrying: state.carrying, reward: 0, terminated: false, truncated: false });
      for (let t = 0; t < got.length; t++) {
        let reward = 0;
        let term = false;
        let trunc = false;
        if (t > 0) {
          const st = env.step(acts[t - 1]!);
          ({ obs, reward, terminated: term, truncated: trunc } = { obs: st.obs, reward: st.reward, terminated: st.terminated, truncated: st.truncated });
        }
        const g = got[t]!;
        expect(g.step).toBe(t);
        expect(g.descriptions).toEqual(obs.descriptions);
        expect(g.view.flat(2)).toEqual(Array.from(obs.image));
        expect(g.agent).toEqual({ pos: [env.agentPos[0], env.agentPos[1]], dir: env.agentDir });
        expect(g.carrying).toEqual(env.carrying === null ? null : env.carrying.encode());
        expect(g.reward).toBeCloseTo(reward, 9);
        expect([g.terminated, g.truncated]).toEqual([term, trunc]);
      }
    }
  });

  it('replays recorded GLAM episodes from their start state and prints the recorded descriptions', async () => {
    const path = fileURLToPath(new URL('../fixtures/babyai-text/glam-episodes.jsonl.gz', import.meta.url));
    const episodes = gunzipSync(readFileSync(path)).toString('utf8').split('\n').filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as EnvState & { seed: number; actions: number[]; steps: { descriptions: string[]; reward: number; done: boolean }[] });
    // Every recorded episode (10 level/language pairs, bot and random), actions given by name.
    expect(episodes.length).toBe(236);
    for (const ep of episodes) {
      const file = join(dir, 'glam.json');
      writeFileSync(file, JSON.stringify(ep));
      const names = ep.actions.map((a) => ['turn left', 'turn right', 'go forward', 'pick up', 'drop', 'toggle', '6'][a]!);
      const r = await run(['env', 'replay', '--state', file, '--actions', names.join(', '), '--json']);
      expect(r.code, r.err).toBe(0);
      const got = lines(r.out);
      expect(got.length).toBe(ep.steps.length);
      got.forEach((g, t) => {
        expect(g.descriptions, `${ep.level} seed ${ep.seed} step ${t}`).toEqual(ep.steps[t]!.descriptions);
        expect(g.reward).toBeCloseTo(ep.steps[t]!.reward, 6);
        expect(g.terminated || g.truncated).toBe(ep.steps[t]!.done);
      });
    }
  });

  it('draws pictures without --json, and stops at the end of the episode', async () => {
    const env = makeEnv('BabyAI-GoToRedBallNoDists-v0', { seed: 1 });
    env.reset({ seed: 1 });
    const file = join(dir, 'pic.json');
    writeFileSync(file, JSON.stringify(envToState(env)));
    const r = await run(['env', 'replay', '--state', file, '--actions', 'turn left,turn left']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^step 0 \(start\)\n#{16}\n/);
    expect(r.out).toMatch(/step 2: turn left → reward 0\.0000/);
    expect(r.out).toMatch(/Mission: go to the red ball/);
    expect(r.out).toMatch(/[<>^v] /);
    // Walk into the ball with the bot's route: any actions after success are reported and ignored.
    const { Bot } = await import('../../lib/env/bot/index.js');
    const bot = new Bot(env);
    const acts: number[] = [];
    for (;;) {
      const a = bot.replan();
      acts.push(a);
      if (env.step(a).done) break;
    }
    const done = await run(['env', 'replay', '--state', file, '--actions', [...acts, 0, 1].join(','), '--json']);
    expect(done.code).toBe(0);
    expect(lines(done.out).length).toBe(acts.length + 1);
    expect(lines(done.out).at(-1)!.terminated).toBe(true);
    expect(done.err).toMatch(/ignoring the 2 remaining actions/);
  });

  it('parses action names, underscores and ids', () => {
    expect(parseActions('turn left, turn_right,go forward,3,pick up,drop,toggle,6')).toEqual([0, 1, 2, 3, 3, 4, 5, 6]);
    expect(parseActions('  ')).toEqual([]);
  });
});

describe('glam env play', () => {
  it('refuses without a TTY on stdin: exit code 2 and a message', async () => {
    const r = await run(['env', 'play', '--level', 'BabyAI-GoToLocal-v0'], { stdin: { isTTY: false } as KeyInput });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^glam: InvalidArgument: glam env play needs an interactive terminal, but stdin is not a TTY/);
    expect(r.err.trimEnd().split('\n').length).toBe(1);
  });

  it('plays from keys on a terminal, in raw mode, and restores the terminal on quit', async () => {
    const raw: boolean[] = [];
    const tty = Object.assign(new EventEmitter(), {
      isTTY: true,
      setRawMode: (m: boolean) => void raw.push(m),
      setEncoding: () => undefined,
      resume: () => undefined,
      pause: () => undefined,
    });
    const p = run(['env', 'play', '--level', 'BabyAI-GoToLocal-v0', '--seed', '3'], { stdin: tty as unknown as KeyInput });
    await new Promise((r) => setTimeout(r, 10));
    for (const k of ['\x1b[A', 'a', 's', 'x', 'p', 'q']) tty.emit('data', k);
    const r = await p;
    expect(r.code).toBe(0);
    expect(raw).toEqual([true, false]);
    const plain = r.out.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
    expect(r.out).toMatch(/\x1b\[/); // ANSI colours
    expect(plain).toMatch(/Mission: go to /);
    expect(r.out).toMatch(/go forward → reward/);
    expect(r.out).toMatch(/turn left → reward/);
    expect(r.out).toMatch(/turn right → reward/);
    expect(r.out).toMatch(/unknown key "x"/);
    expect(r.out).toMatch(/bye\n$/);
  });
});

describe('bad input exits 2 with one line', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown level', ['env', 'sample', '--level', 'BabyAI-Nope-v0'], /Unknown level "BabyAI-Nope-v0"; expected one of: BabyAI-GoToRedBall-v0/],
    ['missing level', ['env', 'sample'], /Missing --level/],
    ['bad seed', ['env', 'sample', '--level', 'BabyAI-GoToLocal-v0', '--seed', '1.5'], /integer for --seed/],
    ['bad language', ['env', 'sample', '--level', 'BabyAI-GoToLocal-v0', '--language', 'german'], /english or french for --language/],
    ['play: unknown level', ['env', 'play', '--level', 'nope'], /Unknown level/],
    ['missing state', ['env', 'replay', '--actions', 'go forward'], /Missing --state/],
    ['unreadable state', ['env', 'replay', '--state', '/nonexistent/state.json'], /Cannot read the state file \/nonexistent\/state.json: ENOENT/],
    ['unknown action', ['env', 'replay', '--state', 'STATE', '--actions', 'go forward,jump'], /Unknown action "jump"; expected one of: turn left/],
    ['action id out of range', ['env', 'replay', '--state', 'STATE', '--actions', '7'], /action id 0..6/],
    ['empty action', ['env', 'replay', '--state', 'STATE', '--actions', 'go forward,,drop'], /Action 2 of --actions is empty/],
    ['malformed JSON', ['env', 'replay', '--state', 'BADJSON'], /is not valid JSON/],
    ['malformed state', ['env', 'replay', '--state', 'BADSTATE'], /Invalid env state: agent.dir is 9/],
  ];
  it.each(cases)('%s', async (_name, args, msg) => {
    const env = makeEnv('BabyAI-GoToLocal-v0', { seed: 0 });
    env.reset();
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify(envToState(env)));
    writeFileSync(join(dir, 'bad.json'), '{"level": "GoToLocal", ');
    writeFileSync(join(dir, 'badstate.json'), JSON.stringify({ ...envToState(env), agent: { pos: [1, 1], dir: 9 } }));
    const a = args.map((x) => (x === 'STATE' ? good : x === 'BADJSON' ? join(dir, 'bad.json') : x === 'BADSTATE' ? join(dir, 'badstate.json') : x));
    const r = await run(a, { stdin: { isTTY: false } as KeyInput });
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^glam: InvalidArgument: /);
    expect(r.err).toMatch(msg);
    expect(r.err.trimEnd().split('\n').length).toBe(1);
    expect(r.err).not.toMatch(/\n\s+at /);
  });
});
