"""The synthetic world: service catalogue, message templates and their vectorized rendering.

Kept apart from :mod:`analytics_pipeline.synthetic.generator` (traffic and incidents) because it is mostly
data. A template's level, status-code family and latency factor travel with it, so a log's level,
status code and message always agree.
"""
from __future__ import annotations

import string
import zlib
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

from analytics_pipeline.core.logs.schema import LEVELS


@dataclass(frozen=True)
class Template:
    """One message shape; ``statuses`` names a family in :data:`STATUS_SETS`, None for logs
    without a request (heartbeats, GC, housekeeping) which carry no response time or status."""

    level: str
    text: str
    weight: float = 1.0
    statuses: str | None = "ok"
    rt_factor: float = 1.0
    slow: bool = False  # the service's own "this was slow" line, used by latency incidents


@dataclass(frozen=True)
class Service:
    """A service: its share of traffic, its latency (lognormal: median, sigma), what it calls."""

    name: str
    share: float
    median_ms: float
    sigma: float
    deps: tuple[str, ...]
    routes: tuple[str, ...]
    templates: tuple[Template, ...]


STATUS_SETS: dict[str, tuple[tuple[int, ...], tuple[float, ...]]] = {
    "ok": ((200, 201, 204, 304), (0.90, 0.04, 0.03, 0.03)),
    "done": ((200,), (1.0,)),
    "created": ((201,), (1.0,)),
    "redirect": ((301, 302, 304), (0.2, 0.5, 0.3)),
    "client": ((400, 401, 403, 404, 409, 422), (0.25, 0.15, 0.10, 0.40, 0.05, 0.05)),
    "unauthorized": ((401,), (1.0,)),
    "declined": ((402,), (1.0,)),
    "throttled": ((429,), (1.0,)),
    "retry": ((408,), (1.0,)),
    "server": ((500, 502, 503, 504), (0.50, 0.20, 0.20, 0.10)),
    "unavailable": ((503,), (1.0,)),
    "timeout": ((504, 503), (0.8, 0.2)),
}

T = Template
# Lines every HTTP service logs; weights are relative within a service (ERROR/CRITICAL stay rare).
_HTTP = (
    T("INFO", "{method} {route}{id} completed in {ms}ms status={status}", 40),
    T("DEBUG", "Handling {method} {route}{id} request_id={rid:012x} user={uid}", 14),
    T("DEBUG", "Request {uuid} headers parsed, content-length={size}", 5),
    T("INFO", "{method} {route}{id} redirected status={status} in {ms}ms", 1.5, "redirect", 0.5),
    T("WARN", "{method} {route}{id} returned status={status} in {ms}ms (client {ip})", 4, "client", 0.4),
    T("WARN", "Slow request {method} {route}{id} took {ms}ms (threshold {thr}ms)", 0.8, "ok", 4.0, True),
    T("ERROR", "{method} {route}{id} failed with status={status}: {exc} request_id={rid:012x}", 0.5, "server", 2.0),
    T("CRITICAL", "Worker {host} crashed handling {route}{id}: {exc}; restarting", 0.03, "server", 3.0),
    T("DEBUG", "Health check OK: {n}/{n} workers healthy on {host}", 3, None),
)

