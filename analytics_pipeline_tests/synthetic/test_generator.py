"""The synthetic log generator: contract, realism, labels, determinism and edge cases."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from analytics_pipeline.core.logs.schema import LEVELS, LOG_COLUMNS, validate_frame, validate_records
from analytics_pipeline.synthetic.generator import (
    INCIDENT_TYPES, SERVICES, generate_logs, generate_logs_with_incidents, iter_document_batches,
    to_documents,
)

START = datetime(2024, 3, 4, tzinfo=timezone.utc)  # a Monday


@pytest.fixture(scope="module")
def month_with_incidents() -> tuple[pd.DataFrame, pd.DataFrame]:
    """35 days at a low rate: every incident type, all weekdays, ~150k logs in well under a second."""
    return generate_logs_with_incidents(START, START + timedelta(days=35), logs_per_minute=3, seed=7)


@pytest.fixture(scope="module")
def month(month_with_incidents: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    return month_with_incidents[0]


@pytest.fixture(scope="module")
def incidents(month_with_incidents: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    return month_with_incidents[1]


@pytest.fixture(scope="module")
def week() -> pd.DataFrame:
    return generate_logs(START, START + timedelta(days=7), logs_per_minute=10, seed=3)


def test_columns_and_dtypes(week: pd.DataFrame) -> None:
    assert tuple(week.columns[: len(LOG_COLUMNS)]) == LOG_COLUMNS
    assert str(week["timestamp"].dtype) == "datetime64[ns, UTC]"
    for name in ("response_time", "status_code", "label"):
        assert week[name].dtype == np.float64
    for name in ("log_id", "level", "service", "message", "incident_id", "incident_type"):
        assert week[name].dtype == object
    assert week["timestamp"].is_monotonic_increasing
    assert week["log_id"].is_unique
    assert set(week["level"]) <= set(LEVELS)
    assert set(week["label"]) == {0.0, 1.0}
    codes = week["status_code"].dropna()
    assert (codes == codes.round()).all() and codes.between(100, 599).all()
    assert (week["response_time"].dropna() > 0).all()


def test_timestamps_in_period_at_millisecond_precision(week: pd.DataFrame) -> None:
    ts = week["timestamp"]
    assert ts.min() >= pd.Timestamp(START) and ts.max() < pd.Timestamp(START + timedelta(days=7))
    # BSON dates hold milliseconds: a MongoDB round trip must not change a timestamp.
    assert (ts.astype("int64") % 1_000_000 == 0).all()


def test_validate_frame_rejects_nothing(week: pd.DataFrame) -> None:
    result = validate_frame(week)
    assert result.n_bad == 0
    pdt.assert_frame_equal(result.logs, week[list(LOG_COLUMNS)])


def test_documents_pass_validation(week: pd.DataFrame) -> None:
    docs = to_documents(week)
    assert len(docs) == len(week)
    result = validate_records(docs)
    assert result.n_bad == 0 and len(result.logs) == len(week)
    pdt.assert_frame_equal(result.logs, week[list(LOG_COLUMNS)])


def test_documents_are_mongo_ready(week: pd.DataFrame) -> None:
    docs = to_documents(week)
    allowed = (str, int, float, datetime)
    for doc in docs[:: max(1, len(docs) // 5000)] + [d for d in docs if "incident_id" in d][:50]:
        assert "_id" not in doc and doc["log_id"]
        assert doc["timestamp"].tzinfo is not None and doc["timestamp"].utcoffset() == timedelta(0)
        assert all(type(v) in allowed for v in doc.values()), doc  # no numpy scalars, no None
        assert not any(isinstance(v, float) and np.isnan(v) for v in doc.values())
        if "status_code" in doc:
            assert type(doc["status_code"]) is int
        assert type(doc["label"]) is int
        assert ("incident_id" in doc) == (doc["label"] == 1)
    # Lines without a request (heartbeats, GC) leave the optional numbers out.
    assert any("response_time" not in d and "status_code" not in d for d in docs)


def test_document_batches_match(week: pd.DataFrame) -> None:
    part = week.iloc[:25_000]
    batches = list(iter_document_batches(part, batch_size=10_000))
    assert [len(b) for b in batches] == [10_000, 10_000, 5_000]
    assert [d for b in batches for d in b] == to_documents(part)


def test_service_catalogue() -> None:
    names = [s.name for s in SERVICES]
    assert len(set(names)) == len(names) >= 10
    assert abs(sum(s.share for s in SERVICES) - 1.0) < 1e-9
    deps = {s.name: set(s.deps) for s in SERVICES}
    assert all(d in deps for ds in deps.values() for d in ds)
    assert {"auth-service", "user-service", "order-service"} <= deps["api-gateway"]
    assert {"payment-service", "inventory-service"} <= deps["order-service"]
    assert "db-postgres" in deps["payment-service"]


def test_services_have_own_traffic_share_and_latency(month: pd.DataFrame) -> None:
    normal = month[month["label"] == 0]
    assert normal["service"].nunique() >= 10
    share = normal["service"].value_counts(normalize=True)
    assert share.max() / share.min() > 4
    medians = normal.groupby("service")["response_time"].median().sort_values()
    assert medians.round(1).is_unique
    assert medians.iloc[-1] / medians.iloc[0] > 50  # from cache (ms) to payment (hundreds of ms)
    for service in SERVICES:
        assert medians[service.name] == pytest.approx(service.median_ms, rel=0.25)


def test_daily_and_weekly_seasonality(month: pd.DataFrame) -> None:
    normal = month[month["label"] == 0].set_index("timestamp")
    hourly = normal.resample("1h").size()
    by_hour = hourly.groupby(hourly.index.hour).mean()
    assert by_hour.loc[9:17].mean() > 2 * by_hour.loc[0:5].mean()
    daily = normal.resample("1D").size()
    weekday = daily[daily.index.dayofweek < 5].mean()
    weekend = daily[daily.index.dayofweek >= 5].mean()
    assert weekday > 1.5 * weekend


def test_levels_and_status_codes_are_realistic_and_consistent(month: pd.DataFrame) -> None:
    normal = month[month["label"] == 0]
    levels = normal["level"].value_counts(normalize=True)
    assert levels["DEBUG"] + levels["INFO"] > 0.85
    assert 0.01 < levels["WARN"] < 0.12
    assert 0 < levels["ERROR"] + levels.get("CRITICAL", 0) < 0.02
    family = (normal["status_code"].dropna() // 100).value_counts(normalize=True)
    assert family[2] > 0.8 and family[3] > 0 and family[4] > 0 and 0 < family[5] < 0.02
    level, code = month["level"], month["status_code"]
    assert level[code >= 500].isin(["ERROR", "CRITICAL"]).all()
    assert (code[level.isin(["DEBUG", "INFO"])].dropna() < 400).all()
    assert (code[level.isin(["ERROR", "CRITICAL"])].dropna() >= 500).all()


def test_messages_have_variable_parts(week: pd.DataFrame) -> None:
    messages = week["message"]
    assert messages.nunique() > 0.8 * len(messages)
    assert messages.str.contains(r"\d").mean() > 0.9
    assert messages.str.contains(r"\b10\.\d+\.\d+\.\d+\b").any()  # IPs
    assert messages.str.contains(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-").any()  # UUIDs
    # A line that reports a duration reports the row's own response time.
    done = week[messages.str.contains(r" completed in \d+ms status=")]
    ms = done["message"].str.extract(r"completed in (\d+)ms status=(\d+)").astype(float)
    assert (ms[0] == done["response_time"].round()).all()
    assert (ms[1] == done["status_code"]).all()


def test_every_incident_type_appears(incidents: pd.DataFrame) -> None:
    assert set(incidents["incident_type"]) == set(INCIDENT_TYPES)
    assert incidents["incident_id"].str.fullmatch(r"inc-\d{4}").all()
    # Spread over the whole period: incidents every week, several per week.
    weeks = (incidents["start"] - pd.Timestamp(START)).dt.days // 7
    assert weeks.value_counts().reindex(range(5), fill_value=0).min() >= 3


def test_incident_table_matches_labels(month: pd.DataFrame, incidents: pd.DataFrame) -> None:
    counts = month["incident_id"].value_counts()
    assert counts.reindex(incidents["incident_id"]).tolist() == incidents["n_logs"].tolist()
    assert incidents["start"].is_monotonic_increasing  # ids are numbered in time order
    assert (incidents["start"] < incidents["end"]).all()
    assert (incidents["services"].str.split(",").str[0] == incidents["service"]).all()
    labelled = month[month["label"] == 1].merge(incidents, on="incident_id", suffixes=("", "_inc"))
    assert labelled["timestamp"].between(labelled["start"], labelled["end"]).all()
    assert (labelled.apply(lambda r: r["service"] in r["services"].split(","), axis=1)).all()


def test_labels_agree_with_incident_columns(month: pd.DataFrame) -> None:
    labelled = month["label"] == 1.0
    assert (month["incident_id"].notna() == labelled).all()
    assert (month["incident_type"].notna() == labelled).all()
    assert set(month.loc[labelled, "incident_type"]) <= set(INCIDENT_TYPES)
    assert (month.groupby("incident_id")["incident_type"].nunique() == 1).all()


def _incident(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The largest incident of a kind."""
    rows = frame[frame["incident_type"] == kind]
    return rows[rows["incident_id"] == rows["incident_id"].value_counts().idxmax()]


