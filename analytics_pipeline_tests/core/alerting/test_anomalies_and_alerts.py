"""The input contract (scored rows to anomalies) and deduplication into alerts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics_pipeline.core.alerting.alerts import SAMPLES, deduplicate, fingerprint
from analytics_pipeline.core.alerting.anomalies import AnomalyBatch, anomalies_from_scored
from analytics_pipeline_tests.core.alerting.scenarios import T0, burst, frame


def _record(**fields) -> dict:
    return {"log_id": "x", "timestamp": "2026-11-09T10:00:00+00:00", "service": "api", "message": "boom 1",
            "is_anomaly": True, "severity": "high", "anomaly_score": 0.85, "anomaly_type": "latency_spike",
            **fields}


def test_bad_rows_are_set_aside_by_reason_and_good_ones_kept():
    records = [
        _record(log_id="good"), _record(log_id="normal", is_anomaly=False),
        _record(log_id="err", error="timestamp: missing"), _record(log_id="t", timestamp="yesterday"),
        _record(log_id="s", service="  "), _record(log_id="flag", is_anomaly="maybe"),
        _record(log_id="sev", severity="normal", anomaly_score=None), "not a record",
        _record(log_id="derived", severity=None, anomaly_score=0.95),
        _record(log_id=None, anomaly_type=None),
    ]
    batch = anomalies_from_scored(records)
    assert batch.received == 10 and batch.normal == 1
    assert dict(batch.set_aside) == {"scoring_error": 1, "bad_timestamp": 1, "missing_service": 1,
                                     "bad_is_anomaly": 1, "bad_severity": 1, "not_a_document": 1}
    kept = batch.anomalies.set_index("log_id")
    assert list(kept.index) == ["good", "derived", "row-9"]
    assert kept.loc["derived", "severity"] == "critical"  # from anomaly_score 0.95
    assert kept.loc["row-9", "anomaly_type"] == "unknown"
    assert str(kept["timestamp"].dtype) == "datetime64[ns, UTC]"


def test_rows_without_is_anomaly_are_not_scored_output():
    with pytest.raises(ValueError, match="is_anomaly"):
        anomalies_from_scored([{"timestamp": "2026-11-09T10:00:00Z", "service": "a", "message": "m"}])


def test_batches_merge_in_time_order():
    a = anomalies_from_scored([_record(log_id="late", timestamp="2026-11-09T11:00:00Z")])
    b = anomalies_from_scored([_record(log_id="early"), _record(error="bad")])
    merged = a.merge(b)
    assert isinstance(merged, AnomalyBatch) and merged.received == 3
    assert list(merged.anomalies["log_id"]) == ["early", "late"] and merged.set_aside == {"scoring_error": 1}


def test_repeats_within_the_window_fold_into_one_alert_anchored_at_the_first():
    rows = [_record(log_id=f"l{k}", message=f"Timeout after {k}ms",
                    timestamp=(T0 + pd.Timedelta(minutes=m)).isoformat(), severity=s)
            for k, (m, s) in enumerate([(0, "low"), (1, "critical"), (4.9, "medium"), (5.0, "low"), (7, "low")])]
    rows.append(_record(log_id="other", message="Disk full", timestamp=T0.isoformat()))
    anomalies = anomalies_from_scored(rows).anomalies
    found = deduplicate(anomalies, window_minutes=5)
    alerts = found.alerts
    timeout = alerts[alerts["template"] == "Timeout after <dur>"]
    assert list(timeout["count"]) == [3, 2]  # 0, 1, 4.9 | 5.0 (window is [first, first + 5 min)), 7
    first = timeout.iloc[0]
    assert first["max_severity"] == "critical" and first["weight"] == pytest.approx(0.125 + 1 + 0.25)
    assert first["sample_log_ids"] == ["l0", "l1", "l2"][:SAMPLES] and len(first["sample_messages"]) == 3
    assert first["last_seen"] - first["first_seen"] == pd.Timedelta(minutes=4.9)
    assert (first["status"], first["duplicate_of"]) == ("open", None)
    second = timeout.iloc[1]
    assert (second["status"], second["duplicate_of"]) == ("acknowledged", first["alert_id"])
    assert first["fingerprint"] == fingerprint("api", "latency_spike", "Timeout after <dur>")
    # Every anomaly points at its alert.
    assert (alerts["template"].to_numpy()[found.alert_of] == ["Disk full" if "Disk" in m else "Timeout after <dur>"
                                                              for m in anomalies["message"]]).all()
    assert np.bincount(found.alert_of).tolist() == alerts["count"].tolist()


def test_duplicates_stay_open_without_auto_acknowledge_and_ids_are_stable():
    anomalies = anomalies_from_scored(frame(burst("api", 0, 30, 40, ["Timeout after {n}ms"]))).anomalies
    on = deduplicate(anomalies, 5, auto_acknowledge=True).alerts
    off = deduplicate(anomalies, 5, auto_acknowledge=False).alerts
    assert (on["status"] == "acknowledged").sum() == len(on) - 1
    assert set(off["status"]) == {"open"} and off["duplicate_of"].notna().sum() == len(off) - 1
    assert list(on["alert_id"]) == list(deduplicate(anomalies.sample(frac=1, random_state=3), 5).alerts["alert_id"])


def test_no_anomalies_no_alerts():
    found = deduplicate(anomalies_from_scored([]).anomalies, 5)
    assert len(found.alerts) == 0 and len(found.alert_of) == 0
