from __future__ import annotations

import re

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


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_text_is_already_normal(text: str) -> None:
    """The shortcut for ASCII text gives what the full normalisation gives."""
    from grader.text import _normalize

    assert normalize_text(text) == _normalize(text)


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
    [" ", "  ", "\u00a0", "\t", ",", ";", ":", "-", ")", "(", "a", "b", "1", "I", "iv", "and",
     "AND", "But", "whereas", "rather than", "it", "they", "You", "not", "NOT", "first", "Firſt",
     "lastly", "ly", "Dropout", "slows", "\u212a", "."]
)  # fmt: skip

#: The clause pattern as first written, without the first-character test in front: the
#: reference the faster form must agree with.
_CLAUSE_BREAK_AS_WRITTEN = re.compile(
    r"\s*;\s*|\s+-\s+|,?\s+(?=(?:but|whereas|however|although|though|while|yet|unlike|"
    r"instead|rather than)\b)|,\s+(?=not\b)"
    r"|,?\s+and\s+(?=(?:it|they|this|that|these|those|we|you)\b)"
    r"|[:,;]?\s*(?:\band\s+)?\(?\b(?:\d|[a-e]|i{1,3}|iv)\)\s+"
    r"|[:,;]\s*(?:and\s+)?(?=(?:first|second|third|finally|lastly)(?:ly)?\b)",
    re.IGNORECASE,
)
_SENTENCE_END_AS_WRITTEN = re.compile(
    r"(?<=[a-z]{3}[.!?])\s+(?=[a-z]{3})|(?<=[.!?])\s+(?=[\"'(\[A-Z0-9*])|(?<=[.!?])(?=[A-Z][a-z])"
)


@given(st.lists(_PIECES, max_size=30).map("".join))
def test_the_clause_prefilter_never_skips_a_break(sentence: str) -> None:
    """`_may_break` is only a shortcut: a sentence it passes over has no clause break."""
    from grader.text import _CLAUSE_BREAK, _may_break

    if not _may_break(sentence):
        assert _CLAUSE_BREAK.search(sentence) is None
        assert _CLAUSE_BREAK_AS_WRITTEN.search(sentence) is None


@given(st.lists(_PIECES, max_size=30).map("".join))
def test_clauses_are_cut_where_the_pattern_as_written_cuts_them(sentence: str) -> None:
    from grader.text import _CLAUSE_BREAK

    assert _CLAUSE_BREAK.split(sentence) == _CLAUSE_BREAK_AS_WRITTEN.split(sentence)


@given(
    st.lists(
        st.sampled_from(["Dropout", "slows", "ab", "A", "x", "1", '"', "(", ".", "!", "?", " "]),
        max_size=20,
    ).map("".join)
)
def test_sentences_end_where_the_pattern_as_written_ends_them(block: str) -> None:
    from grader.text import _SENTENCE_END

    assert _SENTENCE_END.split(block) == _SENTENCE_END_AS_WRITTEN.split(block)


def test_a_subject_that_looks_like_a_regex_template_is_read_as_text() -> None:
    """LaTeX such as "\\gamma" once crashed a whole batch: the subject was used as a re.sub
    template."""
    units = split_units(
        "\\gamma: it scales the output. It is learned.\n\n\\g<0> works.\n\nIt is odd."
    )
    assert [u.for_matching for u in units] == [
        r"\gamma: it scales the output.",
        r"\gamma is learned.",
        r"\g<0> works.",
        r"\g<0> is odd.",
    ]


def test_sentence_like_shortcuts_keep_the_list_rule() -> None:
    # two separators: three fragments, all short, no verb → a list of keywords
    assert not is_sentence_like("symmetry of the weights, He init, backprop through layers")
    # a long fragment: not a list, whatever the separators
    assert is_sentence_like("symmetry, He init, the weights are all equal at the start here")
    # verbs in two fragments: not a list
    assert is_sentence_like("weights are equal, biases are zero, gradients match")


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
