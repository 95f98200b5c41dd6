"""The Lamorel-shaped adapter: `score` gives each context's candidates' summed log-probs (Lamorel's
Caller.score), `custom_module_fns(['value'], contexts)` the value head per context."""
import numpy as np
import pytest

from glam_client import Client, LamorelCaller

CONTEXTS = ["Goal of the agent: go to the red ball\nAction 0: ", "Goal of the agent: pick up the key\nAction 0: "]
CANDS = [["turn left", "go forward"], ["pick up", "drop", "toggle"]]


def test_score_and_values_like_lamorel(server, inprocess):
    lm = LamorelCaller(server["url"], api_key=server["key"])
    scores = lm.score(CONTEXTS, CANDS)
    ref = inprocess(CONTEXTS, CANDS)
    assert [s.shape for s in scores] == [(2,), (3,)]
    assert np.concatenate(scores) == pytest.approx(ref["logprobs"], abs=1e-5)
    vals = lm.custom_module_fns(["value"], contexts=CONTEXTS)
    assert [float(v["value"][0]) for v in vals] == pytest.approx(ref["values"], abs=1e-5)
    assert lm.value_head_trained is False
    both = lm.score(CONTEXTS, CANDS, additional_module_function_keys=["value"])
    assert float(both[1]["value"][0]) == pytest.approx(ref["values"][1], abs=1e-5)
    assert both[0]["__score"] == pytest.approx(scores[0], abs=1e-6)
    with pytest.raises(NotImplementedError):
        lm.update(CONTEXTS, CANDS)
    with pytest.raises(ValueError):
        lm.custom_module_fns(["policy_head"], contexts=CONTEXTS)