SERVICES: tuple[Service, ...] = (
    Service("api-gateway", 0.18, 48, 0.55,
            ("auth-service", "user-service", "order-service", "search-service", "recommendation-service"),
            ("/api/v1/users/", "/api/v1/orders/", "/api/v1/products/", "/api/v1/cart/"), _HTTP + (
                T("INFO", "Routed {method} {route}{id} to {dep} in {ms}ms status={status}", 30),
                T("WARN", "Rate limit exceeded for client {ip} (limit={limit}/min)", 1.5, "throttled", 0.1),
            )),
    Service("auth-service", 0.11, 22, 0.40, ("user-service", "cache-redis", "db-postgres"),
            ("/auth/token/", "/auth/session/", "/auth/refresh/"), _HTTP + (
                T("INFO", "User {uid} authenticated from {ip}", 25, "done"),
                T("DEBUG", "Token {hex:016x} validated for user {uid}", 12, "done", 0.3),
                T("WARN", "Failed login for user {uid} from {ip}: invalid password (attempt {attempt})",
                  3, "unauthorized"),
            )),
    Service("user-service", 0.10, 35, 0.45, ("db-postgres", "cache-redis"),
            ("/users/", "/users/profile/", "/users/preferences/"), _HTTP + (
                T("INFO", "Profile updated for user {uid} in {ms}ms", 10, "done"),
                T("DEBUG", "Loaded user {uid} from {dep} in {ms}ms", 15, "done"),
            )),
    Service("order-service", 0.09, 85, 0.55,
            ("payment-service", "inventory-service", "db-postgres", "message-queue"),
            ("/orders/", "/orders/history/", "/checkout/"), _HTTP + (
                T("INFO", "Order {oid} created for user {uid}: {qty} items, total {amount:.2f} EUR", 15, "created"),
                T("INFO", "Order {oid} status changed to {order_state}", 12, "done", 0.5),
                T("WARN", "Order {oid} payment pending for more than {n}s", 1.5, "done"),
            )),
    Service("payment-service", 0.05, 240, 0.60, ("db-postgres",),
            ("/payments/", "/payments/refunds/"), _HTTP + (
                T("INFO", "Payment {uuid} authorized for order {oid}: {amount:.2f} EUR via {psp}", 25, "done"),
                T("WARN", "Payment {uuid} declined by issuer: {decline}", 2, "declined"),
                T("INFO", "Refund issued for order {oid}: {amount:.2f} EUR", 3, "done"),
            )),
    Service("inventory-service", 0.07, 42, 0.50, ("db-postgres", "cache-redis"),
            ("/inventory/", "/inventory/sku/"), _HTTP + (
                T("INFO", "Reserved {qty} units of SKU-{sku:05d} for order {oid}", 20, "done"),
                T("WARN", "Low stock for SKU-{sku:05d}: {qty} units left in {warehouse}", 2, "done"),
                T("DEBUG", "Stock sync for {warehouse} finished in {ms}ms", 6, "done", 3.0),
            )),
    Service("notification-service", 0.05, 130, 0.70, ("message-queue",),
            ("/notifications/", "/notifications/email/"), _HTTP + (
                T("INFO", "Email sent to user {uid} (template={email_template}) in {ms}ms", 25, "done"),
                T("INFO", "Push notification delivered to device {hex:016x}", 15, "done", 0.5),
                T("WARN", "SMTP server responded 421, message {uuid} requeued", 1.5, "done", 2.0),
            )),
    Service("search-service", 0.08, 110, 0.65, ("cache-redis",),
            ("/search/", "/search/suggest/"), _HTTP + (
                T("INFO", "Search query '{query}' returned {hits} hits in {ms}ms", 30, "done"),
                T("DEBUG", "Segment merge completed for shard {shard}: {rows} docs compacted", 4, None),
                T("WARN", "Query '{query}' exceeded {n} clauses, truncated", 1.5, "done"),
            )),
    Service("recommendation-service", 0.02, 160, 0.60, ("cache-redis", "db-postgres"),
            ("/recommendations/", "/recommendations/similar/"), _HTTP + (
                T("INFO", "Generated {k} recommendations for user {uid} in {ms}ms (model v{version})", 30, "done"),
                T("DEBUG", "Feature vector cache hit for user {uid}", 10, "done", 0.1),
            )),
    Service("cache-redis", 0.12, 1.5, 0.35, (), (), (
        T("DEBUG", "GET {cache_key}:{id} hit in {ms}ms", 45, "done"),
        T("INFO", "GET {cache_key}:{id} miss in {ms}ms", 12, "done"),
        T("DEBUG", "SET {cache_key}:{id} ttl={ttl}s in {ms}ms", 25, "done"),
        T("WARN", "Evicted {n} keys under maxmemory policy allkeys-lru", 0.8, None),
        T("WARN", "Slow log: command took {ms}ms on {cache_key}:{id}", 0.5, "done", 8.0, True),
        T("ERROR", "READONLY You can't write against a read only replica ({cache_key}:{id})", 0.1, "unavailable"),
        T("DEBUG", "Keyspace stats: keys={rows} expires={n}", 3, None),
    )),
    Service("db-postgres", 0.10, 7, 0.65, (), (), (
        T("INFO", "Query on {table} returned {rows} rows in {ms}ms", 45, "done"),
        T("DEBUG", "BEGIN transaction {txid} on {table}", 20, "done", 0.2),
        T("DEBUG", "COMMIT transaction {txid} in {ms}ms", 20, "done"),
        T("WARN", "Slow query on {table} took {ms}ms: seq scan on {rows} rows", 0.8, "done", 8.0, True),
        T("ERROR", "Deadlock detected on {table}, transaction {txid} rolled back", 0.15, "server", 3.0),
        T("DEBUG", "Checkpoint complete: wrote {n} buffers", 2, None),
    )),
    Service("message-queue", 0.03, 3.5, 0.50, (), (), (
        T("DEBUG", "Produced message to {topic} partition {partition} offset {offset}", 45, "done"),
        T("INFO", "Consumer group {group} committed offset {offset} on {topic}", 25, "done"),
        T("WARN", "Consumer lag on {topic} partition {partition}: {lag} messages", 1.0, "done", 5.0, True),
    )),
)

