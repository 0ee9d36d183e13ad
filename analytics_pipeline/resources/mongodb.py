"""MongoDB as a Dagster resource; the queries themselves live in core (logs.store and the stores).

Transient faults (a server restart, a failover) are survived at two levels: the driver retries a
read or write once (``retryReads`` / ``retryWrites``, waiting up to ``server_selection_timeout_ms``
for a server), and every asset that touches MongoDB carries :data:`MONGODB_RETRY_POLICY`, so a step
whose cursor died with the server runs again with backoff (writes are atomic per partition, so a
rerun never duplicates). A server that stays down fails the step with one line: the address
(password redacted) and the reason.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pymongo
from dagster import Backoff, ConfigurableResource, Jitter, RetryPolicy
from pydantic import Field, PrivateAttr
from pymongo.database import Database

from analytics_pipeline.core.logs import store as log_store
from analytics_pipeline.core.mongo_errors import unreachable_message
from analytics_pipeline.core.redaction import redact
from analytics_pipeline.core.logs.schema import ValidationResult
from analytics_pipeline.core.settings import get_settings
from analytics_pipeline.local import mongo_server


# Three more tries, 2 s, 4 s and 8 s later (give or take a second): a restarted server is back.
MONGODB_RETRY_POLICY = RetryPolicy(max_retries=3, delay=2, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)


class MongoDBResource(ConfigurableResource):
    """Connection to the log database.

    Leave ``uri`` empty to use ``MONGODB_URI`` from the environment, or, when that is unset too,
    the local server under ``.local/mongo`` (started on demand). The URI is never shown in
    logs or errors with its password.
    """

    uri: str | None = Field(default=None, description="MongoDB URI; empty: $MONGODB_URI or the local server")
    database: str | None = Field(default=None, description="Database; empty: $MONGODB_DATABASE or log_analytics")
    server_selection_timeout_ms: int = 10_000

    _client: pymongo.MongoClient | None = PrivateAttr(default=None)

    def resolved_uri(self) -> str:
        settings = get_settings()
        if self.uri or settings.mongodb_uri:
            return self.uri or settings.mongodb_uri  # type: ignore[return-value]
        return mongo_server.start(settings.local_mongo_dir).uri

    @property
    def redacted_uri(self) -> str:
        return redact(self.resolved_uri())

    def client(self) -> pymongo.MongoClient:
        if self._client is None:
            uri = self.resolved_uri()
            try:
                self._client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=self.server_selection_timeout_ms,
                                                   tz_aware=True, retryReads=True, retryWrites=True)
                self._client.admin.command("ping")
            except pymongo.errors.PyMongoError as exc:
                self._client = None
                raise ConnectionError(unreachable_message(exc, uri)) from None
        return self._client

    def db(self) -> Database:
        return self.client()[self.database or get_settings().mongodb_database]

    @contextmanager
    def failing_clearly(self, doing: str) -> Iterator[None]:
        """Turn a driver error inside the block into a one-line ConnectionError naming the server."""
        try:
            yield
        except pymongo.errors.PyMongoError as exc:
            raise ConnectionError(unreachable_message(exc, self.resolved_uri(), doing)) from None

    def read_window(self, start: datetime, end: datetime) -> ValidationResult:
        """The validated logs of [start, end), indexes ensured first."""
        with self.failing_clearly("reading the window"):
            collection = self.db()[log_store.LOGS_COLLECTION]
            log_store.ensure_log_indexes(collection)
            return log_store.read_window(collection, start, end)

    def teardown_after_execution(self, context) -> None:  # noqa: ANN001 (dagster's context type)
        if self._client is not None:
            self._client.close()
            self._client = None
