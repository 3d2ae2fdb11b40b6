"""What one reserve and one refusal cost per layer, from the SQL statement to the HTTP server.

Against a fresh benchmark database, one buyer, sequential calls (no contention: this measures
cost, not throughput), each layer in turn and the layers interleaved over `--rounds` so that a
busy machine weighs on all of them alike:

- `sql`: BEGIN, the one reserve statement (`stock.reserve_in_one_statement`), COMMIT;
- `service`: `reserve_stock()` (input checks, event prepared and validated, the statement);
- `django_view`: a bare Django view around the service (JSON in, JSON out; no DRF) — what a view
  needs at least, to price DRF's dispatch against;
- `drf_view`: the real `ReservationListCreateView` through DRF's dispatch, user forced, no throttle;
- `drf_throttle`: the same with the throttles counting (one Lua call to Redis; roomy rates);
- `drf_auth`: the same with `Authorization: Token` (the cached token authentication);
- `drf_idempotency`: the same with a fresh `Idempotency-Key` (claim, store the response);
- `middleware`: Django's WSGI handler (middleware + URL routing + the above) called in-process;
- `http`: the `web` server of the Procfile (granian WSGI, 1 worker, 1 thread here) over loopback
  with a keep-alive client; `/healthz` on the same server is measured as its floor;
- `http_select1`: the same server with Django's own health check (`SELECT 1` per request,
  DATABASE_LEAN_HEALTH_CHECK=false), the cut measured in the same run;
- `http_no_edge`: a waiting room's join and poll (`queue_join`, `queue_poll`) on a server with
  COMMERCE_WAITING_ROOM_EDGE=false, i.e. through Django's middleware and DRF's dispatch, beside the
  same calls on `http`, where commerce/waiting_room/edge.py answers them in front of Django.

Each layer is measured for a successful reserve and for a refusal that reaches the database
(sold out, the sold-out memo off); `refusal_memo` is the same refusal answered from the memo;
`throttled` is the 429 a throttled script gets (from `drf_throttle` up). Every answer's status is
checked: anything else is counted in `unexpected_statuses` (a layer answering 403 or 429 instead
of reserving measures something else). The drops have their waiting room off.
Prints JSON: per layer and kind the wall-clock median / p90 in µs, and — what survives a busy
machine — the CPU each call cost: `app_cpu_us` (this thread's CPU for in-process layers; the
server's processes for `http`), `db_cpu_us` (the PostgreSQL backends of the benchmark database,
from /proc), and `app_step_us`, the application CPU a layer adds to the one below.

    .venv/bin/python bench/reserve_layers.py [--calls 200] [--rounds 3]
"""

import argparse
import http.client
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from config.web_command import web_command  # noqa: E402 (ROOT on sys.path first)

BASE_DB_URL = os.environ.get("DATABASE_URL", "postgres://mintdrop:mintdrop@127.0.0.1:55432/mintdrop")
LAYERS = [
    "sql", "service", "django_view", "drf_view", "drf_throttle", "drf_auth", "drf_idempotency", "middleware",
    "http",
]  # fmt: skip
# The 429 a throttled script gets (what bots mostly get in a stampede), from the throttle up.
THROTTLED_LAYERS = ["drf_throttle", "drf_auth", "drf_idempotency", "middleware", "http"]
EXPECTED = {"reserve": 201, "refusal": 409, "throttled": 429, "healthz": 200,
            "queue_poll": 200, "queue_join": 200, "admission_required": 403}  # fmt: skip
# What a queued drop's stampede asks of the server besides reserves (bench/drop_stampede.py --queue on),
# over HTTP only: a waiting buyer's poll and (idempotent) re-join, and a token-less reserve (the bots).
QUEUE_KINDS = ("queue_poll", "queue_join", "admission_required")
# Throttles count every call (one Redis round trip, as in production) but never refuse the buyer the
# layers reserve for; a second buyer is refused (`throttled`). Set before Django reads its settings.
ROOMY_RATES = {"ABUSE_RATE_RESERVE_USER": "100000000/m", "ABUSE_RATE_RESERVE_IP": "100000000/s,100000000/m"}


