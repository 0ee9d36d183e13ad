"""Log message text: masking of variable parts, and TF-IDF learned on de-duplicated messages.

Log lines are templates filled with ids, numbers, addresses and timings. Masking those parts with
placeholder tokens (``<num>``, ``<ip>``, ...) makes the TF-IDF vocabulary the template words, not
a few frequent ids. Logs repeat heavily, so the work is done once per distinct message and mapped
back to rows with factorized codes; row counts per distinct message weight the statistics so the
result is exactly what working on every row would give.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from numbers import Integral
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.feature_extraction.text import CountVectorizer

_H = "[0-9a-fA-F]"
# (pattern, placeholder, literals of which the text must hold one for the pattern to match; an
# absent literal skips the pass). Applied in order: earlier patterns swallow text that later
# ones would split (an email holds a host name, an IP holds numbers); placeholders hold no digit,
# so later patterns leave them be. The patterns keep to the syntax RE2 and Python's ``re`` share
# (no lookaround, ASCII classes): batches go through RE2 (pyarrow), single messages through
# ``re``, and both must give the same text.
MASKS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+\b", "<email>", ("@",)),
    (r"://[^\x00 \t\n\r\f\v]+", "://<url>", ("://",)),  # keeps the scheme as a word ("https")
    (rf"\b{_H}{{8}}-{_H}{{4}}-{_H}{{4}}-{_H}{{4}}-{_H}{{12}}\b", "<uuid>", ("-",)),
    (r"\b(?:[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?::[0-9]{1,5})?\b"
     rf"|(?:{_H}{{1,4}}:){{7}}{_H}{{1,4}}\b|{_H}{{1,4}}(?::{_H}{{1,4}})*::(?:{_H}{{1,4}}(?::{_H}{{1,4}})*)?)",
     "<ip>", (".", ":")),
    (r"[/\\][\w.\-~%@+]+(?:[/\\][\w.\-~%@+]+)+[/\\]?", "<path>", ("/", "\\")),  # 2+ segments
    # 0x-prefixed, or a word of hex digits mixing digits and letters (request ids, hashes). All
    # patterns treat the ten digits alike ([0-9], never a single digit): mask_messages relies on it.
    (rf"\b(?:[0-9]x{_H}+|{_H}*(?:[0-9][a-fA-F]|[a-fA-F][0-9]){_H}*)\b", "<hex>", ()),
    (r"\b[0-9]+(?:\.[0-9]+)? ?(?:ms|us|µs|ns|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?)\b",
     "<dur>", ()),
    (r"\b[0-9]+(?:\.[0-9]+)? ?(?:[kKmMgGtTpP]i?[bB]|bytes?)\b", "<size>", ()),
    # Remaining digits run to the end of their word: "node17" keeps its stem, "1.2.3" is one number.
    (r"[0-9](?:[\w.]*\w)?", "<num>", ()),
)
_COMPILED = tuple((re.compile(p, re.ASCII), r, needs) for p, r, needs in MASKS)

# Placeholders are tokens of their own; otherwise scikit-learn's default word pattern.
TOKEN_PATTERN = r"(?u)<\w+>|\b\w\w+\b"

_SEP = "\x00"  # joins messages for the batch pass; no pattern matches it or reaches across it
_BATCH_CHARS = 64 << 20  # keeps each joined text far below RE2's 2 GB limit, and memory modest
_MIN_BATCH = 64  # below this, pyarrow's fixed cost outweighs its speed
_DIGITS = str.maketrans("123456789", "000000000")
# Online scoring sees the same few hundred templates over and over: small inputs remember the
# template of each digit-collapsed message shape (and TfidfModel the row of each template).
# Bounded, and simply emptied when full: unique shapes (hex request ids) would otherwise grow
# it without end. Windows (many distinct shapes) bypass it: one pass over them is cheaper.
_CACHE_ENTRIES = 1 << 14
_CACHED_INPUT = 1024  # inputs with more distinct shapes/templates than this are not cached
_CACHED_CHARS = 1024  # longer texts are not remembered: bounds the caches to tens of MB
_TEMPLATES: dict[str, str] = {}


def _through_cache(cache: dict[str, Any], keys: Sequence[str],
                   compute: Callable[[list[str]], Sequence[Any]]) -> list[Any]:
    """``compute(keys)``, taking what ``cache`` remembers and computing the rest in one call."""
    out = [cache.get(key) for key in keys]
    missing = [i for i, value in enumerate(out) if value is None]
    if missing:
        for i, value in zip(missing, compute([keys[i] for i in missing])):
            out[i] = value
            if len(keys[i]) <= _CACHED_CHARS:
                if len(cache) >= _CACHE_ENTRIES:
                    cache.clear()
                cache[keys[i]] = value
    return out


def as_text(value: object) -> str:
    """A string value as is; None/NaN as ""; anything else as its ``str``."""
    if isinstance(value, str):
        return value
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def mask_message(message: str) -> str:
    """Replace the variable parts of one message by placeholder tokens.

    >>> mask_message("GET /api/v1/users/42 from 10.0.0.7 took 123ms")
    'GET <path> from <ip> took <dur>'
    """
    for pattern, placeholder, needs in _COMPILED:
        if not needs or any(s in message for s in needs):
            message = pattern.sub(placeholder, message)
    return message


def _mask_joined(messages: list[str]) -> list[str]:
    """:func:`mask_message` on a batch: one RE2 pass per pattern over the joined messages.

    RE2 scans in linear time without ``re``'s per-position work, and one long text saves a call
    per message: 4-7x faster than ``re`` message by message.
    """
    joined = _SEP.join(messages)
    if joined.count(_SEP) != len(messages) - 1:  # a message holds the separator: go one by one
        return [mask_message(m) for m in messages]
    text = pa.array([joined], type=pa.large_string())
    for pattern, placeholder, needs in MASKS:
        if not needs or any(s in joined for s in needs):
            text = pc.replace_substring_regex(text, pattern, placeholder)
    del joined
    return text[0].as_py().split(_SEP)


def mask_many(messages: Sequence[str]) -> list[str]:
    """:func:`mask_message` on every message (same result), fast for large batches."""
    if len(messages) < _MIN_BATCH:
        return [mask_message(m) for m in messages]
    n_batches = sum(map(len, messages)) // _BATCH_CHARS + 1
    step = -(-len(messages) // n_batches)
    return [m for i in range(0, len(messages), step) for m in _mask_joined(list(messages[i:i + step]))]


def _templates_of_shapes(shapes: list[str]) -> list[str]:
    """:func:`mask_many` of digit-collapsed messages, remembered for small inputs."""
    if len(shapes) > _CACHED_INPUT:
        return mask_many(shapes)
    return _through_cache(_TEMPLATES, shapes, mask_many)


def mask_messages(messages: Sequence[object] | np.ndarray | pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Mask many messages (any values, see :func:`as_text`), each distinct shape once.

    Returns ``(templates, codes)``: the distinct masked messages and, per input row, the index
    of its template, so ``templates[codes]`` is every row's masked message.
    """
    texts = np.asarray(messages, dtype=object)
    if pd.api.types.infer_dtype(texts, skipna=False) != "string":
        odd = np.flatnonzero(np.fromiter((not isinstance(v, str) for v in texts), bool, len(texts)))
        texts = texts.copy()
        texts[odd] = [as_text(v) for v in texts[odd]]
    # Masking treats all digits alike and keeps none, so messages that differ only in their digits
    # (ids, counters, timings) mask alike: collapse them before the costly regex passes.
    if len(texts) < _MIN_BATCH:  # a dict is cheaper than factorizing
        index: dict[str, int] = {}
        masked = _templates_of_shapes([t.translate(_DIGITS) for t in texts])
        codes = np.array([index.setdefault(m, len(index)) for m in masked], dtype=np.int64)
        return np.array(list(index), dtype=object), codes
    joined = _SEP.join(texts)
    if joined.count(_SEP) == len(texts) - 1:
        shapes = joined.translate(_DIGITS).split(_SEP)
    else:
        shapes = [t.translate(_DIGITS) for t in texts]
    del joined
    shape_codes, distinct = pd.factorize(np.asarray(shapes, dtype=object))
    del shapes
    template_codes, templates = pd.factorize(np.asarray(_templates_of_shapes(list(distinct)), dtype=object))
    return np.asarray(templates, dtype=object), template_codes[shape_codes].astype(np.int64)