def test_incidents_have_their_signature(month: pd.DataFrame) -> None:
    normal = month[month["label"] == 0]
    base_rt = normal.groupby("service")["response_time"].median()

    spike = _incident(month, "latency_spike")
    assert spike["response_time"].median() > 4 * base_rt[spike["service"].iloc[0]]

    burst = _incident(month, "error_rate_burst")
    assert burst["level"].isin(["ERROR", "CRITICAL"]).mean() > 0.5
    assert (burst["status_code"] >= 500).mean() > 0.5

    drop = month[month["incident_type"] == "throughput_drop"]
    assert drop["message"].str.contains("timed out|retries|saturated").all()

    creep = _incident(month, "creeping_latency").dropna(subset=["response_time"])
    seconds = (creep["timestamp"] - creep["timestamp"].min()).dt.total_seconds()
    assert np.corrcoef(seconds, np.log(creep["response_time"]))[0, 1] > 0.3
    assert _incident(month, "creeping_latency")["message"].iloc[-1].startswith("OutOfMemoryError")

    novel = month.loc[month["incident_type"] == "new_pattern", "message"]
    seen = set(normal["message"].str.split().str[:2].str.join(" "))
    assert not set(novel.str.split().str[:2].str.join(" ")) & seen

    cascade = _incident(month, "cascading_failure")
    first_seen = cascade.groupby("service")["timestamp"].min().sort_values()
    assert len(first_seen) >= 2
    assert first_seen.iloc[-1] - first_seen.iloc[0] >= pd.Timedelta(minutes=2)