# Lines that only incidents produce (never in normal traffic), by the incident that uses them.
INCIDENT_LINES: dict[str, tuple[Template, ...]] = {
    "error": (
        T("ERROR", "Unhandled {exc} in {method} {route}{id} request_id={rid:012x}", 3, "server", 0.6),
        T("ERROR", "{method} {route}{id} failed with status={status} after {ms}ms", 3, "server", 2.0),
        T("ERROR", "Upstream {dep} returned status={status}: {exc}", 2, "server", 3.0),
        T("CRITICAL", "Circuit breaker OPEN for {dep} after {n} consecutive failures", 1, "unavailable", 0.2),
    ),
    "timeout": (
        T("WARN", "Request to {dep} timed out after {ms}ms, retrying (attempt {attempt}/3)", 3, "retry", 60.0),
        T("ERROR", "Giving up on {dep} after 3 retries: deadline exceeded after {ms}ms", 1, "timeout", 150.0),
        T("WARN", "Worker pool saturated on {host}: {n} requests queued, {k} threads alive", 1, None),
    ),
    "gc": (T("WARN", "GC pause of {gc}ms on {host}, heap usage {heap}% of {heap_max}MB", 1, None),),
    "oom": (T("CRITICAL", "OutOfMemoryError: Java heap space; container {host} killed (exit code 137)", 1, None),),
    "novel": (
        T("WARN", "Schema registry returned unknown subject version v{version} for topic {topic}", 2, "done"),
        T("INFO", "Feature flag '{flag}' evaluated to unexpected variant '{variant}' for tenant {uid}", 2, "done"),
        T("ERROR", "TLS handshake with {ip} failed: certificate serial {hex:016x} revoked", 1, "server"),
        T("WARN", "Deserialization fallback for payload {uuid}: field '{flag}' has unknown type", 2, "client"),
        T("INFO", "Shadow traffic mirror enabled for {route}{id} (sample={k}%)", 1, "done"),
    ),
    "root_failure": (
        T("ERROR", "Connection pool exhausted for {svc} (active={pool}, idle=0, waiting={n})", 3, "unavailable", 10.0),
        T("CRITICAL", "FATAL: too many connections for role \"app\" on {svc} (max_connections={pool})", 1,
          "unavailable", 6.0),
        T("ERROR", "{svc} health check failed on {host} ({attempt} consecutive)", 1, "unavailable", 12.0),
    ),
    "upstream_failure": (
        T("ERROR", "Upstream {dep} unavailable: {exc} after {ms}ms", 3, "server", 4.0),
        T("CRITICAL", "Circuit breaker OPEN for {dep} after {n} consecutive failures", 1, "unavailable", 0.2),
        T("WARN", "Fallback response served for {method} {route}{id}: {dep} degraded", 2, "done", 2.0),
    ),
}
del T

