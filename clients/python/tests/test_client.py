"""glam_client.Client against a live server: numbers equal Policy.score in-process, values with the
untrained flag, typed errors, tokenizer calls."""
import pytest

from glam_client import Client, GlamAPIError

PROMPTS = [
    "Goal of the agent: go to the red ball\nObservation 0: You see a red ball 2 steps forward\nAction 0: ",
    "Goal of the agent: open the door\nAction 0: ",
]
CANDS = [["turn left", "turn right", "go forward"], ["toggle", "go forward", "pick up", "drop"]]


def test_score_equals_policy_score_in_process(server, inprocess):
    c = Client(server["url"], api_key=server["key"])
    r = c.score(PROMPTS, CANDS, token_logprobs=True)
    ref = inprocess(PROMPTS, CANDS)
    assert r.value_head_trained is False
    n = 0
    for b, s in enumerate(r):
        assert len(s.logprobs) == len(CANDS[b])
        for k in range(len(CANDS[b])):
            assert s.logprobs[k] == pytest.approx(ref["logprobs"][n], abs=1e-5)
            assert s.probs[k] == pytest.approx(ref["probs"][n], abs=1e-5)
            assert s.tokens[k] == ref["tokens"][n]
            lo, hi = ref["tokenOffset"][n], ref["tokenOffset"][n + 1]
            assert s.token_logprobs[k] == pytest.approx(ref["tokenLogprobs"][lo:hi], abs=1e-5)
            n += 1
        assert s.value == pytest.approx(ref["values"][b], abs=1e-5)
        assert sum(s.probs) == pytest.approx(1.0, abs=1e-5)


def test_joint_tokenization_and_naive_mode(server, inprocess):
    c = Client(server["url"], api_key=server["key"])
    for opts in ({"tokenization": "joint"}, {"mode": "naive"}):
        r = c.score(PROMPTS, CANDS, **opts)
        ref = inprocess(PROMPTS, CANDS, opts)
        assert [x for s in r for x in s.logprobs] == pytest.approx(ref["logprobs"], abs=1e-5)


def test_values_carry_the_untrained_flag(server, inprocess):
    c = Client(server["url"], api_key=server["key"])
    v = c.values(PROMPTS)
    assert v.value_head_trained is False
    assert list(v) == pytest.approx(inprocess(PROMPTS, CANDS)["values"], abs=1e-5)


def test_typed_errors(server):
    c = Client(server["url"], api_key=server["key"])
    with pytest.raises(GlamAPIError) as e:
        c.score(["go " * 3000], [["x"]])
    assert (e.value.status, e.value.code) == (422, "SequenceTooLong")
    with pytest.raises(GlamAPIError) as e:
        c.score(["a"], [["x"], ["y"]])
    assert (e.value.status, e.value.code) == (400, "BatchInvalid")
    with pytest.raises(GlamAPIError) as e:
        Client(server["url"], api_key="wrong").score(["a"], [["x"]])
    assert (e.value.status, e.value.code) == (401, "Unauthorized")
    with pytest.raises(GlamAPIError) as e:
        c.step(lr=1e-3)
    assert (e.value.status, e.value.code) == (403, "TrainingDisabled")


def test_tokenize_round_trip(server):
    c = Client(server["url"], api_key=server["key"])
    ids = c.tokenize("go to the red ball")
    assert all(isinstance(i, int) for i in ids)
    assert c.detokenize(ids) == "go to the red ball"
    assert c.health()["status"] == "ok"