_WORDS = re.compile(TOKEN_PATTERN)


def words_of(template: str) -> set[str]:
    """The distinct words of a masked template, as the TF-IDF model tokenizes them (lower case;
    placeholders such as ``<num>`` are words too)."""
    return set(_WORDS.findall(template.lower()))


def _vectorizer(ngram_range: tuple[int, int]) -> CountVectorizer:
    return CountVectorizer(token_pattern=TOKEN_PATTERN, ngram_range=tuple(ngram_range), lowercase=True)


@dataclass(frozen=True)
class TfidfModel:
    """A learned vocabulary (alphabetical, as scikit-learn orders it) and its idf weights."""

    terms: tuple[str, ...]
    idf: np.ndarray
    ngram_range: tuple[int, int]

    def transform(self, templates: Sequence[str]) -> np.ndarray:
        """L2-normalized tf-idf rows (float32) of each template over :attr:`terms`.

        The same numbers as ``TfidfVectorizer.transform`` (raw counts, smooth idf, l2 norm); a
        row without any vocabulary term stays zero. Rows of small inputs are remembered.
        """
        if len(templates) > _CACHED_INPUT or not self.terms:
            return self._transform(templates)
        # Copies: a row view would keep its whole computed block alive in the cache.
        rows = _through_cache(self._rows, templates, lambda t: [row.copy() for row in self._transform(t)])
        return np.stack(rows) if rows else np.zeros((0, len(self.terms)), dtype=np.float32)

    # Caches, kept in the instance __dict__ (not fields: no effect on ==) and left out of pickles.
    @cached_property
    def _rows(self) -> dict[str, np.ndarray]:
        return {}

    @cached_property
    def _index(self) -> dict[str, int]:
        return {term: j for j, term in enumerate(self.terms)}

    @cached_property
    def _analyzer(self) -> Callable[[str], list[str]]:
        return _vectorizer(self.ngram_range).build_analyzer()

    def __getstate__(self) -> dict:
        """The fields only: caches (``_``-prefixed) are rebuilt after unpickling."""
        state = dict(self.__dict__)  # one C-level copy: another thread may be filling a cache
        return {k: v for k, v in state.items() if not k.startswith("_")}

    def _transform(self, templates: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(templates), len(self.terms)), dtype=np.float32)
        if not self.terms:
            return out
        index, analyze = self._index, self._analyzer
        rows: list[int] = []
        cols: list[int] = []
        for i, text in enumerate(templates):
            for token in analyze(text):
                j = index.get(token)
                if j is not None:
                    rows.append(i)
                    cols.append(j)
        if not rows:
            return out
        # Repeated (row, term) pairs are counts; sum them, then weight and normalize per row.
        pair, count = np.unique(np.array(rows, dtype=np.int64) * len(self.terms) + cols, return_counts=True)
        r, c = np.divmod(pair, len(self.terms))
        weight = count * self.idf[c]
        norm = np.sqrt(np.bincount(r, weights=weight * weight, minlength=len(templates)))
        out[r, c] = weight / norm[r]
        return out