_VOCAB: dict[str, tuple[str, ...]] = {
    "method": ("GET", "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE"),
    "exc": ("NullPointerException", "TimeoutError", "ConnectionResetError", "IllegalStateException",
            "KeyError: 'tenant_id'", "SocketTimeoutException", "JSONDecodeError"),
    "order_state": ("PAID", "SHIPPED", "DELIVERED", "CANCELLED", "PACKED"),
    "psp": ("stripe", "adyen", "paypal"),
    "decline": ("insufficient_funds", "expired_card", "do_not_honor", "suspected_fraud"),
    "warehouse": ("warehouse-ams1", "warehouse-fra2", "warehouse-dub1"),
    "email_template": ("order_confirmation", "password_reset", "shipping_update", "weekly_digest"),
    "query": ("running shoes", "usb-c cable", "coffee grinder", "winter jacket", "lego", "desk lamp"),
    "cache_key": ("session", "user", "cart", "product", "ratelimit", "feature"),
    "table": ("users", "orders", "order_items", "payments", "inventory", "sessions", "audit_log"),
    "topic": ("orders.created", "payments.settled", "notifications.outbox", "inventory.events"),
    "group": ("notification-workers", "analytics-sink", "order-projector"),
    "flag": ("checkout_v3", "dynamic_pricing", "new_search_ranker", "geo_routing"),
    "variant": ("treatment_c", "holdout_x", "canary_unknown"),
}
_INTS: dict[str, tuple[int, int]] = {
    "id": (1, 100_000), "uid": (1000, 100_000), "oid": (100_000, 1_000_000), "sku": (1, 100_000),
    "qty": (1, 13), "n": (2, 65), "k": (1, 10), "attempt": (1, 4), "rows": (0, 5000),
    "txid": (100_000, 10_000_000), "offset": (1, 10**9), "partition": (0, 12), "lag": (500, 50_000),
    "hits": (0, 2000), "shard": (0, 16), "ttl": (60, 86_400), "size": (0, 65_536), "limit": (100, 1001),
    "pool": (20, 101), "version": (1, 12), "heap_max": (1024, 8193), "rid": (0, 2**48), "hex": (0, 2**63),
}

SERVICE_NAMES = np.array([s.name for s in SERVICES], dtype=object)
SERVICE_INDEX = {s.name: i for i, s in enumerate(SERVICES)}
_ROUTES = [s.routes or ("/internal/",) for s in SERVICES]
_ROUTE_FLAT = np.array([r for rs in _ROUTES for r in rs], dtype=object)
_ROUTE_OFF = np.cumsum([0] + [len(rs) for rs in _ROUTES[:-1]])
_ROUTE_N = np.array([len(rs) for rs in _ROUTES])
# Slow-request threshold each service alerts on: about 4x its median latency.
_THRESHOLD = np.array([max(5, int(round(4 * s.median_ms, -1))) for s in SERVICES])
PODS_PER_SERVICE = 3
# Pod names look like Kubernetes ones; a CRC keeps them identical across processes and seeds.
HOSTS = np.array([f"{s.name}-{zlib.crc32(s.name.encode()) & 0xFFFFF:05x}-{k}"
                  for s in SERVICES for k in range(PODS_PER_SERVICE)], dtype=object)


@dataclass
class Context:
    """Per-log arrays the fields are rendered from (positions index all of them)."""

    rt: np.ndarray       # response time, ms
    status: np.ndarray   # status code (float, NaN when absent)
    service: np.ndarray  # service index
    peer: np.ndarray     # service index of the dependency the line talks about
    sev: np.ndarray      # incident progress 0..1 (heap and GC pauses grow with it)
    host: np.ndarray     # pod index inside the service


def _compile() -> tuple[list[Template], list[str], list[tuple[str, ...]]]:
    """Number the templates and turn ``{name:spec}`` into positional ``{i:spec}`` formats."""
    all_templates = [t for s in SERVICES for t in s.templates]
    all_templates += [t for lines in INCIDENT_LINES.values() for t in lines]
    unique = list(dict.fromkeys(all_templates))
    fmts, names = [], []
    for t in unique:
        fields: list[str] = []
        parts = []
        for literal, name, spec, _ in string.Formatter().parse(t.text):
            parts.append(literal.replace("{", "{{").replace("}", "}}"))
            if name is not None:
                if name not in fields:
                    fields.append(name)
                parts.append("{%d%s}" % (fields.index(name), ":" + spec if spec else ""))
        if t.statuses is None and ("status" in fields or "ms" in fields):
            raise ValueError(f"template without a request cannot show status/ms: {t.text}")
        fmts.append("".join(parts))
        names.append(tuple(fields))
    return unique, fmts, names


TEMPLATES, _FMTS, _FIELDS = _compile()
_TID = {t: i for i, t in enumerate(TEMPLATES)}
TEMPLATE_LEVEL = np.array([LEVELS.index(t.level) for t in TEMPLATES], dtype=np.int8)
TEMPLATE_HAS_REQUEST = np.array([t.statuses is not None for t in TEMPLATES])
TEMPLATE_RT_FACTOR = np.array([t.rt_factor for t in TEMPLATES])


