"""Pure text helpers: normalising, splitting answers into sentences and clauses, tokens, negation."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# --- normalising ---------------------------------------------------------------------------

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_PUNCT_MAP = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2013": "-",
        "\u2014": " - ",
        "\u2212": "-",
        "\u2022": "-",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\u2026": "...",
    }
)


def normalize_text(text: str) -> str:
    """Canonical text: Unix newlines, NFKC (so 'ℓ1' reads 'l1'), plain quotes and spaces,
    no zero-width characters. Idempotent."""
    if text.isascii() and "\r" not in text:
        return text  # NFKC and the maps above change no ASCII character
    return _normalize(text)


def _normalize(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_ZERO_WIDTH).translate(_PUNCT_MAP)
    return unicodedata.normalize("NFKC", text)


# --- splitting -----------------------------------------------------------------------------

_LIST_MARKER = re.compile(r"^\s*(?:[-*+>]|\d{1,2}[.)]|[a-z][.)]|\(?[ivx]{1,4}\))\s+", re.IGNORECASE)
_HEADING_MARKER = re.compile(r"^\s*#{1,6}\s*")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}")
_ABBREVIATIONS = re.compile(
    r"\b(e\.g|i\.e|etc|vs|approx|fig|eq|cf|al|mr|ms|dr|resp|incl|w\.r\.t)\.(?=\s)", re.IGNORECASE
)
#: What every abbreviation above contains (a cheap test before the pattern runs).
_ABBREVIATION_MARKS = (
    "e.g.", "i.e.", "etc.", "vs.", "approx.", "fig.", "eq.", "cf.", "al.", "mr.", "ms.", "dr.",
    "resp.", "incl.", "w.r.t.",
)  # fmt: skip
# A sentence ends at . ! ? before a space (abbreviations are protected first) or before a
# capitalised word glued to it ("slow.Dropout").
# (The shared "(?<=[.!?])" comes first, so that the engine rejects most positions at once.)
_SENTENCE_END = re.compile(
    r"(?<=[.!?])(?:(?<=[a-z]{3}[.!?])\s+(?=[a-z]{3})|\s+(?=[\"'(\[A-Z0-9*])|(?=[A-Z][a-z]))"
)
# Clause boundaries that change what a negation or a claim is about.
_CLAUSE_BREAK = re.compile(
    # every break begins with one of these: a cheap test that rejects most positions at once
    r"(?=[\s;,:(]|and\s|(?:\d|[a-e]|i{1,3}|iv)\))"
    r"(?:\s*;\s*|\s+-\s+|,?\s+(?=(?:but|whereas|however|although|though|while|yet|unlike|"
    r"instead|rather than)\b)|,\s+(?=not\b)"
    # "X slows training and it also slows inference": a second claim with its own subject
    r"|,?\s+and\s+(?=(?:it|they|this|that|these|those|we|you)\b)"
    # inline enumerations: "three ways: 1) A, 2) B and 3) C", "(a) ... (b) ...", "firstly, ..."
    r"|[:,;]?\s*(?:\band\s+)?\(?\b(?:\d|[a-e]|i{1,3}|iv)\)\s+"
    r"|[:,;]\s*(?:and\s+)?(?=(?:first|second|third|finally|lastly)(?:ly)?\b))",
    re.IGNORECASE,
)

#: What every clause break contains: cheap tests that spare most sentences the full pattern. A
#: comma alone breaks nothing; it needs a "not", an enumeration's ")" or an ordinal after it.
_MAY_BREAK = re.compile(
    r"[;)]|\s-\s|\s(?:but|whereas|however|although|though|while|yet|unlike|instead|rather than)\b"
    r"|,\s+not\b|\sand\s+(?:it|they|this|that|these|those|we|you)\b"
    r"|first|second|third|finally|lastly",
    re.IGNORECASE,
)
#: `_MAY_BREAK` for lower-cased ASCII text, less the ordinals (tested with `in`): faster, since
#: each alternative starts with one of four characters.
_MAY_BREAK_LOWER_ASCII = re.compile(
    r"[\s,;)](?:(?<=[;)])|(?<=,)\s+not\b|(?<=\s)(?:-\s|and\s+(?:it|they|this|that|these|those|we|you)\b"
    r"|(?:but|whereas|however|although|though|while|yet|unlike|instead|rather than)\b))"
)


def _may_break(sentence: str) -> bool:
    """False only when `_CLAUSE_BREAK` cannot match `sentence`. (Beyond ASCII, case-insensitive
    matching has subtleties such as "ſ" matching "s": the IGNORECASE pattern decides.)"""
    if not sentence.isascii():
        return _MAY_BREAK.search(sentence) is not None
    lowered = sentence.lower()
    return (
        "first" in lowered
        or "second" in lowered
        or "third" in lowered
        or "finally" in lowered
        or "lastly" in lowered
        or _MAY_BREAK_LOWER_ASCII.search(lowered) is not None
    )


@dataclass(frozen=True, slots=True)
class Unit:
    """A piece of an answer the matcher compares with rubric phrasings."""

    text: str  # as the student wrote it: shown as evidence
    sentence: int  # index of the sentence it came from
    is_clause: bool  # a clause cut from a longer sentence
    reading: str = ""  # what is matched, when it differs ("it" replaced by its subject)

    @property
    def for_matching(self) -> str:
        return self.reading or self.text


def split_blocks(text: str) -> list[str]:
    """Paragraphs and list items, with Markdown decoration removed; table rows become
    'cell: cell' lines so a row reads like a sentence."""
    blocks: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            blocks.append(" ".join(current))
            current.clear()

    for raw_line in text.split("\n"):
        line = raw_line.strip()
        if not line or _TABLE_RULE.match(line):
            flush()
            continue
        if line.startswith("|") or line.count("|") >= 2:
            flush()
            cells = [c.strip() for c in line.strip("|").split("|") if c.strip()]
            if cells:
                blocks.append(": ".join(cells))
            continue
        is_item = bool(_LIST_MARKER.match(line) or _HEADING_MARKER.match(line))
        line = _HEADING_MARKER.sub("", _LIST_MARKER.sub("", line))
        line = _EMPHASIS.sub("", line).strip()
        if not line:
            continue
        if is_item:
            flush()
        current.append(line)
        if is_item and line.endswith(":"):
            flush()
    flush()
    return [b for b in blocks if b]


def split_sentences(block: str) -> list[str]:
    """Sentences of one block; abbreviations such as 'e.g.' do not end a sentence."""
    # ASCII text without any abbreviation's letters is left as it is, unscanned (beyond ASCII,
    # case-insensitive matching has subtleties such as "ſ" matching "s": the pattern decides).
    lowered = block.lower()
    skip = block.isascii() and not any(a in lowered for a in _ABBREVIATION_MARKS)
    protected = (
        block if skip else _ABBREVIATIONS.sub(lambda m: m.group(0).replace(".", "\x00"), block)
    )
    parts = _SENTENCE_END.split(protected)
    return [p.replace("\x00", ".").strip() for p in parts if p and p.strip()]


def split_clauses(sentence: str) -> list[str]:
    """Clauses of a sentence, cut where a contrast or a new claim begins."""
    pieces = _CLAUSE_BREAK.split(sentence) if _may_break(sentence) else [sentence]
    parts = [p.strip(" ,") for p in pieces]
    return [p for p in parts if _TOKEN.search(p.lower())]  # has a word token


_PRONOUN = re.compile(
    r"^(?:(?:but|and|however|yet|so|while|whereas|also)\s+)?(?:it|they)\s+", re.IGNORECASE
)


def subject_of(clause: str) -> str | None:
    """The words before the first verb, when they make a short noun phrase ("Dropout",
    "The ELU function"); None for clauses that open with a pronoun or a verb."""
    label, colon, rest = clause.partition(":")
    if colon and rest.strip() and 0 < len(label.split()) <= 4:
        return label.strip()  # "ELU (Exponential Linear Unit): ELU is ..." is about ELU
    words = clause.split()
    for index, word in enumerate(words[:5]):
        if word.lower().strip(",.:;") in _VERB_LIKE:
            subject = " ".join(words[:index])
            return subject if 0 < index <= 4 and not _PRONOUN.match(subject + " ") else None
    return None


def resolve_pronoun(clause: str, subject: str | None) -> str:
    """ "it also slows inference" → "Dropout also slows inference" when the subject is known,
    so that a claim made with a pronoun can stand alone."""
    match = _PRONOUN.match(clause) if subject else None
    # spliced, not substituted: a subject such as "\\gamma" is text, not a template
    return f"{subject} {clause[match.end() :]}" if match else clause


def split_units(text: str) -> list[Unit]:
    """Every sentence of an answer, followed by its clauses when it has more than one. A
    sentence or clause that opens with "it"/"they" is read with the subject of the sentence
    before it ("Dropout slows training. It also slows inference." makes a claim about
    dropout), while its evidence stays as written."""
    units: list[Unit] = []
    sentence_index = 0
    subject: str | None = None
    for block in split_blocks(text):
        for sentence in split_sentences(block):
            units.append(Unit(sentence, sentence_index, False, _reading(sentence, subject)))
            clauses = split_clauses(sentence)
            own_subject = subject_of(clauses[0]) if clauses else None
            if len(clauses) > 1:
                units.extend(
                    Unit(c, sentence_index, True, _reading(c, own_subject or subject))
                    for c in clauses
                )
            subject = own_subject or subject
            sentence_index += 1
    return units


def _reading(text: str, subject: str | None) -> str:
    resolved = resolve_pronoun(text, subject)
    return resolved if resolved != text else ""


# --- tokens --------------------------------------------------------------------------------

_CONTRACTIONS = [
    (re.compile(r"\b(can)(?:'|no)t\b"), r"\1 not"),
    (re.compile(r"\bwon'?t\b"), "will not"),
    (re.compile(r"\bshan'?t\b"), "shall not"),
    (
        re.compile(
            r"\b(do|does|did|is|are|was|were|has|have|had|should|would|could|must|need)n'?t\b"
        ),
        r"\1 not",
    ),
]
_TOKEN = re.compile(r"[a-z0-9]+")
_CANONICAL = {
    "ok": "okay",
    "0": "zero",
    "1": "one",
    "2": "two",
    "3": "three",
    "fine": "okay",
    # comparatives the suffix stripper does not undo
    "faster": "fast",
    "quicker": "fast",
    "slower": "slow",
    "smaller": "small",
    "bigger": "large",
    "larger": "large",
    "longer": "long",
    "higher": "high",
    "lower": "low",
    "smoother": "smooth",
    "cheaper": "cheap",
    "simpler": "simple",
    "easier": "easy",
    # one word for one idea, whichever a student picks
    "predictions": "inference",
    "prediction": "inference",
    "predicting": "inference",
    "disabled": "off",
    "deactivated": "off",
    "inactive": "off",
    "switched": "turned",
    "zeros": "zero",
    "zeroes": "zero",
    "centred": "centered",
}

NEGATIONS = frozenset(
    {"not", "no", "never", "neither", "nor", "without", "none", "nothing", "cannot", "nobody"}
)
#: Phrases whose negation word does not negate the claim.
_NON_NEGATING = re.compile(
    r"\b(not only|not just|no matter|no doubt|nothing but|not necessarily wrong)\b"
)
# "Yes" opens a verdict however it is followed; "No" only when punctuation or nothing follows,
# since "no dead neurons" is a negation, not an answer.
_LEADING_PARTICLE = re.compile(
    r"^\s*(?:(yes|yeah|yep)\b[\s,.:;!-]*|(no|nope)(?:[,.:;!-]+\s*|\s*$))", re.IGNORECASE
)

FUNCTION_WORDS = frozenset(
    """a an the is are was were be been being am it its this that these those there their
    they them he she we you i my our your his her of to in on at by for from with as into onto
    over under about than then so because since if when while which who whom what how why and or
    but also can could will would should shall may might must do does did has have had
    very more most less much many such each every all any some other only just even still
    yes yeah up down out""".split()
)


@lru_cache(maxsize=65536)
def expand_contractions(text: str) -> str:
    """Lower-cased, with "doesn't", "cannot" and the like spelled out (cached: the same clause
    is tokenised at several stages)."""
    text = text.lower().replace("\u2019", "'").replace("nonzero", "non zero")
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return text


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens with contractions expanded ("doesn't" → "does", "not")."""
    return [_CANONICAL.get(t, t) for t in _TOKEN.findall(expand_contractions(text))]


