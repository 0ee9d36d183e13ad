"""Quality on data the tests did not write: the generator's labelled incidents, and real BGL
alert lines against their alert categories (bench/bench_alerting.py measures it at scale)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, homogeneity_score

from analytics_pipeline.core.alerting.triage import triage
from analytics_pipeline.synthetic.generator import generate_logs_with_incidents
from analytics_pipeline_tests.shared_data import BGL_PATH


def _labels(result) -> pd.DataFrame:
    """Each anomaly's incident, or its own alert when its alert is in no incident."""
    rows = result.assignments()
    return rows.assign(group=rows["cluster_id"].fillna(rows["alert_id"]))


def test_synthetic_incidents_are_recovered_with_their_root_causes():
    logs, truth = generate_logs_with_incidents(pd.Timestamp("2026-11-08", tz="UTC"), pd.Timestamp("2026-11-15", tz="UTC"),
                                               logs_per_minute=5, seed=3)
    # Flags as a perfect detector would raise them: the clustering is what is judged here.
    scored = logs.assign(is_anomaly=logs["label"] == 1, severity="critical", anomaly_type="unknown")
    result = triage(scored)
    rows = _labels(result).merge(logs[["log_id", "incident_id"]], on="log_id")
    assert adjusted_rand_score(rows["incident_id"], rows["group"]) >= 0.9
    assert result.report.compression >= 0.97
    cascades = truth[truth["incident_type"] == "cascading_failure"]
    assert len(cascades) >= 2
    incidents = {i.cluster_id: i for i in result.report.incidents}
    for incident_id, origin in zip(cascades["incident_id"], cascades["service"]):
        found = incidents[rows.loc[rows["incident_id"] == incident_id, "cluster_id"].mode()[0]]
        assert found.root_cause == origin and found.cluster_type == "cascade"


def test_bgl_incidents_do_not_mix_alert_categories_the_way_services_do():
    bgl = pd.read_json(BGL_PATH, lines=True, dtype=False)
    scored = bgl.assign(log_id=bgl["line_id"].astype(str), is_anomaly=bgl["label"] == 1,
                        severity=np.where(bgl["level"] == "CRITICAL", "critical", "high"), anomaly_type="unknown")
    rows = _labels(triage(scored)).merge(scored[["log_id", "alert_category"]], on="log_id")
    assert len(rows) == 143
    ours = homogeneity_score(rows["alert_category"], rows["group"])
    by_service = homogeneity_score(rows["alert_category"], rows["service"])
    assert ours >= 0.9 and by_service < 0.5
    assert rows["cluster_id"].notna().mean() > 0.7  # most alert lines belong to an incident