def test_throughput_drop_collapses_volume(month: pd.DataFrame, incidents: pd.DataFrame) -> None:
    """Far fewer logs than the same service at the same hour a week earlier or later."""
    drops = incidents[incidents["incident_type"] == "throughput_drop"]
    during, usual = 0, 0.0
    for row in drops.itertuples():
        times = month.loc[month["service"] == row.service, "timestamp"]
        count = lambda at: int(((times >= at) & (times < at + (row.end - row.start))).sum())  # noqa: E731
        shifted = [row.start + pd.Timedelta(days=d) for d in (-7, 7)]
        during += count(row.start)
        usual += np.mean([count(at) for at in shifted if START <= at <= START + timedelta(days=34)])
    assert len(drops) >= 3 and during < 0.25 * usual


@pytest.mark.parametrize("seed, days, rate", [(0, 1, 20), (1, 3, 10), (2, 7, 5), (3, 35, 1), (11, 2, 40)])
def test_anomaly_fraction_in_bounds(seed: int, days: int, rate: float) -> None:
    frame = generate_logs(START + timedelta(days=seed), START + timedelta(days=seed + days), rate, seed)
    assert 0.01 <= frame["label"].mean() <= 0.05


def test_anomaly_fraction_is_the_knob() -> None:
    end = START + timedelta(days=2)
    assert generate_logs(START, end, 10, anomaly_fraction=0.0)["label"].sum() == 0
    assert 0.008 <= generate_logs(START, end, 10, anomaly_fraction=0.01)["label"].mean() <= 0.015


def test_same_arguments_same_frame() -> None:
    args = (START, START + timedelta(days=1), 8.0, 5)
    pdt.assert_frame_equal(generate_logs(*args), generate_logs(*args))


def test_seed_changes_output() -> None:
    a = generate_logs(START, START + timedelta(hours=6), 10, seed=1)
    b = generate_logs(START, START + timedelta(hours=6), 10, seed=2)
    assert len(a) != len(b) or not a["message"].equals(b["message"])
    assert not set(a["log_id"]) & set(b["log_id"])


def test_log_ids_do_not_collide_across_periods() -> None:
    day1 = generate_logs(START, START + timedelta(days=1), 5)
    day2 = generate_logs(START + timedelta(days=1), START + timedelta(days=2), 5)
    assert not set(day1["log_id"]) & set(day2["log_id"])


def test_naive_datetimes_are_utc() -> None:
    naive = generate_logs(datetime(2024, 3, 4), datetime(2024, 3, 4, 3), 10)
    aware = generate_logs(START, START + timedelta(hours=3), 10)
    pdt.assert_frame_equal(naive, aware)


def test_short_period_works() -> None:
    frame = generate_logs(START + timedelta(hours=10), START + timedelta(hours=11), 20)
    assert len(frame) > 100
    assert validate_frame(frame).n_bad == 0
    assert frame["label"].mean() <= 0.1


@pytest.mark.parametrize("start, end", [(START, START), (START + timedelta(hours=1), START)])
def test_start_must_precede_end(start: datetime, end: datetime) -> None:
    with pytest.raises(ValueError, match="start must be before end"):
        generate_logs(start, end)


@pytest.mark.parametrize("rate", [0, -5, float("nan"), float("inf")])
def test_rate_must_be_positive(rate: float) -> None:
    with pytest.raises(ValueError, match="logs_per_minute"):
        generate_logs(START, START + timedelta(hours=1), rate)


@pytest.mark.parametrize("fraction", [-0.1, 0.5, 2.0])
def test_anomaly_fraction_must_be_sane(fraction: float) -> None:
    with pytest.raises(ValueError, match="anomaly_fraction"):
        generate_logs(START, START + timedelta(hours=1), anomaly_fraction=fraction)
