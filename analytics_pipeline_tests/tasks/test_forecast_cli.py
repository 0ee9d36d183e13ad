"""``analytics-pipeline forecast`` on every NAB file in shared data, and its errors in one line."""
from __future__ import annotations

import pandas as pd
import pytest

from analytics_pipeline.cli import main
from analytics_pipeline_tests.shared_data import SHARED_DATA

NAB_FILES = sorted((SHARED_DATA / "nab").glob("*/*.csv")) if (SHARED_DATA / "nab").exists() else []


@pytest.mark.skipif(not NAB_FILES, reason="shared NAB data not present")
@pytest.mark.parametrize("path", NAB_FILES, ids=lambda p: p.stem)
def test_forecast_every_nab_file(path, tmp_path, capsys):
    out, anomalies = tmp_path / "forecast.csv", tmp_path / "anomalies.csv"
    assert main(["forecast", str(path), "--horizon", "48", "--output", str(out), "--anomalies", str(anomalies)]) == 0
    printed = capsys.readouterr().out
    assert "backtest MASE" in printed and "vs seasonal naive" in printed and "95% band" in printed
    forecast = pd.read_csv(out)
    assert len(forecast) == 48 and forecast[["mean", "lo_95", "hi_95"]].notna().all().all()
    assert (forecast["lo_95"] <= forecast["lo_80"]).all() and (forecast["hi_80"] <= forecast["hi_95"]).all()
    assert list(pd.read_csv(anomalies).columns) == ["timestamp", "value", "expected", "lo", "hi", "deviation"]


def test_a_file_without_the_columns_fails_in_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("time,val\n1,2\n")
    assert main(["forecast", str(bad)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {bad}: needs columns timestamp,value; missing timestamp, value"
    assert main(["forecast", str(tmp_path / "none.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_collect_metrics_samples_this_host_into_mongodb(mongo_db, capsys):
    assert main(["collect-metrics", "--interval", "0.2", "--count", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 samples written to" in out and out.count("cpu ") == 2
    assert mongo_db["system_metrics"].count_documents({}) == 2
    with pytest.raises(SystemExit):  # argparse rejects it before anything runs
        main(["collect-metrics", "--interval", "0"])
    assert "must be positive" in capsys.readouterr().err