_SUFFIXES = (
    "izations", "isations", "ization", "isation", "ations", "ation", "izing", "ising", "ized",
    "ised", "izes", "ises", "ize", "ise", "ingly", "ings", "ing", "edly", "ed", "ies", "ly",
    "ness", "ments", "ment", "es", "s",
)  # fmt: skip


@lru_cache(maxsize=65536)
def stem(token: str) -> str:
    """A light suffix stripper: enough to meet 'initialized' with 'initialization'."""
    if len(token) <= 4 or not token.isalpha():
        plural = len(token) == 4 and token.endswith("s") and token[-2] not in "su"
        return token[:-1] if plural else token
    for suffix in _SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            if suffix == "s" and token.endswith(("ss", "us", "is")):
                return token
            base = token[: -len(suffix)]
            return base + "y" if suffix == "ies" else base
    return token


PARTICLES = frozenset({"yes", "no"})

#: Verbs that deny what follows, like a "not": "avoids the dying ReLU problem" says what "does
#: not have the dying ReLU problem" says. They mark scope and are not content words themselves.
NEGATING_VERBS = frozenset(
    """avoid avoids avoided avoiding prevent prevents prevented preventing eliminate eliminates
    eliminated eliminating mitigate mitigates mitigated mitigating alleviate alleviates
    alleviated alleviating overcome overcomes overcoming solve solves solved solving fix fixes
    fixed fixing reduce reduces reduced reducing decrease decreases decreased decreasing
    lack lacks lacking stop stops stopped""".split()
)
_SCOPE_TOKEN = re.compile(r"[a-z0-9]+|[,;:()!?.\[\]]")
#: Words that open a new clause: a negation before them does not reach past them.
_SCOPE_BOUNDARIES = frozenset(
    """but because since although though whereas while which and so yet as when if unlike
    however instead""".split()
)


