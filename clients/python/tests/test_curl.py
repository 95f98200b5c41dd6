"""curl against the server: the README's commands work as written; auth and limits answer typed JSON."""
import json
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def curl(*args):
    out = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}", *args], capture_output=True, text=True, check=True).stdout
    body, _, code = out.rpartition("\n")
    return int(code), json.loads(body) if body.strip() else None


def test_score_and_completions_with_curl(server, inprocess):
    auth = ["-H", f"Authorization: Bearer {server['key']}", "-H", "Content-Type: application/json"]
    code, r = curl(*auth, "-d", json.dumps({"prompts": ["Goal of the agent: go to the red ball\nAction 0: "], "candidates": [["turn left", "go forward"]]}), server["url"] + "/v1/score")
    assert code == 200
    ref = inprocess(["Goal of the agent: go to the red ball\nAction 0: "], [["turn left", "go forward"]])
    assert [c["logprob"] for c in r["results"][0]["candidates"]] == pytest.approx(ref["logprobs"], abs=1e-5)
    code, r = curl(*auth, "-d", json.dumps({"model": "glam-builtin", "prompt": "go to the red ball", "echo": True, "logprobs": 1, "max_tokens": 0}), server["url"] + "/v1/completions")
    assert code == 200 and r["choices"][0]["logprobs"]["token_logprobs"][0] is None


def test_curl_errors_are_typed_json(server):
    code, r = curl("-H", "Content-Type: application/json", "-d", "{}", server["url"] + "/v1/score")
    assert (code, r["error"]["code"]) == (401, "Unauthorized")
    auth = ["-H", f"Authorization: Bearer {server['key']}", "-H", "Content-Type: application/json"]
    code, r = curl(*auth, "-d", '{"prompts": [', server["url"] + "/v1/score")
    assert (code, r["error"]["code"]) == (400, "RequestInvalid")
    big = json.dumps({"prompts": ["x" * 3_000_000], "candidates": [["a"]]})
    p = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}", *auth, "--data-binary", "@-", server["url"] + "/v1/score"], input=big, capture_output=True, text=True)
    body, _, code = p.stdout.rpartition("\n")
    assert int(code) == 413 and json.loads(body)["error"]["code"] == "PayloadTooLarge"
    code, r = curl(*auth, "-d", json.dumps({"prompt": "a", "max_tokens": 3}), server["url"] + "/v1/completions")
    assert (code, r["error"]["code"]) == (400, "GenerationNotServed")
    code, r = curl(server["url"] + "/health")
    assert code == 200 and r["status"] == "ok"
