"""bench/env_minigrid.py: Python MiniGrid's env steps per second on BabyAI levels, for bench/env.ts.

Usage: python3 bench/env_minigrid.py --steps N --seed S --repeats R LEVEL [LEVEL ...]
Prints one JSON object: {"minigrid", "python", "results": [{"level", "steps", "seconds", "sps", "episodes",
"repeats", "note"}]}, seconds being the median over the repeats.
Exit code 3 (and {"error": ...}) when gymnasium or minigrid cannot be imported.

What is timed: env.step with uniformly random actions among GLAM's six (ids 0..5, drawn beforehand),
env.reset whenever an episode ends, no rendering and no text (MiniGrid has no text observation; the
TypeScript side renders GLAM's text at every step, so the comparison is conservative).

Subtle: MiniGrid prints "Sampling rejected: ..." on every rejected level layout; stdout is sent to
/dev/null while timing (the print calls still cost what they cost in real use).
BabyAI-MixedTrainLocal-v0 is GLAM's level (babyai-text), not in MiniGrid: it is rebuilt here on
MiniGrid's LevelGen with the same generation (task kind drawn per episode, as glam's default; 2 rooms
with a locked door for "open", 1 room and 8+1 or 8+2 objects otherwise; held-out colour-noun pairs
rejected), so that both sides step the same level.
"""
import argparse
import contextlib
import json
import os
import platform
import sys
import time
import warnings

HELD_OUT = ("yellow box", "red key", "red door", "green ball", "grey door")
TASKS = ("goto", "pickup", "open", "putnext", "pick up seq go to")


def make_mixed_train_local():
    from minigrid.envs.babyai.core.levelgen import LevelGen
    from minigrid.envs.babyai.core.roomgrid_level import RejectSampling
    from minigrid.envs.babyai.core.verifier import (
        AfterInstr, BeforeInstr, GoToInstr, ObjDesc, OpenInstr, PickupInstr, PutNextInstr,
    )

    class MixedTrainLocal(LevelGen):
        def __init__(self, **kwargs):
            self.task = "goto"
            super().__init__(room_size=8, num_rows=1, num_cols=1, num_dists=8, locations=False,
                             unblocking=False, implicit_unlock=False, **kwargs)

        def reset(self, **kwargs):
            # The task kind (and with it the room layout) is drawn per episode.
            if kwargs.get("seed") is not None:
                super().reset(**kwargs)  # seeds np_random; the episode below replaces this one
                kwargs = {k: v for k, v in kwargs.items() if k != "seed"}
            self.task = TASKS[self.np_random.integers(0, len(TASKS))]
            self.num_cols = 2 if self.task == "open" else 1
            self.width = (self.room_size - 1) * self.num_cols + 1
            return super().reset(**kwargs)

        def gen_mission(self):
            self.locked_room = None
            if self.task == "open":
                color = self._rand_elem(["yellow", "green", "blue", "purple"])
                self.add_locked_room_of(color)
                self.connect_all()
                for i in range(self.num_cols):
                    if self.get_room(i, 0) is not self.locked_room:
                        self.add_distractors(i, 0, num_distractors=self.num_dists, all_unique=False)
                while True:
                    self.place_agent()
                    if self.room_from_pos(*self.agent_pos) is not self.locked_room:
                        break
                self.instrs = OpenInstr(ObjDesc("door", self._rand_elem([None, color])))
            else:
                self.place_agent()
                extra = 1 if self.task in ("goto", "pickup") else 2
                objs = self.add_distractors(num_distractors=self.num_dists + extra, all_unique=False)
                a = self._rand_elem(objs)
                desc_a = ObjDesc(a.type, a.color)
                if self.task == "goto":
                    self.instrs = GoToInstr(desc_a)
                elif self.task == "pickup":
                    self.instrs = PickupInstr(desc_a)
                else:
                    b = self._rand_elem(objs)
                    if (a.type, a.color) == (b.type, b.color) and len(ObjDesc(a.type, a.color).find_matching_objs(self)[0]) < 2:
                        while (a.type, a.color) == (b.type, b.color):
                            b = self._rand_elem(objs)
                    desc_b = ObjDesc(b.type, b.color)
                    if self.task == "putnext":
                        self.instrs = PutNextInstr(desc_a, desc_b)
                    elif self._rand_bool():
                        self.instrs = BeforeInstr(PickupInstr(desc_a), GoToInstr(desc_b))
                    else:
                        self.instrs = AfterInstr(GoToInstr(desc_b), PickupInstr(desc_a))
            self.check_objs_reachable()
            surface = self.instrs.surface(self)
            if any(p in surface for p in HELD_OUT):
                raise RejectSampling("held-out colour-noun pair")

        def add_locked_room_of(self, color):
            while True:
                i, j, k = self._rand_int(0, self.num_cols), 0, self._rand_int(0, 4)
                room = self.get_room(i, j)
                if room.neighbors[k] is None:
                    continue
                self.locked_room = room
                self.add_door(i, j, k, color=color, locked=True)
                break
            while True:
                i = self._rand_int(0, self.num_cols)
                if self.get_room(i, 0) is not self.locked_room:
                    self.add_object(i, 0, "key", color)
                    break

    return MixedTrainLocal()


def bench(level, steps, seed, repeats):
    import gymnasium as gym
    import numpy as np

    env = make_mixed_train_local() if level == "BabyAI-MixedTrainLocal-v0" else gym.make(level).unwrapped
    note = "GLAM's level rebuilt on MiniGrid's LevelGen" if level == "BabyAI-MixedTrainLocal-v0" else ""
    actions = np.random.default_rng(seed).integers(0, 6, size=steps).tolist()
    runs = []
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        for _ in range(repeats):
            episodes = 0
            env.reset(seed=seed)
            t0 = time.perf_counter()
            for a in actions:
                _, _, terminated, truncated, _ = env.step(a)
                if terminated or truncated:
                    episodes += 1
                    env.reset()
            runs.append(time.perf_counter() - t0)
    seconds = sorted(runs)[len(runs) // 2]  # median of the repeats
    return {"level": level, "steps": steps, "seconds": seconds, "sps": steps / seconds, "episodes": episodes,
            "repeats": repeats, "note": note}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("levels", nargs="+")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    try:
        import gymnasium  # noqa: F401
        import minigrid
    except ImportError as e:
        print(json.dumps({"error": f"cannot import gymnasium/minigrid: {e}"}))
        return 3
    results = [bench(level, args.steps, args.seed, args.repeats) for level in args.levels]
    print(json.dumps({"minigrid": minigrid.__version__, "python": platform.python_version(), "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
