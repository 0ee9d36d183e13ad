"""MongoDB as a Dagster resource; the queries themselves live in core.log_store."""
from __future__ import annotations

from datetime import datetime

import pymongo
from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr
from pymongo.database import Database

from analytics_pipeline.core.logs import store as log_store
from analytics_pipeline.core.redaction import redact
from analytics_pipeline.core.logs.schema import ValidationResult
from analytics_pipeline.core.settings import get_settings
from analytics_pipeline.local import mongo_server


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
                                                   tz_aware=True)
                self._client.admin.command("ping")
            except pymongo.errors.PyMongoError as exc:
                raise ConnectionError(f"cannot reach MongoDB at {redact(uri)}: {redact(str(exc))}") from None
        return self._client

    def db(self) -> Database:
        return self.client()[self.database or get_settings().mongodb_database]

    def read_window(self, start: datetime, end: datetime) -> ValidationResult:
        """The validated logs of [start, end), indexes ensured first."""
        collection = self.db()[log_store.LOGS_COLLECTION]
        log_store.ensure_log_indexes(collection)
        return log_store.read_window(collection, start, end)

    def teardown_after_execution(self, context) -> None:  # noqa: ANN001 (dagster's context type)
        if self._client is not None:
            self._client.close()
            self._client = None
