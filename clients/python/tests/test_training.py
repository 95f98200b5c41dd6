"""The training calls from Python (a server with --allow-training): forward/backward/step raise the
reinforced candidate's probability, save stays under --train-root and never replaces a user's file, and the CleanRL-style PPO example
raises p(go forward)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from glam_client import Client, GlamAPIError

CTX = ["Goal of the agent: go to the red ball\nAction 0: "]
CANDS = [["turn left", "turn right", "go forward"]]


def test_forward_backward_step_save(train_server):
    c = Client(train_server["url"], api_key=train_server["key"])
    before = c.score(CTX, CANDS)[0].probs
    k = before.index(min(before))
    f = c.forward(CTX, CANDS)
    assert f.results[0].probs == pytest.approx(before, abs=1e-5)
    c.backward(f.handle, [[p - (1 if i == k else 0) for i, p in enumerate(f.results[0].probs)]], [0.0])
    norm = c.step(lr=1e-3, max_grad_norm=1.0)
    assert norm > 0
    c.zero_grad()
    after = c.score(CTX, CANDS)
    assert after[0].probs[k] > before[k]
    assert after.value_head_trained is True
    assert c.save("ckpt/one") == os.path.join("ckpt", "one")
    assert (Path(train_server["root"]) / "ckpt" / "one" / "glam_training.json").exists()
    with pytest.raises(GlamAPIError) as e:
        c.save("../escape")
    assert e.value.code == "PathOutsideRoot"
    (Path(train_server["root"]) / "taken").write_text("a file of mine")
    with pytest.raises(GlamAPIError) as e:
        c.save("taken")  # a save the user can fix: a 4xx with a stable code, the file untouched
    assert (e.value.status, e.value.code) == (409, "SavePathConflict")
    assert (Path(train_server["root"]) / "taken").read_text() == "a file of mine"
    with pytest.raises(GlamAPIError) as e:
        c.backward(f.handle, [[0, 0, 0]], [0])
    assert e.value.status == 400


def test_ppo_example_raises_the_rewarded_probability(train_server):
    example = Path(__file__).resolve().parents[1] / "examples" / "ppo_update.py"
    out = subprocess.run([sys.executable, str(example), "--url", train_server["url"], "--api-key", train_server["key"], "--iterations", "3"],
                         capture_output=True, text=True, check=True).stdout
    lines = [l for l in out.splitlines() if "p(go forward)" in l]
    first = float(lines[0].split("= ")[1].split()[0])
    final = float(lines[-1].split("= ")[1].split()[0])
    assert final > first, out