@lru_cache(maxsize=131072)
def marked_content_tokens(text: str, *, whole_clause: bool = False) -> tuple[tuple[str, bool], ...]:
    """Content tokens, each with whether a negation governs it: a cue ("not", "no", "without",
    "avoids", ...) governs the content words after it up to the end of its clause segment
    (punctuation or a clause word such as "but", "because", "and"). Words before the cue are
    its subject and stay affirmed: in "initializing biases to zero does not break symmetry"
    only "break symmetry" is denied. (Governing the whole segment measured worse on the
    DL_Assignment_14 dev labels when this was introduced: misconception precision 0.69 against
    0.89.) With
    `whole_clause`, a cue governs its whole segment, subject included: "quantization is not a
    sparsity method" then denies "quantization" too. An opening Yes/No is the verdict token,
    never negated."""
    particle, body = _verdict_and_claim(text)
    marked: list[tuple[str, bool]] = [(particle, False)] if particle else []
    segment_start = len(marked)
    negated = False
    canonical = _CANONICAL.get
    for raw in _SCOPE_TOKEN.findall(body):
        if raw in _SEGMENT_ENDS:
            negated = False
            segment_start = len(marked)
            continue
        token = canonical(raw, raw)
        if token in _NEGATION_CUES:
            if whole_clause and not negated:
                marked[segment_start:] = [(t, True) for t, _ in marked[segment_start:]]
            negated = True
        elif token not in FUNCTION_WORDS:
            marked.append((stem(token), negated))
    return tuple(marked)


