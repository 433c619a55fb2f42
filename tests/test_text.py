from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.text import (
    content_tokens,
    is_negated,
    is_sentence_like,
    normalize_text,
    split_blocks,
    split_sentences,
    split_units,
    stem,
    tokenize,
)


@given(st.text())
def test_normalising_twice_changes_nothing(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


def test_normalize_cleans_what_editors_insert() -> None:
    raw = "It\u2019s \u201cfine\u201d\u00a0\u200bwith \u2113\u2081\r\nnext\rline"
    assert normalize_text(raw) == 'It\'s "fine" with l1\nnext\nline'


@pytest.mark.parametrize(
    ("text", "negated"),
    [
        ("Dropout does not slow down inference.", True),
        ("Dropout doesn't slow down inference", True),
        ("dropout doesnt slow inference", True),
        ("It has no impact on inference", True),
        ("Dropout slows down inference.", False),
        ("No, dropout slows down training.", False),
        ("Yes, it is okay.", False),
        ("Not only training but inference slows too", False),
        ("Quantization is not a sparsity method", True),
    ],
)
def test_negation(text: str, negated: bool) -> None:
    assert is_negated(text) is negated


def test_sentences_respect_abbreviations_and_decimals() -> None:
    text = "Momentum near 1 (e.g. 0.99999) is risky. It overshoots! Does it converge? Rarely."
    assert split_sentences(text) == [
        "Momentum near 1 (e.g. 0.99999) is risky.",
        "It overshoots!",
        "Does it converge?",
        "Rarely.",
    ]


def test_blocks_strip_markdown_and_read_tables() -> None:
    text = "1. **Pruning**: zero out\ntiny weights\n\n| ELU | good default |\n|---|---|\n- *L1*"
    assert split_blocks(text) == ["Pruning: zero out tiny weights", "ELU: good default", "L1"]


def test_units_add_clauses_for_contrasts() -> None:
    units = split_units("Dropout slows training, but it does not slow inference.")
    assert [u.text for u in units] == [
        "Dropout slows training, but it does not slow inference.",
        "Dropout slows training",
        "but it does not slow inference.",
    ]
    assert [u.is_clause for u in units] == [False, True, True]
    assert units[2].for_matching == "Dropout does not slow inference."


def test_pronouns_are_read_with_the_previous_subject() -> None:
    units = split_units("The ELU function is smooth. It also avoids dying units.")
    assert units[1].text == "It also avoids dying units."
    assert units[1].for_matching == "The ELU function also avoids dying units."


def test_tokens_and_stems() -> None:
    assert tokenize("Doesn't it? OK, 0.") == ["does", "not", "it", "okay", "zero"]
    assert stem("initialization") == stem("initialized") == stem("initialize")
    assert stem("relu") != stem("elu")
    assert content_tokens("The weights are not the same") == ["weight", "same"]


def test_sentence_like() -> None:
    assert is_sentence_like("The weights should be sampled independently.")
    assert not is_sentence_like("biases, zero, default, symmetry")
    assert is_sentence_like("It normalizes the inputs of each layer.")  # a verb we do not list


_PIECES = st.sampled_from(
    [" ", "  ", "\u00a0", ",", ";", ":", "-", ")", "(", "a", "b", "1", "I", "and", "But",
     "whereas", "it", "they", "not", "first", "rather than", "Dropout", "slows", "."]
)  # fmt: skip


@given(st.lists(_PIECES, max_size=30).map("".join))
def test_the_clause_prefilter_never_skips_a_break(sentence: str) -> None:
    """`_MAY_BREAK` is only a shortcut: a sentence it passes over has no clause break."""
    from grader.text import _CLAUSE_BREAK, _MAY_BREAK

    if _MAY_BREAK.search(sentence) is None:
        assert _CLAUSE_BREAK.search(sentence) is None


@given(
    st.lists(
        st.sampled_from(["e.g.", "E.G.", "i.e", "etc", ".", " ", "\n", "vs", "w.r.t.", "al", "x"]),
        max_size=20,
    ).map("".join)
)
def test_sentences_are_split_the_same_with_or_without_the_abbreviation_shortcut(block) -> None:
    """The shortcut that skips the abbreviation pattern changes no split."""
    from grader.text import _ABBREVIATIONS, _SENTENCE_END

    protected = _ABBREVIATIONS.sub(lambda m: m.group(0).replace(".", "\x00"), block)
    parts = _SENTENCE_END.split(protected)
    expected = [p.replace("\x00", ".").strip() for p in parts if p and p.strip()]
    assert split_sentences(block) == expected
