"""Atomic partition replacement against the real server, including writers killed with SIGKILL."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from analytics_pipeline.core.partition_store import (
    POINTERS_COLLECTION, ConcurrentWriteError, current_write_id, partition_filter, read_partition,
    replace_partition, visible_filter,
)

WEEK = "2026-11-08"


def _batches(n: int, generation: str, size: int = 500):
    for first in range(0, n, size):
        yield [{"i": i, "generation": generation} for i in range(first, min(n, first + size))]


def _visible(collection) -> list[dict]:
    return list(read_partition(collection, WEEK, projection={"_id": 0, "i": 1, "generation": 1}))


def test_replacing_a_partition_swaps_complete_sets(mongo_db):
    col = mongo_db["things"]
    first = replace_partition(col, WEEK, _batches(1_200, "A"))
    assert (first.inserted, first.replaced) == (1_200, 0)
    assert {d["generation"] for d in _visible(col)} == {"A"} and len(_visible(col)) == 1_200
    replace_partition(col, "2026-11-15", _batches(10, "other week"))
    second = replace_partition(col, WEEK, _batches(700, "B"))
    assert (second.inserted, second.replaced) == (700, 1_200)
    assert {d["generation"] for d in _visible(col)} == {"B"} and len(_visible(col)) == 700
    assert col.count_documents({"partition": WEEK}) == 700  # the old set is gone
    assert col.count_documents(visible_filter(col)) == 710  # every week's current set
    empty = replace_partition(col, WEEK, iter([]))
    assert empty.inserted == 0 and _visible(col) == [] and current_write_id(col, WEEK) == empty.write_id


def test_partitions_written_before_pointers_are_read_and_replaced(mongo_db):
    col = mongo_db["legacy"]
    col.insert_many([{"partition": WEEK, "i": i, "generation": "old"} for i in range(5)])
    assert partition_filter(col, WEEK) == {"partition": WEEK} and len(_visible(col)) == 5
    assert col.count_documents(visible_filter(col)) == 5
    write = replace_partition(col, WEEK, _batches(3, "new"))
    assert write.replaced == 5 and [d["generation"] for d in _visible(col)] == ["new"] * 3
    assert col.count_documents({}) == 3


def test_a_concurrent_write_that_lost_its_documents_fails_instead_of_switching(mongo_db):
    col = mongo_db["race"]
    replace_partition(col, WEEK, _batches(10, "A"))

    def interfering():  # another writer's cleanup runs while this write is between batches
        yield [{"i": 0, "generation": "B"}]
        replace_partition(col, WEEK, _batches(4, "C"))
        yield [{"i": 1, "generation": "B"}]

    with pytest.raises(ConcurrentWriteError, match="another write"):
        replace_partition(col, WEEK, interfering())
    assert {d["generation"] for d in _visible(col)} == {"C"} and len(_visible(col)) == 4


WRITER = textwrap.dedent("""
    import sys, pymongo
    from analytics_pipeline.core.partition_store import replace_partition
    uri, db, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    col = pymongo.MongoClient(uri)[db]["killed"]
    batches = ([{"i": i, "generation": "new"} for i in range(k, min(n, k + 200))] for k in range(0, n, 200))
    print("writing", flush=True)
    replace_partition(col, "%s", batches)
    print("done", flush=True)
""" % WEEK)


@pytest.mark.parametrize("kill_after_s", [0.0, 0.3, 1.0, 2.5])
def test_a_writer_killed_at_any_moment_leaves_a_complete_set(mongo_server, mongo_db, kill_after_s):
    """SIGKILL a real writer process at several moments: a reader sees the old complete set or the
    new complete set, never a mix; the next write cleans up what the killed one left."""
    col = mongo_db["killed"]
    replace_partition(col, WEEK, _batches(3_000, "old"))
    writer = subprocess.Popen([sys.executable, "-c", WRITER, mongo_server.uri, mongo_db.name, "20000"],
                              stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "writing"
    time.sleep(kill_after_s)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    seen = _visible(col)
    generations = {d["generation"] for d in seen}
    assert (generations, len(seen)) in (({"old"}, 3_000), ({"new"}, 20_000)), (generations, len(seen))
    assert sorted(d["i"] for d in seen) == list(range(len(seen)))
    after = replace_partition(col, WEEK, _batches(50, "next"))
    assert after.replaced == len(seen)
    assert col.count_documents({"partition": WEEK}) == 50  # leftovers of the killed write are gone
    assert mongo_db[POINTERS_COLLECTION].count_documents({"partition": WEEK, "collection": "killed"}) == 1