#: What ends a negation's scope: punctuation, or a word that opens a new clause.
_SEGMENT_ENDS = _SCOPE_BOUNDARIES | frozenset(",;:()!?.[]")
_NEGATION_CUES = NEGATIONS | NEGATING_VERBS


def _verdict_and_claim(text: str) -> tuple[str | None, str]:
    """An opening 'yes'/'no' (or None), and the claim after it: lower-cased, contractions
    spelled out, phrases whose negation word negates nothing ("not only") blanked out."""
    match = _LEADING_PARTICLE.match(text)
    claim = expand_contractions(text[match.end() :] if match else text)
    # each `_NON_NEGATING` phrase contains "no ", "not " or "nothing ": most claims skip it
    if "no " in claim or "not " in claim or "nothing " in claim:
        claim = _NON_NEGATING.sub(" ", claim)
    return _particle(match), claim


def _particle(match: re.Match[str] | None) -> str | None:
    return ("yes" if match.group(1) else "no") if match else None


def content_tokens(text: str) -> list[str]:
    """Stemmed tokens that carry meaning: no function words, no negation cues. An opening
    'Yes'/'No' is kept as a token: it is the verdict a yes/no question asks for."""
    return [token for token, _ in marked_content_tokens(text)]


# --- polarity ------------------------------------------------------------------------------