def _choices(templates: Sequence[Template]) -> tuple[np.ndarray, np.ndarray]:
    """Template ids and their probabilities, for ``rng.choice``."""
    weights = np.array([t.weight for t in templates])
    return np.array([_TID[t] for t in templates]), weights / weights.sum()


SERVICE_TEMPLATES = [_choices(s.templates) for s in SERVICES]
INCIDENT_TEMPLATES = {kind: _choices(lines) for kind, lines in INCIDENT_LINES.items()}
SLOW_TEMPLATE = np.array([next(_TID[t] for t in s.templates if t.slow) for s in SERVICES])


def _groups(tids: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(template id, positions) for every template present, so work is done once per template."""
    order = np.argsort(tids, kind="stable")
    for idx in np.split(order, np.flatnonzero(np.diff(tids[order])) + 1):
        if len(idx):
            yield int(tids[idx[0]]), idx


def draw_status(tids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Status codes drawn from each template's family (NaN for lines without a request)."""
    out = np.full(len(tids), np.nan)
    for tid, idx in _groups(tids):
        key = TEMPLATES[tid].statuses
        if key is None:
            continue
        codes, p = STATUS_SETS[key]
        out[idx] = np.asarray(codes, dtype=float)[rng.choice(len(codes), size=len(idx), p=p)]
    return out


def _uuid(n: int, rng: np.random.Generator) -> list[str]:
    parts = [rng.integers(0, 1 << bits, n).tolist() for bits in (32, 16, 12, 16, 48)]
    return list(map("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}".format, *parts))


def _field(name: str, ctx: Context, idx: np.ndarray, rng: np.random.Generator,
           ip_pool: np.ndarray) -> Sequence[object]:
    """Values of one placeholder for the logs at ``idx``; context fields keep lines consistent
    with the columns (``ms`` is the response time, ``status`` the status code)."""
    n = len(idx)
    special: dict[str, Callable[[], Sequence[object]]] = {
        "ms": lambda: np.rint(ctx.rt[idx]).astype(np.int64).tolist(),
        "status": lambda: ctx.status[idx].astype(np.int64).tolist(),
        "svc": lambda: SERVICE_NAMES[ctx.service[idx]].tolist(),
        "dep": lambda: SERVICE_NAMES[ctx.peer[idx]].tolist(),
        "host": lambda: HOSTS[ctx.service[idx] * PODS_PER_SERVICE + ctx.host[idx]].tolist(),
        "thr": lambda: _THRESHOLD[ctx.service[idx]].tolist(),
        "route": lambda: _ROUTE_FLAT[_ROUTE_OFF[ctx.service[idx]]
                                     + (rng.random(n) * _ROUTE_N[ctx.service[idx]]).astype(int)].tolist(),
        "ip": lambda: ip_pool[rng.integers(0, len(ip_pool), n)].tolist(),
        "uuid": lambda: _uuid(n, rng),
        "amount": lambda: np.round(rng.lognormal(3.6, 0.9, n), 2).tolist(),
        "heap": lambda: np.minimum(99, 55 + 44 * ctx.sev[idx] + rng.normal(0, 2, n)).astype(int).tolist(),
        "gc": lambda: (40 + 2500 * ctx.sev[idx] ** 2 * rng.lognormal(0, 0.3, n)).astype(int).tolist(),
    }
    if name in special:
        return special[name]()
    if name in _INTS:
        lo, hi = _INTS[name]
        return rng.integers(lo, hi, n).tolist()
    vocab = _VOCAB[name]
    return [vocab[i] for i in rng.integers(0, len(vocab), n).tolist()]


def render_messages(tids: np.ndarray, ctx: Context, rng: np.random.Generator) -> np.ndarray:
    """Message text for every log: one vectorized ``str.format`` pass per template."""
    out = np.empty(len(tids), dtype=object)
    ip_pool = np.array([f"10.{a}.{b}.{c}" for a, b, c in rng.integers(0, 255, (4096, 3)).tolist()]
                       + [f"203.0.113.{c}" for c in range(1, 255)], dtype=object)
    for tid, idx in _groups(tids):
        cols = [_field(name, ctx, idx, rng, ip_pool) for name in _FIELDS[tid]]
        out[idx] = list(map(_FMTS[tid].format, *cols)) if cols else [_FMTS[tid].format()] * len(idx)
    return out
