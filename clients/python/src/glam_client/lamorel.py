"""A Lamorel-shaped front for a glam server: the calls of lamorel's `Caller` that GLAM's loop makes.

    # from lamorel import Caller;  lm = Caller(config, custom_module_functions={'value': ValueModuleFn(...)})
    from glam_client import LamorelCaller
    lm = LamorelCaller("http://127.0.0.1:8000", api_key="...")
    scores = lm.score(contexts, candidates)                    # per context: each candidate's summed log-prob
    values = lm.custom_module_fns(['value'], contexts=contexts) # per context: {'value': v}

Lamorel returns torch tensors; this returns numpy arrays when numpy is installed, else lists. `update`
(a torch loss run inside Lamorel's servers) has no HTTP equivalent: compute the loss in Python and use
Client.forward / backward / step, as examples/ppo_update.py does.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

from .client import Client

try:
    import numpy as _np
except ImportError:  # pure-Python fallback
    _np = None


def _array(xs: list):
    return _np.asarray(xs, dtype=_np.float32) if _np is not None else list(xs)


class LamorelCaller:
    def __init__(self, url: Union[str, Client] = "http://127.0.0.1:8000", api_key: Optional[str] = None, **client_kw):
        self.client = url if isinstance(url, Client) else Client(url, api_key=api_key, **client_kw)
        self.value_head_trained: Optional[bool] = None

    def score(self, contexts: Sequence[str], candidates: Sequence[Sequence[str]], additional_module_function_keys: Sequence[str] = (), **kw):
        """Per context, the candidates' summed log-probs (Lamorel's `score`); with additional keys, Lamorel's
        dict shape: per context {'__score': scores, key: ...}."""
        r = self.client.score(contexts, candidates)
        self.value_head_trained = r.value_head_trained
        if not additional_module_function_keys:
            return [_array(s.logprobs) for s in r]
        return [self._module_outputs(s, additional_module_function_keys, with_score=True) for s in r]

    def custom_module_fns(self, module_function_keys: Sequence[str], contexts: Sequence[str], candidates: Optional[Sequence[Sequence[str]]] = None, **kw):
        """Per context a dict of the named heads: 'value' (GLAM's value head) and 'score' (summed log-probs)."""
        if candidates is None:
            if any(k != "value" for k in module_function_keys):
                raise ValueError("module functions other than 'value' need candidates")
            vals = self.client.values(contexts)
            self.value_head_trained = vals.value_head_trained
            return [{"value": _array([v])} for v in vals]
        r = self.client.score(contexts, candidates)
        self.value_head_trained = r.value_head_trained
        return [self._module_outputs(s, module_function_keys, with_score=False) for s in r]

    @staticmethod
    def _module_outputs(s, keys, with_score: bool) -> dict:
        out: dict = {"__score": _array(s.logprobs)} if with_score else {}
        for k in keys:
            if k == "value":
                out["value"] = _array([s.value])
            elif k == "score":
                out["score"] = _array(s.logprobs)
            else:
                raise ValueError(f"unknown module function '{k}': a glam server has 'value' and 'score'")
        return out

    def update(self, *args, **kw):
        raise NotImplementedError("glam runs the loss client-side: use Client.forward/backward/step (see clients/python/examples/ppo_update.py)")

    def generate(self, *args, **kw):
        raise NotImplementedError("a glam server scores and does not generate; use /v1/completions with max_tokens 1 for the greedy next token")

    def close(self) -> None:
        pass
