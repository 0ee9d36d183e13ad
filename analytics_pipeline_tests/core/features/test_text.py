"""Message masking, the template and tf-idf caches, and TF-IDF learned on templates."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from analytics_pipeline.core.features import text
from analytics_pipeline.core.features.featurizer import LogFeaturizer
from analytics_pipeline_tests.log_samples import sample_logs


@pytest.mark.parametrize("message, masked", [
    ("GET /api/v1/users/42 from 10.0.0.7 took 123ms", "GET <path> from <ip> took <dur>"),
    ("Request 3f2a9c1e-1b2c-4d5e-8f90-123456789abc failed", "Request <uuid> failed"),
    ("User alice@example.com logged in", "User <email> logged in"),
    ("see https://x.io/a?b=1 now", "see https://<url> now"),
    ("ptr 0x7fff5fbff8c8 request_id=776ccf709d08 deadbeef", "ptr <hex> request_id=<hex> deadbeef"),
    ("Memory 87.5% (3.2GB of 4 GB) ttl=3600s", "Memory <num>% (<size> of <size>) ttl=<dur>"),
    ("node17 v1.2.3 at fe80::1", "node<num> v<num> at <ip>"),
    ("instruction cache parity error corrected", "instruction cache parity error corrected"),
])
def test_mask_message(message: str, masked: str) -> None:
    assert text.mask_message(message) == masked


def test_batch_masking_equals_one_by_one() -> None:
    messages = list(sample_logs(300)["message"]) + ["std::vector 12:30:45 2005-06-03", "a\x00b 42", "naïve 5µs", ""]
    assert text.mask_many(messages) == [text.mask_message(m) for m in messages]
    templates, codes = text.mask_messages(messages)
    assert list(templates[codes]) == [text.mask_message(m) for m in messages]


def test_masking_ignores_digit_values() -> None:
    """mask_messages collapses messages that differ only in digits; that needs this property."""
    table = str.maketrans("0123456789", "7777777777")
    for m in list(sample_logs(200)["message"]) + ["0x1f 1x1f 9z 12:30 1.2.3.4:80 5ms 3GB"]:
        assert text.mask_message(m) == text.mask_message(m.translate(table))


def test_tfidf_learned_on_templates_equals_sklearn_on_rows() -> None:
    masked = [text.mask_message(m) for m in sample_logs(300)["message"]]
    templates, codes = text.mask_messages(masked)
    model = text.fit_tfidf(templates, np.bincount(codes), max_features=8, ngram_range=(1, 2), min_df=2, max_df=0.8)
    sk = TfidfVectorizer(token_pattern=text.TOKEN_PATTERN, ngram_range=(1, 2), min_df=2, max_df=0.8,
                         max_features=8).fit(masked)
    assert model.terms == tuple(sk.get_feature_names_out())
    np.testing.assert_allclose(model.idf, sk.idf_)
    np.testing.assert_allclose(model.transform(templates)[codes], sk.transform(masked).toarray(), atol=1e-6)


def test_caches_stay_bounded_and_out_of_pickles(monkeypatch: pytest.MonkeyPatch) -> None:
    fitted = LogFeaturizer().fit(sample_logs(400, seed=1))
    monkeypatch.setattr(text, "_CACHE_ENTRIES", 5)
    text._TEMPLATES.clear()
    for i in range(40):
        text.mask_messages([f"user {'ab'[i % 2] * (i + 1)} logged in"])
        assert len(text._TEMPLATES) <= 5
    model = fitted.tfidf_
    model.transform([f"<num> {word}" for word in ("a", "bb", "cc", "dd", "ee", "ff", "gg")])
    assert 0 < len(model.__dict__["_rows"]) <= 5
    text.mask_messages(["x" * (text._CACHED_CHARS + 1)])  # long texts are not remembered
    assert not any(len(k) > text._CACHED_CHARS for k in text._TEMPLATES)
    copy = pickle.loads(pickle.dumps(model))
    assert copy.terms == model.terms and not any(k.startswith("_") for k in copy.__dict__)
    np.testing.assert_array_equal(copy.transform(["<num> bb"]), model.transform(["<num> bb"]))
