"""Alert intelligence: from thousands of flagged logs to a handful of incidents.

anomalies (the input contract) -> alerts (deduplication by fingerprint) -> features (the alert
feature space and distance) -> clustering (DBSCAN, k-means, hierarchical, rule-based) ->
incidents (root cause, priority, impact, escalation), with dependencies (the learned service
graph) and significance (background anomaly rates) on the side; triage runs the whole flow,
store writes the ``alerts`` and ``alert_clusters`` collections, summaries and plots show it.
"""
