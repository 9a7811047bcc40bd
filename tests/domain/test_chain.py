"""The server-secret hash chain of a recurring plan (SRDP-1 §3.3, shuangsuiji/domain/chain.py)."""

from __future__ import annotations

import pytest

from shuangsuiji.domain import chain, srdp

SEED = "ab" * 32


def test_the_hash_chain_reveals_one_link_per_batch():
    tip = chain.tip(SEED, 12)
    links = [chain.secret(SEED, j, 12) for j in range(1, 13)]
    assert len(set(links)) == 12 and links[11] == SEED
    for j, secret in enumerate(links, 1):
        assert chain.reaches_tip(secret, j, tip)
        previous = tip if j == 1 else links[j - 2]
        assert srdp.server_commitment(secret) == previous  # what the batch's plan.json carries
    assert not chain.reaches_tip(links[3], 3, tip)
    assert not chain.reaches_tip(links[0], 0, tip)
    assert not chain.reaches_tip("密值", 1, tip)
    with pytest.raises(ValueError):
        chain.secret(SEED, 13, 12)


def _manifest(value: str) -> dict:
    return {
        "randomness": [
            {"label": "server", "kind": "server", "value": value},
            {"label": "lottery", "kind": "text", "value": "12 34 56"},
        ]
    }


def _link(index: int = 4) -> chain.Link:
    return chain.Link(chain.tip(SEED, 12), 12, index, f"2027-{index:02d}", "server")


def test_chain_json_round_trips():
    link = _link()
    assert chain.parse(link.as_json()) == link


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"{}",
        b'{"chain_tip": "x", "length": 12, "index": 1, "batch_key": "k", "label": "server"}',
    ],
)
def test_a_broken_chain_json_is_named(data):
    with pytest.raises(chain.ChainFileError):
        chain.parse(data)


def test_the_revealed_value_of_the_batch_leads_to_the_tip():
    link = _link(4)
    assert chain.problems(link, _manifest(chain.secret(SEED, 4, 12))) == []
    assert chain.problems(link, _manifest(chain.secret(SEED, 4, 12)), published_tip=link.tip) == []


def test_a_tampered_revealed_value_fails():
    link = _link(4)
    tampered = chain.secret(SEED, 4, 12)[:-1] + "0"
    [problem] = chain.problems(link, _manifest(tampered))
    assert "randomness.server" in problem and link.tip in problem
    # Another batch's link does not pass for this one.
    assert chain.problems(link, _manifest(chain.secret(SEED, 5, 12)))


def test_a_tip_other_than_the_published_one_fails():
    other = chain.Link(chain.tip("cd" * 32, 12), 12, 4, "2027-04", "server")
    revealed = _manifest(chain.secret("cd" * 32, 4, 12))
    assert chain.problems(other, revealed) == []  # consistent in itself…
    [problem] = chain.problems(other, revealed, published_tip=chain.tip(SEED, 12))
    assert "published tip" in problem  # …but not the chain the plan published


def test_a_manifest_without_the_server_value_fails():
    [problem] = chain.problems(_link(), {"randomness": [{"label": "x", "kind": "text"}]})
    assert "no server value" in problem
