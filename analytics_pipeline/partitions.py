"""The weekly partitions every asset shares."""
from __future__ import annotations

import os

from dagster import WeeklyPartitionsDefinition

# Weeks start on Sunday 00:00 UTC; the first week can be moved back for historical backfills.
PARTITIONS_START = os.environ.get("ANALYTICS_PIPELINE_PARTITIONS_START", "2025-01-05")

weekly_partitions = WeeklyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC")