def leading_particle(text: str) -> str | None:
    """'yes' or 'no' when the text opens with one ('No, it is not...')."""
    return _particle(_LEADING_PARTICLE.match(text))


def is_negated(text: str) -> bool:
    """True when the claim is negated. An opening 'Yes'/'No' is an answer, not a negation."""
    _, claim = _verdict_and_claim(text)
    return any(t in NEGATIONS for t in _TOKEN.findall(claim))


_VERB_LIKE = frozenset(
    """is are was were be been being am can could will would should shall may might must do
    does did has have had make makes made cause causes caused lead leads help helps break breaks
    slow slows keep keeps get gets take takes use uses used give gives need needs become becomes
    allow allows avoid avoids prevent prevents learn learns converge converges reduce reduces
    increase increases produce produces output outputs work works mean means let lets set sets
    stay stays remain remains""".split()
)
_LIST_SEPARATOR = re.compile(r"[,;/|]|\band\b|\bor\b", re.IGNORECASE)


def is_sentence_like(text: str) -> bool:
    """A statement rather than a string of keywords: at least four words, a verb (or grammar
    words around one we do not know), and not a run of three or more short comma-separated
    fragments without verbs ("symmetry, He init, backprop")."""
    tokens = tokenize(text)
    has_verb = any(t in _VERB_LIKE for t in tokens)
    # a verb we know, or enough grammar words to be a sentence with a verb we do not
    if len(tokens) < 4 or not (has_verb or sum(t in FUNCTION_WORDS for t in tokens) >= 2):
        return False
    pieces = _LIST_SEPARATOR.split(text)
    if len(pieces) < 3:
        return True  # fewer than three fragments: not a list
    fragments = []
    for piece in pieces:
        fragment = tokenize(piece)
        if len(fragment) > 4:
            return True  # a fragment too long for a list item
        if fragment:
            fragments.append(fragment)
    with_verb = sum(any(t in _VERB_LIKE for t in f) for f in fragments)
    listed = len(fragments) >= 3 and with_verb <= 1
    return not listed
