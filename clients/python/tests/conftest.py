"""Fixtures: live `glam serve` processes (the built command, dist/) and the in-process reference.

`server` scores only (its weights never change, so its numbers can be compared with Policy.score);
`train_server` has --allow-training. Both are stopped with SIGTERM at the end, which must drain and exit 0.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CLI = ROOT / "dist" / "lib" / "cli" / "main.js"
KEY = "test-key-" + os.urandom(4).hex()


def _start(*extra: str):
    if not CLI.exists():
        pytest.fail(f"{CLI} is missing: run `npm run build` in {ROOT} first")
    env = dict(os.environ, GLAM_DEVICE="cpu")
    p = subprocess.Popen(["node", str(CLI), "serve", "--port", "0", "--threads", "1", "--log-level", "warn", "--api-key", KEY, *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines = []
    for line in p.stdout:
        lines.append(line)
        if line.startswith("  training"):
            break
    m = re.search(r"glam serve: (http://\S+)", "".join(lines))
    if not m:
        p.kill()
        pytest.fail("glam serve did not start: " + "".join(lines) + p.stderr.read())
    return p, m.group(1)


def _stop(p):
    p.send_signal(signal.SIGTERM)
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0, f"glam serve exited {p.returncode} on SIGTERM"
    assert "stopped" in out


@pytest.fixture(scope="session")
def server():
    p, url = _start()
    yield {"url": url, "key": KEY}
    _stop(p)


@pytest.fixture(scope="module")
def train_server():
    root = tempfile.mkdtemp(prefix="glam-train-root-")
    p, url = _start("--allow-training", "--train-root", root)
    yield {"url": url, "key": KEY, "root": root}
    _stop(p)


@pytest.fixture(scope="session")
def inprocess():
    """Policy.score in-process: inprocess(prompts, candidates, options) or inprocess(ids, id_cands, tokens=True)."""

    def run(prompts, candidates, options=None, tokens=False):
        req = {"prompts": prompts, "candidates": candidates, "options": options or {}, "tokens": tokens}
        out = subprocess.run(["node", str(Path(__file__).parent / "inprocess.mjs")], input=json.dumps(req), capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    return run