def _db_name() -> str:
    return BASE_DB_URL.rsplit("/", 1)[1] + "_bench_layers"


def _recreate(name: str, *, drop_only: bool = False) -> None:
    with psycopg.connect(BASE_DB_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _tree(pid: int) -> list[int]:
    """A process and its descendants (granian's workers)."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True, check=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.split("\n"):
        if line.strip():
            child, parent = (int(x) for x in line.split())
            children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


class CpuMeter:
    """CPU used by the benchmark database's backends and by the HTTP server's processes."""

    def __init__(self, conninfo: str, server_pid: int) -> None:
        self.monitor = psycopg.connect(conninfo, autocommit=True)
        self.server = _tree(server_pid)
        self.dbname = conninfo.rsplit("/", 1)[1]

    def sample(self) -> tuple[float, float]:
        rows = self.monitor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [self.dbname]
        ).fetchall()
        return sum(_proc_cpu(r[0]) for r in rows), sum(_proc_cpu(p) for p in self.server)


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_us": round(statistics.median(ordered) * 1e6, 1),
        "p90_us": round(ordered[int(0.9 * (len(ordered) - 1))] * 1e6, 1),
    }


class Fixture:
    """The data every layer reserves on: a roomy drop, a sold-out one, one buyer with a token."""

    def __init__(self) -> None:
        from django.contrib.auth.models import User
        from django.utils import timezone

        from commerce.services import catalog, drops
        from commerce.services.reservations import reserve_stock
        from commerce.services.tokens import issue_token
        from commerce.waiting_room import services as rooms

        owner = User.objects.create_user("bench-owner", password=None)
        merchant = catalog.create_merchant(name="Bench", slug="bench", owner=owner)
        self.sku = catalog.create_product(
            merchant_id=merchant.pk,
            kind="physical",
            title="Tee",
            skus=[catalog.SkuSpec(code="T", price=1000)],
        ).skus.get()

        def live(units: int, limit: int) -> int:
            drop = drops.create_drop(
                merchant_id=merchant.pk,
                title="bench",
                starts_at=timezone.now() + timedelta(hours=1),
                per_buyer_limit=limit,
                items=[drops.DropItemSpec(sku_id=self.sku.pk, quantity=units)],
            )
            # No waiting room (a roomy drop is "auto: on" by size): this measures the reserve itself;
            # the queued drop's admission check is one HMAC and one INSERT (commerce/services/waiting_room.py).
            rooms.configure(drop_id=drop.pk, merchant_id=merchant.pk, mode="off")
            drops.start_drop(drop_id=drop.pk)
            return int(drop.pk)

        self.user = User.objects.create_user("bench-buyer", password=None)
        self.token = issue_token(user=self.user).key
        self.throttled_user = User.objects.create_user("bench-throttled", password=None)
        self.throttled_token = issue_token(user=self.throttled_user).key
        self.roomy = live(1_000_000, 1_000_000)
        self.sold_out = live(1, 1)
        # A queued drop (its room on, no admitter running: the buyer stays in line), joined once.
        self.queued = live(1_000_000, 1_000_000)
        rooms.configure(drop_id=self.queued, merchant_id=merchant.pk, mode="on", admit_per_second=0.001)
        rooms.join(drop_id=self.queued, buyer_id=self.user.pk)
        reserve_stock(drop_id=self.sold_out, sku_id=self.sku.pk, buyer_id=owner.pk, quantity=1)

    def body(self, drop_id: int) -> bytes:
        return json.dumps({"drop_id": drop_id, "sku_id": self.sku.pk, "quantity": 1}).encode()


def _sql_call(fx: Fixture, drop_id: int) -> Callable[[], Any]:
    from dataclasses import replace

    from django.db import transaction
    from django.utils import timezone

    from commerce.services import stock
    from realtime.outbox import prepare

    event, aggregate = prepare(
        type="inventory.reserved",
        key=drop_id,
        payload={
            "drop_id": drop_id, "sku_id": fx.sku.pk, "reservation_id": uuid.uuid4(), "buyer_id": fx.user.pk,
            "quantity": 1, "expires_at": timezone.now().isoformat(),
            "offered": 1, "reserved": 1, "sold": 0, "available": 0,
        },
    )  # fmt: skip

    def call() -> Any:
        now = timezone.now()
        with transaction.atomic():
            outcome = stock.reserve_in_one_statement(
                drop_id=drop_id, sku_id=fx.sku.pk, buyer_id=fx.user.pk, quantity=1, now=now,
                reservation_id=uuid.uuid4(), expires_at=now + timedelta(minutes=10),
                event=replace(event, id=uuid.uuid4()), aggregate=aggregate,
            )  # fmt: skip
            if outcome.buyer_claimed and outcome.counters is None:
                stock.adjust_buyer_units(drop_id=drop_id, buyer_id=fx.user.pk, delta=-1)
        return outcome

    return call


def _service_call(fx: Fixture, drop_id: int) -> Callable[[], Any]:
    from commerce.errors import CommerceError
    from commerce.services.reservations import reserve_stock

    def call() -> Any:
        try:
            return reserve_stock(drop_id=drop_id, sku_id=fx.sku.pk, buyer_id=fx.user.pk, quantity=1)
        except CommerceError as exc:
            return exc

    return call


def _bare_django_view() -> Callable[..., Any]:
    """What a view needs at least: parse, call the service, answer the error shape or the row."""
    from django.http import JsonResponse

    from commerce.errors import CommerceError
    from commerce.services.reservations import reserve_stock

    def view(request: Any) -> JsonResponse:
        data = json.loads(request.body)
        try:
            r = reserve_stock(
                drop_id=int(data["drop_id"]), sku_id=int(data["sku_id"]), buyer_id=request.user.pk,
                quantity=int(data["quantity"]),
            )  # fmt: skip
        except CommerceError as exc:
            error = {"code": exc.code, "message": exc.message, "details": exc.details}
            return JsonResponse({"error": error}, status=exc.http_status)
        return JsonResponse({"id": str(r.pk), "expires_at": r.expires_at.isoformat()}, status=201)

    return view


def _status(result: Any) -> int:
    """The HTTP status a layer answered (service layers: 201 or the error's status)."""
    from commerce.errors import CommerceError

    if isinstance(result, int):
        return result
    if isinstance(result, str):
        return int(result.split()[0])
    if isinstance(result, CommerceError):
        return int(result.http_status)
    if hasattr(result, "status_code"):
        return int(result.status_code)
    if getattr(result, "counters", 1) is None:  # the sql layer's refused outcome
        return 409
    return 201


@contextmanager
def _throttles(on: bool, *, refuse: bool = False) -> Iterator[None]:
    """Throttles off, counted (roomy rates: every call passes), or refusing this buyer (429)."""
    from django.conf import settings

    saved = settings.ABUSE_THROTTLE_ENABLED, settings.ABUSE_THROTTLE_RATES["reserve.user"]
    settings.ABUSE_THROTTLE_ENABLED = on
    if refuse:
        settings.ABUSE_THROTTLE_RATES["reserve.user"] = "1/d"
    try:
        yield
    finally:
        settings.ABUSE_THROTTLE_ENABLED, settings.ABUSE_THROTTLE_RATES["reserve.user"] = saved


def _view_call(fx: Fixture, drop_id: int, layer: str, *, refuse: bool = False) -> Callable[[], Any]:
    from rest_framework.test import APIRequestFactory, force_authenticate

    from commerce.api.views_buyer import ReservationListCreateView

    factory = APIRequestFactory()
    drf = ReservationListCreateView.as_view()
    bare = _bare_django_view()
    body = fx.body(drop_id)
    token = fx.throttled_token if refuse else fx.token
    user = fx.throttled_user if refuse else fx.user

    def call() -> Any:
        headers = {"REMOTE_ADDR": "127.0.0.1"}
        if layer in ("drf_auth", "drf_idempotency"):
            headers["HTTP_AUTHORIZATION"] = f"Token {token}"
        if layer == "drf_idempotency":
            headers["HTTP_IDEMPOTENCY_KEY"] = uuid.uuid4().hex
        request = factory.post("/api/v1/reservations/", body, content_type="application/json", **headers)
        if layer == "django_view":
            request.user = user
            return bare(request)
        if layer in ("drf_view", "drf_throttle"):
            force_authenticate(request, user=user)
        with _throttles(layer != "drf_view", refuse=refuse):
            response = drf(request)
        response.render()
        return response

    return call


def _wsgi_call(fx: Fixture, drop_id: int, *, refuse: bool = False) -> Callable[[], Any]:
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()
    body = fx.body(drop_id)
    token = fx.throttled_token if refuse else fx.token

    def call() -> Any:
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/reservations/", "SCRIPT_NAME": "",
            "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"Token {token}", "HTTP_HOST": "127.0.0.1",
            "HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex,
            "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
            "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False, "wsgi.version": (1, 0),
        }  # fmt: skip
        chunks: list[Any] = []
        with _throttles(True, refuse=refuse):
            result = handler(environ, lambda status, headers, exc_info=None: chunks.append(status))  # type: ignore[arg-type]
            b"".join(result)
        return chunks[0]

    return call


class Server:
    """granian WSGI on config.wsgi (the Procfile's `web`), 1 worker x 1 thread, on the bench DB."""

    def __init__(self, db_url: str, *, lean_health_check: bool = True, **extra: str) -> None:
        self.port = _free_port()
        env = {
            **os.environ,
            **extra,
            "DATABASE_LEAN_HEALTH_CHECK": "true" if lean_health_check else "false",
            "DATABASE_URL": db_url,
            "COMMERCE_SOLD_OUT_MEMO_SECONDS": os.environ["COMMERCE_SOLD_OUT_MEMO_SECONDS"],
        }
        self.proc = subprocess.Popen(
            web_command(port=self.port, workers=1, threads=1, extra=("--no-ws",)),
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 240  # a loaded box can take minutes to import Django
        while True:
            try:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                self.conn.request("GET", "/healthz")
                if self.conn.getresponse().read() is not None:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.2)

    def call(self, method: str, path: str, body: bytes | None = None, token: str | None = None) -> int:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
            headers["Idempotency-Key"] = uuid.uuid4().hex
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                response.read()
                return response.status
            except (ConnectionError, http.client.HTTPException):
                if attempt == 2:
                    raise
                # The server closed an idle keep-alive connection while other layers ran.
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        raise AssertionError("unreachable")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _healthz_call() -> Callable[[], Any]:
    """GET /healthz through Django's WSGI handler in-process (the floor of the middleware layer)."""
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()

    def call() -> Any:
        environ = {
            "REQUEST_METHOD": "GET", "PATH_INFO": "/healthz", "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1", "wsgi.input": io.BytesIO(b""),
            "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.multithread": False,
            "wsgi.multiprocess": False, "wsgi.run_once": False, "wsgi.version": (1, 0),
        }  # fmt: skip
        chunks: list[Any] = []
        b"".join(handler(environ, lambda status, headers, exc_info=None: chunks.append(status)))  # type: ignore[arg-type]
        return chunks[0]

    return call


def _http_call(
    server: "Server", method: str, path: str, body: bytes | None = None, token: str | None = None
) -> Callable[[], Any]:
    return lambda: server.call(method, path, body, token)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per layer, kind and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--no-http",
        action="store_true",
        help="in-process layers only (a loaded box may take minutes to start granian)",
    )
    args = parser.parse_args(argv)

    name = _db_name()
    _recreate(name)
    db_url = BASE_DB_URL.rsplit("/", 1)[0] + "/" + name
    os.environ["DATABASE_URL"] = db_url
    os.environ["COMMERCE_SOLD_OUT_MEMO_SECONDS"] = "0"  # refusals reach the database
    os.environ.update(ROOMY_RATES)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    servers: list[Server] = []
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        fx = Fixture()
        # Each kept as soon as it runs, so that `finally` stops it even if a later one fails.
        http = not args.no_http
        if http:
            servers.append(server := Server(db_url))
            servers.append(stock_server := Server(db_url, lean_health_check=False))
            servers.append(strict_server := Server(db_url, ABUSE_RATE_RESERVE_USER="1/d"))  # the 429
            # The waiting room's joins and polls through Django (no edge), beside the edge's.
            servers.append(django_server := Server(db_url, COMMERCE_WAITING_ROOM_EDGE="false"))
        calls: dict[tuple[str, str], Callable[[], Any]] = {}
        for kind, drop_id in (("reserve", fx.roomy), ("refusal", fx.sold_out)):
            calls[("sql", kind)] = _sql_call(fx, drop_id)
            calls[("service", kind)] = _service_call(fx, drop_id)
            for layer in ("django_view", "drf_view", "drf_throttle", "drf_auth", "drf_idempotency"):
                calls[(layer, kind)] = _view_call(fx, drop_id, layer)
            calls[("middleware", kind)] = _wsgi_call(fx, drop_id)
            if http:
                calls[("http", kind)] = _http_call(
                    server, "POST", "/api/v1/reservations/", fx.body(drop_id), fx.token
                )
                calls[("http_select1", kind)] = _http_call(
                    stock_server, "POST", "/api/v1/reservations/", fx.body(drop_id), fx.token
                )
        for layer in ("drf_throttle", "drf_auth", "drf_idempotency"):
            calls[(layer, "throttled")] = _view_call(fx, fx.roomy, layer, refuse=True)
        calls[("middleware", "throttled")] = _wsgi_call(fx, fx.roomy, refuse=True)
        if http:
            calls[("http", "throttled")] = _http_call(
                strict_server, "POST", "/api/v1/reservations/", fx.body(fx.roomy), fx.throttled_token
            )
            calls[("http", "healthz")] = _http_call(server, "GET", "/healthz")
            queue_path = f"/api/v1/drops/{fx.queued}/queue/"
            calls[("http", "queue_poll")] = _http_call(server, "GET", queue_path, None, fx.token)
            calls[("http", "queue_join")] = _http_call(server, "POST", queue_path, None, fx.token)
            calls[("http_no_edge", "queue_poll")] = _http_call(
                django_server, "GET", queue_path, None, fx.token
            )
            calls[("http_no_edge", "queue_join")] = _http_call(
                django_server, "POST", queue_path, None, fx.token
            )
            calls[("http", "admission_required")] = _http_call(
                server, "POST", "/api/v1/reservations/", fx.body(fx.queued), fx.token
            )
        else:
            calls[("middleware", "healthz")] = _healthz_call()
        samples: dict[tuple[str, str], list[float]] = {key: [] for key in calls}
        cpu: dict[tuple[str, str], list[float]] = {key: [0.0, 0.0, 0.0] for key in calls}  # app, db, client
        unexpected: dict[str, dict[int, int]] = {}
        conninfo = db_url.replace("postgres://", "postgresql://")
        meters = {s.proc.pid: CpuMeter(conninfo, s.proc.pid) for s in servers}
        meters[0] = CpuMeter(conninfo, os.getpid())  # in-process layers: only its database CPU is read
        server_of = (
            {"http": server, "http_select1": stock_server, "http_no_edge": django_server} if http else {}
        )
        for _ in range(args.rounds):
            for key, call in calls.items():
                want = EXPECTED[key[1]]

                def checked(
                    call: Callable[[], Any] = call, key: tuple[str, str] = key, want: int = want
                ) -> None:
                    got = _status(call())
                    if got != want:  # a layer answering something else measures something else: say so
                        seen = unexpected.setdefault("/".join(key), {})
                        seen[got] = seen.get(got, 0) + 1

                for _ in range(5):
                    checked()  # warm: prepared statements, token cache, the server's connection
                if key == ("http", "throttled"):
                    m = meters[strict_server.proc.pid]
                else:
                    m = meters[
                        server_of[key[0]].proc.pid
                        if key[0] in server_of
                        else (server.proc.pid if http else 0)
                    ]
                db0, srv0 = m.sample()
                t0 = time.thread_time()
                for _ in range(args.calls):
                    started = time.perf_counter()
                    checked()
                    samples[key].append(time.perf_counter() - started)
                client = time.thread_time() - t0
                db1, srv1 = m.sample()
                in_process = not key[0].startswith("http")
                cpu[key][0] += client if in_process else srv1 - srv0
                cpu[key][1] += db1 - db0
                cpu[key][2] += client
        # The memo answer, in-process (the service layer with the memo on).
        settings.COMMERCE_SOLD_OUT_MEMO_SECONDS = 60.0
        memo_call = _service_call(fx, fx.sold_out)
        memo_call()
        from commerce.services import soldout_memo

        soldout_memo._remember(fx.sold_out, fx.sku.pk)
        memo = []
        for _ in range(args.calls):
            started = time.perf_counter()
            memo_call()
            memo.append(time.perf_counter() - started)

        layers: dict[str, Any] = {}
        for kind, names in (("reserve", LAYERS), ("refusal", LAYERS), ("throttled", THROTTLED_LAYERS)):
            below = 0.0
            for layer in names:
                if (layer, kind) not in samples:
                    continue
                row: dict[str, float] = _stats(samples[(layer, kind)])
                n = len(samples[(layer, kind)])
                app, db, client = (round(x / n * 1e6, 1) for x in cpu[(layer, kind)])
                row |= {"app_cpu_us": app, "db_cpu_us": db}
                if below:
                    row["app_step_us"] = round(app - below, 1)
                if layer == "http":
                    row["client_cpu_us"] = client
                below = app
                layers.setdefault(layer, {})[kind] = row

        def measured(key: tuple[str, str]) -> dict[str, float]:
            """A call's wall-clock stats and its server and database CPU per call."""
            n = len(samples[key])
            app, db, _client = (round(x / n * 1e6, 1) for x in cpu[key])
            return _stats(samples[key]) | {"app_cpu_us": app, "db_cpu_us": db}

        for kind in QUEUE_KINDS if http else ():
            layers["http"][kind] = measured(("http", kind))
        for kind in ("queue_poll", "queue_join") if http else ():
            layers.setdefault("http_no_edge", {})[kind] = measured(("http_no_edge", kind))
        hkey = ("http", "healthz") if http else ("middleware", "healthz")
        n = len(samples[hkey])
        healthz = _stats(samples[hkey]) | {"app_cpu_us": round(cpu[hkey][0] / n * 1e6, 1), "layer": hkey[0]}
        for m in meters.values():
            m.monitor.close()
        for kind in ("reserve", "refusal") if http else ():
            layers.setdefault("http_select1", {})[kind] = measured(("http_select1", kind))
        result = {
            "benchmark": "reserve_layers",
            "calls_per_layer": args.calls * args.rounds,
            "layers": layers,
            "healthz": healthz,
            "refusal_memo_service": _stats(memo),
            "unexpected_statuses": unexpected,
            "conditions": {
                "server": "granian wsgi, 1 worker x 1 blocking thread, keep-alive client, 127.0.0.1",
                "sequential": True,
                "throttles": "counted on every call from drf_throttle up (roomy rates); `throttled`: 1/d",
                "idempotency_key": "a fresh Idempotency-Key per call from drf_idempotency up",
                "load_average_1m": round(os.getloadavg()[0], 2),
                "cpu_count": os.cpu_count(),
            },
        }
    finally:
        for s in servers:
            s.stop()
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _recreate(name, drop_only=True)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