def fit_tfidf(templates: Sequence[str], weights: np.ndarray, *, max_features: int,
              ngram_range: tuple[int, int], min_df: float | int, max_df: float | int) -> TfidfModel:
    """Learn the vocabulary and idf exactly as ``TfidfVectorizer`` would on all rows.

    ``weights[i]`` is how many rows carry ``templates[i]``: document frequencies, term
    frequencies (for the ``max_features`` cut) and the document count are all weighted by it.
    Where scikit-learn would raise (no term survives the pruning, or too few documents for
    ``min_df``), the vocabulary is simply empty.
    """
    weights = np.asarray(weights, dtype=np.int64)
    n_doc = int(weights.sum())
    empty = TfidfModel((), np.zeros(0), tuple(ngram_range))
    max_count = max_df if isinstance(max_df, Integral) else max_df * n_doc
    min_count = min_df if isinstance(min_df, Integral) else min_df * n_doc
    if n_doc == 0 or max_features == 0 or max_count < min_count:
        return empty
    vectorizer = _vectorizer(ngram_range)
    try:
        counts = vectorizer.fit_transform(list(templates)).tocsc()
    except ValueError:  # not a single token in any message
        return empty
    names = vectorizer.get_feature_names_out()  # alphabetical, as scikit-learn limits them
    dfs = weights @ (counts > 0).astype(np.int64)
    tfs = weights @ counts
    mask = (dfs <= max_count) & (dfs >= min_count)
    if mask.sum() > max_features:
        # The same selection, ties included, as CountVectorizer._limit_features.
        keep = np.flatnonzero(mask)[(-tfs[mask]).argsort()[:max_features]]
        mask = np.zeros_like(mask)
        mask[keep] = True
    idf = np.log((n_doc + 1) / (dfs[mask] + 1.0)) + 1.0  # smooth_idf: one document with every term
    return TfidfModel(tuple(names[mask].tolist()), idf, tuple(ngram_range))
