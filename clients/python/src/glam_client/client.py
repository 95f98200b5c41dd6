"""The HTTP client of `glam serve` (urllib only, no dependencies).

Every call is one JSON POST/GET; an error answer raises GlamAPIError with the server's typed `code`
(e.g. SequenceTooLong, Overloaded). 429 answers are retried after their Retry-After (max_retries).
Values come with `value_head_trained`: False means the value head is freshly initialised (random).
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence


class GlamAPIError(Exception):
    """An error answer: HTTP status, the server's error code and its message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Scored:
    """One prompt's candidates: summed log-probs, probabilities (softmax over them), token counts, the value."""

    logprobs: list
    probs: list
    tokens: list
    value: float
    token_logprobs: Optional[list] = None


class ScoreList(list):
    """A list of Scored (one per prompt) with the response's `value_head_trained` and `usage`."""

    value_head_trained: bool = False
    usage: dict = {}


class ValueList(list):
    """A list of values (one per prompt) with `value_head_trained`."""

    value_head_trained: bool = False


@dataclass
class Forward:
    """A training forward: the scores and the single-use handle its backward needs."""

    handle: str
    results: ScoreList = field(default_factory=ScoreList)


def _scored(results: list) -> list:
    out = []
    for r in results:
        cands = r.get("candidates", [])
        out.append(Scored(
            logprobs=[c["logprob"] for c in cands], probs=[c["prob"] for c in cands], tokens=[c["tokens"] for c in cands],
            value=r["value"], token_logprobs=[c["token_logprobs"] for c in cands] if cands and "token_logprobs" in cands[0] else None,
        ))
    return out


class Client:
    def __init__(self, url: str = "http://127.0.0.1:8000", api_key: Optional[str] = None, timeout: float = 300.0, max_retries: int = 5):
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries

    # -- transport -------------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One call; returns the parsed JSON answer (or text for /metrics)."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"content-type": "application/json"} if data is not None else {}
        if self.api_key:
            headers["authorization"] = f"Bearer {self.api_key}"
        for attempt in range(self.max_retries + 1):
            req = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as r:
                    text = r.read().decode("utf-8")
                    return json.loads(text) if r.headers.get_content_type() == "application/json" else text
            except urllib.error.HTTPError as e:
                text = e.read().decode("utf-8", "replace")
                if e.code == 429 and attempt < self.max_retries:
                    time.sleep(float(e.headers.get("retry-after") or 1))
                    continue
                try:
                    err = json.loads(text)["error"]
                    raise GlamAPIError(e.code, err.get("code", "Unknown"), err.get("message", text)) from None
                except (ValueError, KeyError, TypeError):
                    raise GlamAPIError(e.code, "Unknown", text) from None
        raise AssertionError("unreachable")

    # -- scoring ---------------------------------------------------------------------------------
    def score(self, contexts: Sequence[str], candidates: Sequence[Sequence[str]], *, mode: Optional[str] = None,
              tokenization: Optional[str] = None, token_logprobs: bool = False) -> ScoreList:
        """Each context's candidates scored in the server's fused pass (POST /v1/score)."""
        options: dict = {"token_logprobs": token_logprobs}
        if mode:
            options["mode"] = mode
        if tokenization:
            options["tokenization"] = tokenization
        r = self.request("POST", "/v1/score", {"prompts": list(contexts), "candidates": [list(c) for c in candidates], "options": options})
        out = ScoreList(_scored(r["results"]))
        out.value_head_trained = r["value_head_trained"]
        out.usage = r["usage"]
        return out

    def values(self, contexts: Sequence[str]) -> ValueList:
        """The value head's output per context; check `.value_head_trained` before trusting them."""
        r = self.request("POST", "/v1/score", {"prompts": list(contexts)})
        out = ValueList(x["value"] for x in r["results"])
        out.value_head_trained = r["value_head_trained"]
        return out

    def tokenize(self, text: str, add_special_tokens: bool = True) -> list:
        return self.request("POST", "/tokenize", {"prompt": text, "add_special_tokens": add_special_tokens})["tokens"]

    def detokenize(self, tokens: Sequence[int]) -> str:
        return self.request("POST", "/detokenize", {"tokens": list(tokens)})["prompt"]

    def health(self) -> dict:
        return self.request("GET", "/health")

    # -- training (server started with --allow-training) -----------------------------------------
    def forward(self, contexts: Sequence[str], candidates: Sequence[Sequence[str]], tokenization: Optional[str] = None) -> Forward:
        """Log-probs and values with gradients kept on the server; pass the handle to backward once."""
        body: dict = {"prompts": list(contexts), "candidates": [list(c) for c in candidates]}
        if tokenization:
            body["options"] = {"tokenization": tokenization}
        r = self.request("POST", "/v1/train/forward", body)
        results = ScoreList(_scored(r["results"]))
        results.value_head_trained = r["value_head_trained"]
        return Forward(handle=r["handle"], results=results)

    def backward(self, handle: str, d_logprobs: Sequence, d_values: Sequence[float]) -> None:
        """Accumulates the gradients of sum(d_logprobs * logprobs) + sum(d_values * values).

        d_logprobs: one number per candidate, flat or per context (nested lists or numpy arrays)."""
        flat = [float(x) for row in d_logprobs for x in (row if hasattr(row, "__iter__") else [row])]
        self.request("POST", "/v1/train/backward", {"handle": handle, "d_logprobs": flat, "d_values": [float(v) for v in d_values]})

    def step(self, lr: float, betas: Optional[Sequence[float]] = None, eps: Optional[float] = None,
             weight_decay: Optional[float] = None, max_grad_norm: Optional[float] = None) -> float:
        """Clips and applies AdamW; returns the gradient norm before clipping."""
        body: dict = {"lr": lr}
        for k, v in (("betas", list(betas) if betas else None), ("eps", eps), ("weight_decay", weight_decay), ("max_grad_norm", max_grad_norm)):
            if v is not None:
                body[k] = v
        return self.request("POST", "/v1/train/step", body)["grad_norm"]

    def zero_grad(self) -> None:
        self.request("POST", "/v1/train/zero_grad", {})

    def save(self, directory: str) -> str:
        """Writes a checkpoint to `directory` under the server's --train-root; returns that relative path."""
        return self.request("POST", "/v1/train/save", {"dir": directory})["dir"]
