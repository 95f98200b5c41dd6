"""The official `openai` package against the server's /v1/completions (scoring: echo, logprobs,
max_tokens 0|1; text and token-id prompts), numbers equal Policy.score in-process."""
import openai
import pytest

from glam_client import Client


def _client(server):
    return openai.OpenAI(base_url=server["url"] + "/v1", api_key=server["key"], max_retries=0)


A = "Goal of the agent: go to the red ball\nAction 0: "
B = "go forward"


def test_echo_logprobs_equal_policy_score(server, inprocess):
    c = _client(server)
    ids = Client(server["url"], api_key=server["key"]).tokenize(A + B)
    r = c.completions.create(model="glam-builtin", prompt=A + B, echo=True, logprobs=1, max_tokens=0)
    assert r.object == "text_completion"
    ch = r.choices[0]
    assert ch.text == A + B and ch.index == 0
    lp = ch.logprobs
    assert len(lp.tokens) == len(ids) and lp.text_offset[0] == 0
    assert lp.token_logprobs[0] is None and lp.top_logprobs[0] is None
    # Policy.scoreTokens with the first token as the prompt and the rest as one candidate
    ref = inprocess([ids[:1]], [[ids[1:]]], tokens=True)
    assert lp.token_logprobs[1:] == pytest.approx(ref["tokenLogprobs"], abs=1e-5)
    for t in range(1, len(lp.tokens)):
        assert lp.top_logprobs[t][lp.tokens[t]] == lp.token_logprobs[t]
        assert 1 <= len(lp.top_logprobs[t]) <= 2
    assert r.usage.prompt_tokens == len(ids) and r.usage.completion_tokens == 0


def test_token_id_prompts(server, inprocess):
    c = _client(server)
    g = Client(server["url"], api_key=server["key"])
    ids_a, ids_b = g.tokenize(A), g.tokenize(B, add_special_tokens=False)
    r = c.completions.create(model="glam-builtin", prompt=ids_a + ids_b, echo=True, logprobs=0, max_tokens=0)
    ref = inprocess([ids_a], [[ids_b]], tokens=True)
    got = r.choices[0].logprobs.token_logprobs
    assert len(got) == len(ids_a) + len(ids_b)
    assert got[len(ids_a):] == pytest.approx(ref["tokenLogprobs"], abs=1e-5)
    assert sum(got[len(ids_a):]) == pytest.approx(ref["logprobs"][0], abs=1e-4)
    many = c.completions.create(model="glam-builtin", prompt=[ids_a, ids_a + ids_b], echo=True, logprobs=0, max_tokens=0)
    assert [ch.index for ch in many.choices] == [0, 1]
    assert many.choices[1].logprobs.token_logprobs == pytest.approx(got, abs=1e-5)


def test_max_tokens_one_is_the_greedy_next_token(server):
    c = _client(server)
    r = c.completions.create(model="glam-builtin", prompt=A, echo=False, logprobs=5, max_tokens=1, temperature=0)
    lp = r.choices[0].logprobs
    assert len(lp.tokens) == 1 and r.usage.completion_tokens == 1
    top = lp.top_logprobs[0]
    assert max(top.values()) == pytest.approx(lp.token_logprobs[0])
    assert r.choices[0].text == lp.tokens[0]


def test_generation_is_a_typed_400(server):
    c = _client(server)
    with pytest.raises(openai.BadRequestError) as e:
        c.completions.create(model="glam-builtin", prompt=A, max_tokens=5)
    assert e.value.code == "GenerationNotServed"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=server["url"] + "/v1", api_key="nope", max_retries=0).completions.create(model="glam-builtin", prompt=A, max_tokens=0)
    assert [m.id for m in c.models.list().data] == ["glam-builtin"]
