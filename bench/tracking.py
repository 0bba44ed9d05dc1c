"""Tracking ingestion: sustained page views into `leadflow serve` on PostgreSQL (issue 4).

Starts the real server (`leadflow serve --no-worker`: granian + Django) on a dedicated
PostgreSQL database, drives POST /t/collect with wrk for a fixed time, the way the tracking
script's sendBeacon posts (text/plain JSON, one unique visitor id per event), then checks
that every event sent was answered 204 and stored exactly once. The same load against
/healthz (a SELECT 1 through the same stack) shows the server's ceiling on this machine.

    .venv/bin/python bench/tracking.py                        # 30 s, 32 connections
    .venv/bin/python bench/tracking.py --duration 5           # smoke run
    .venv/bin/python bench/tracking.py --format json          # one JSON document
    .venv/bin/python bench/tracking.py --workers 3 --connections 64 --keep

Needs wrk (`apt-get install -y wrk`). The per-address rate limit is switched off
(LEADFLOW_TRACKING_RATE_PER_IP="") because every request comes from 127.0.0.1.

Zero loss is checked exactly: near the end of the run the Lua script stops issuing new
events (its delay() holds each connection idle) and wrk keeps reading for --drain seconds, so
no request is cut off in flight; then sent == 204 answers == rows == distinct visitor ids.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse, urlunparse

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/leadflow_bench_tracking"
GOAL_EVENTS_PER_SECOND = 2000
GOAL_LOST = 0
REPO = Path(__file__).resolve().parent.parent
MARKER = "LEADFLOW_BENCH "

# wrk's Lua side. Each wrk thread has its own Lua state: `id` comes from setup(), the
# counters live per thread and done() collects them through thread:get().
#   args[1]: "collect" or "healthz"; args[2]: seconds of load before the drain starts.
# LuaJIT's ffi gives a sub-second clock (os.time() counts whole seconds).
WRK_SCRIPT = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } lf_timespec;
int clock_gettime(int clk_id, lf_timespec *tp);
]]
local tsbuf = ffi.new("lf_timespec")
local function clock(which)  -- 0: wall clock, 1: monotonic
  ffi.C.clock_gettime(which, tsbuf)
  return tonumber(tsbuf.tv_sec) + tonumber(tsbuf.tv_nsec) / 1e9
end

local threads, next_id = {}, 1
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local PAGES = {
  {"/", "Acme - Logistics software"},
  {"/pricing", "Pricing - Acme"},
  {"/features/routing", "Route planning - Acme"},
  {"/blog/cut-fuel-costs", "Five ways to cut fuel costs - Acme blog"},
  {"/customers/northwind", "How Northwind ships faster - Acme"},
  {"/ebook/fleet-guide", "Free e-book: the fleet manager's guide - Acme"},
  {"/webinar/q3-planning", "Webinar: Q3 capacity planning - Acme"},
  {"/contact", "Talk to sales - Acme"},
}
local CAMPAIGNS = {
  "?utm_source=google&utm_medium=cpc&utm_campaign=spring-search",
  "?utm_source=linkedin&utm_medium=social&utm_campaign=fleet-guide",
  "?utm_source=newsletter&utm_medium=email&utm_campaign=2024-05",
  "", "", "",
}
local REFERRERS = {
  "https://www.google.com/", "https://www.linkedin.com/", "", "https://acme.example/",
  "https://news.ycombinator.com/",
}
local HEADERS = {
  ["Content-Type"] = "text/plain;charset=UTF-8",
  ["Origin"] = "https://acme.example",
  ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    .. "Chrome/124.0 Safari/537.36",
}

function init(args)
  mode = args[1]
  stop_at = clock(1) + tonumber(args[2])
  sent, answered, statuses = 0, 0, {}
  first_sent_at, last_answer_at = 0, 0
  healthz = wrk.format("GET", "/healthz")
end

-- After stop_at no connection sends again: wrk stops before a one-hour delay runs out, and
-- the events still in flight are answered during the drain.
function delay()
  if clock(1) >= stop_at then return 3600000 end
  return 0
end

local probed = false
function request()
  -- wrk asks each thread for one request before it connects (to check the script) and
  -- never sends it: that one is not counted, and gets a visitor id no event uses.
  if not probed then
    probed = true
    return wrk.format("POST", "/t/collect", HEADERS, '{"vid":"probe-never-sent"}')
  end
  sent = sent + 1
  if first_sent_at == 0 then first_sent_at = clock(1) end
  if mode == "healthz" then return healthz end
  local page = PAGES[sent % #PAGES + 1]
  local body = string.format(
    '{"vid":"bench%02d-%010d","type":"page_view","url":"https://acme.example%s%s",'
      .. '"title":"%s","ref":"%s","ts":%d}',
    id, sent, page[1], CAMPAIGNS[sent % #CAMPAIGNS + 1], page[2],
    REFERRERS[sent % #REFERRERS + 1], math.floor(clock(0) * 1000))
  return wrk.format("POST", "/t/collect", HEADERS, body)
end

function response(status, headers, body)
  answered = answered + 1
  last_answer_at = clock(1)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local sent_total, answered_total, first, last, by_status = 0, 0, nil, 0, {}
  for _, thread in ipairs(threads) do
    sent_total = sent_total + thread:get("sent")
    answered_total = answered_total + thread:get("answered")
    local f, l = thread:get("first_sent_at"), thread:get("last_answer_at")
    if f > 0 and (first == nil or f < first) then first = f end
    if l > last then last = l end
    for status, n in pairs(thread:get("statuses")) do
      by_status[status] = (by_status[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(by_status) do
    table.insert(parts, string.format('"%s":%d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'LEADFLOW_BENCH {"sent":%d,"answered":%d,"statuses":{%s},"window_s":%.6f,'
      .. '"wrk_requests":%d,"wrk_duration_s":%.6f,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_ms":{"p50":%.3f,"p90":%.3f,"p99":%.3f,"max":%.3f,"mean":%.3f}}\n',
    sent_total, answered_total, table.concat(parts, ","), (first and last - first) or 0,
    summary.requests, summary.duration / 1e6,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000))
end
"""

COUNT_SQL = (
    "SELECT count(*), count(DISTINCT visitor_id), count(*) FILTER (WHERE utm <> '{}'::jsonb) "
    "FROM capture_trackingevent"
)


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--duration", type=float, default=30, help="seconds of event load")
    parser.add_argument(
        "--baseline-duration", type=float, default=10, help="seconds of /healthz load (0: skip)"
    )
    parser.add_argument("--connections", type=int, default=32, help="open keep-alive connections")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="web processes")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (event loops)")
    parser.add_argument(
        "--drain", type=float, default=3, help="seconds wrk waits for the last answers"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    parser.add_argument("--format", choices=["table", "json"], default="table")
    args = parser.parse_args(argv)
    if urlparse(args.database_url).scheme not in {"postgres", "postgresql"}:
        parser.error("the benchmark needs PostgreSQL (--database-url postgres://...)")
    if args.connections < args.wrk_threads:
        parser.error("--connections must be at least --wrk-threads")
    return args


# --- database -----------------------------------------------------------------------------


def database_name(url: str) -> str:
    return urlparse(url).path.lstrip("/")


def maintenance_url(url: str) -> str:
    return urlunparse(urlparse(url)._replace(path="/postgres"))


def admin_execute(url: str, sql: str) -> list[tuple]:
    """Run one statement on the server's `postgres` database (CREATE/DROP DATABASE)."""
    import psycopg

    with psycopg.connect(maintenance_url(url), autocommit=True) as conn:
        cur = conn.execute(sql)
        return cur.fetchall() if cur.description else []


def database_ident(url: str) -> str:
    from psycopg import sql

    return sql.Identifier(database_name(url)).as_string(None)


def recreate_database(url: str) -> None:
    log(f"creating database {database_name(url)} (dropped first if it exists)")
    admin_execute(url, f"DROP DATABASE IF EXISTS {database_ident(url)} WITH (FORCE)")
    admin_execute(url, f"CREATE DATABASE {database_ident(url)}")


def drop_database(url: str) -> None:
    log(f"dropping database {database_name(url)}")
    admin_execute(url, f"DROP DATABASE IF EXISTS {database_ident(url)} WITH (FORCE)")


def query(url: str, sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql).fetchall()


# --- server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(url: str, *, port: int, workers: int, data_dir: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "leadflow.settings",
        "LEADFLOW_DATABASE_URL": url,
        "LEADFLOW_DATA_DIR": data_dir,
        "LEADFLOW_SECRET_KEY": "benchmark-only",
        "LEADFLOW_DEBUG": "0",
        "LEADFLOW_LOG_LEVEL": "WARNING",
        # One load generator is one address: the per-address limit would answer 429.
        "LEADFLOW_TRACKING_RATE_PER_IP": "",
    }
    cmd = [sys.executable, "-m", "leadflow.cli", "serve", "--no-worker"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    log(f"starting {' '.join(cmd[1:])}")
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL)  # noqa: S603


def wait_until_healthy(server: subprocess.Popen, port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"leadflow serve exited with {server.returncode} before answering")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:  # noqa: S310
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise SystemExit(f"leadflow serve did not answer /healthz within {timeout:.0f} s")


def stop_server(server: subprocess.Popen) -> int:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return server.returncode


# --- CPU accounting -----------------------------------------------------------------------
# The machine is shared, so events/s alone says little: CPU seconds per event (web server,
# its PostgreSQL backends, wrk) say how much of the two cores one event costs.

TICKS = os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo += [int(child) for child in task.read_text().split()]
            except OSError:
                continue
    return pids


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """user + system CPU seconds of each process still alive."""
    seen = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seen[pid] = (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    return seen


def backend_pids(url: str) -> list[int]:
    rows = query(
        url,
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
    )
    return [pid for (pid,) in rows]


class CpuMeter:
    """CPU used by the server's processes and its database backends during one run.

    A backend that closes during the run (CONN_MAX_AGE) takes its last seconds with it, so
    the database figure is a floor."""

    def __init__(self, server_pid: int, url: str) -> None:
        self.server_pid, self.url = server_pid, url
        self.server = cpu_seconds(process_tree(server_pid))
        self.database = cpu_seconds(backend_pids(url))
        self.wrk = resource.getrusage(resource.RUSAGE_CHILDREN)

    def stop(self) -> dict[str, float]:
        server = cpu_seconds(process_tree(self.server_pid))
        database = cpu_seconds(backend_pids(self.url) + list(self.database))
        wrk = resource.getrusage(resource.RUSAGE_CHILDREN)

        def used(before: dict[int, float], after: dict[int, float]) -> float:
            return sum(after[pid] - before.get(pid, 0.0) for pid in after)

        return {
            "web": round(used(self.server, server), 3),
            "database": round(used(self.database, database), 3),
            "wrk": round(wrk.ru_utime + wrk.ru_stime - self.wrk.ru_utime - self.wrk.ru_stime, 3),
        }


# --- load ---------------------------------------------------------------------------------


def run_wrk(
    script: Path,
    *,
    server: subprocess.Popen,
    url: str,
    port: int,
    mode: str,
    seconds: float,
    args: argparse.Namespace,
) -> dict:
    """One wrk run: `seconds` of load, then `args.drain` seconds in which nothing new is sent."""
    total = seconds + args.drain
    cmd = [
        "wrk",
        f"--threads={args.wrk_threads}",
        f"--connections={args.connections}",
        f"--duration={total:.0f}s" if total == int(total) else f"--duration={int(total) + 1}s",
        "--timeout=10s",
        "--latency",
        f"--script={script}",
        f"http://127.0.0.1:{port}/",
        "--",
        mode,
        str(seconds),
    ]
    log(f"wrk: {seconds:g} s of {mode} load on {args.connections} connections")
    meter = CpuMeter(server.pid, url)
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
    cpu = meter.stop()
    line = next((x for x in done.stdout.splitlines() if x.startswith(MARKER)), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result = json.loads(line[len(MARKER) :])
    ok = sum(n for status, n in result["statuses"].items() if status.startswith("2"))
    window = result["window_s"] or seconds
    result["ok"] = ok
    result["per_second"] = round(ok / window, 1)
    result["cpu_s"] = cpu
    if ok:
        result["cpu_ms_per_request"] = {k: round(1000 * v / ok, 3) for k, v in cpu.items()}
        # What two idle cores could take at this cost, wrk excluded.
        result["cpu_bound_per_second"] = round(
            (os.cpu_count() or 1) * ok / (cpu["web"] + cpu["database"]), 0
        )
    result["wrk_output"] = [x for x in done.stdout.splitlines() if not x.startswith(MARKER)]
    return result


# --- report -------------------------------------------------------------------------------


def environment(url: str, workers: int) -> dict:
    def sh(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO).stdout.strip()  # noqa: S603
        except OSError:
            return ""

    cpu, memory_gb = "", None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        memory_gb = round(int(memory) / 1024 / 1024, 1)
    except OSError:
        pass
    settings = dict(
        query(
            url,
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('server_version', 'synchronous_commit', 'fsync', 'commit_delay', "
            "'shared_buffers', 'max_connections')",
        )
    )
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "commit": sh("git", "rev-parse", "--short", "HEAD"),
        "machine": {
            "cpus": os.cpu_count(),
            "cpu": cpu,
            "memory_gb": memory_gb,
            "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in load] if load else None,
        },
        "postgresql": settings.pop("server_version", ""),
        "postgresql_settings": settings,
        "granian": sh(sys.executable, "-m", "granian", "--version"),
        "wrk": sh("wrk", "--version").splitlines()[0] if shutil.which("wrk") else "",
        "web_workers": workers,
    }


def verify(events: dict, stored: int, distinct: int, with_utm: int) -> dict:
    """Zero loss, exactly: every event sent was answered 204 and is one row, once."""
    answered_204 = events["statuses"].get("204", 0)
    non_2xx = {s: n for s, n in events["statuses"].items() if not s.startswith("2")}
    socket_errors = sum(events["errors"][k] for k in ("connect", "read", "write", "timeout"))
    lost = events["sent"] - stored
    checks = {
        "every event sent was answered": events["sent"] == events["answered"],
        "every answer was 204": answered_204 == events["answered"] and not non_2xx,
        "no socket errors or timeouts": socket_errors == 0,
        "rows stored == 204 answers": stored == answered_204,
        "each event stored once": distinct == stored,
    }
    return {
        "sent": events["sent"],
        "answered_204": answered_204,
        "non_2xx": non_2xx,
        "socket_errors": socket_errors,
        "stored": stored,
        "stored_with_utm": with_utm,
        "distinct_visitor_ids": distinct,
        "lost": lost,
        "checks": checks,
        "zero_loss": all(checks.values()) and lost == 0,
    }


def print_table(report: dict) -> None:
    env, ev, base, v = report["environment"], report["events"], report["baseline"], report["loss"]
    m = env["machine"]
    print(
        f"Tracking ingestion: POST /t/collect into leadflow serve on PostgreSQL "
        f"{env['postgresql']}, {env['web_workers']} granian worker(s), {m['cpus']} CPUs "
        f"({m['cpu']}), commit {env['commit']}"
    )
    print(
        f"wrk, {report['connections']} keep-alive connections, {report['duration_s']:g} s "
        f"(+{report['drain_s']:g} s drain); per-address rate limit off "
        f'(LEADFLOW_TRACKING_RATE_PER_IP="": every request comes from 127.0.0.1)\n'
    )
    rows = [
        (
            "events/s",
            f"{ev['per_second']:,.0f}",
            f">= {GOAL_EVENTS_PER_SECOND:,}",
            report["pass_rate"],
        ),
        ("latency p50 ms", f"{ev['latency_ms']['p50']:.1f}", "", None),
        ("latency p90 ms", f"{ev['latency_ms']['p90']:.1f}", "", None),
        ("latency p99 ms", f"{ev['latency_ms']['p99']:.1f}", "", None),
        ("events sent", f"{v['sent']:,}", "", None),
        ("answered 204", f"{v['answered_204']:,}", "", None),
        (
            "non-2xx / socket errors",
            f"{sum(v['non_2xx'].values())} / {v['socket_errors']}",
            "0 / 0",
            not v["non_2xx"] and not v["socket_errors"],
        ),
        ("rows stored", f"{v['stored']:,}", "== sent", v["stored"] == v["sent"]),
        ("events lost", f"{v['lost']:,}", f"{GOAL_LOST}", v["zero_loss"]),
    ]
    if "cpu_ms_per_request" in ev:
        cost = ev["cpu_ms_per_request"]
        rows.append(
            (
                "CPU ms/event web+db+wrk",
                f"{cost['web']:.2f}+{cost['database']:.2f}+{cost['wrk']:.2f}",
                f"all cores: {ev['cpu_bound_per_second']:,.0f}/s",
                None,
            )
        )
    if base:
        rows.append(
            (
                "/healthz baseline req/s",
                f"{base['per_second']:,.0f}",
                f"p50 {base['latency_ms']['p50']:.1f} / p99 {base['latency_ms']['p99']:.1f} ms",
                None,
            )
        )
    print(f"{'':<26}{'measured':>12}  {'goal':<24}result")
    for name, value, goal, passed in rows:
        result = "" if passed is None else ("PASS" if passed else "FAIL")
        print(f"{name:<26}{value:>12}  {goal:<24}{result}")
    failed = [name for name, ok in v["checks"].items() if not ok]
    if failed:
        print(f"\nfailed checks: {', '.join(failed)}; statuses {ev['statuses']}")
    print(f"\n{'PASS' if report['passed'] else 'FAIL'}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 2
    url = args.database_url
    recreate_database(url)
    data_dir = tempfile.mkdtemp(prefix="leadflow-bench-tracking-")
    port = free_port()
    server = start_server(url, port=port, workers=args.workers, data_dir=data_dir)
    report: dict = {}
    try:
        wait_until_healthy(server, port)
        env = environment(url, args.workers)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
            lua.write(WRK_SCRIPT)
        script = Path(lua.name)
        # Warm-up: every worker imports, connects and fills its caches before a timed run.
        run_wrk(script, server=server, url=url, port=port, mode="healthz", seconds=2, args=args)
        baseline = None
        if args.baseline_duration > 0:
            baseline = run_wrk(
                script,
                server=server,
                url=url,
                port=port,
                mode="healthz",
                seconds=args.baseline_duration,
                args=args,
            )
        events = run_wrk(
            script,
            server=server,
            url=url,
            port=port,
            mode="collect",
            seconds=args.duration,
            args=args,
        )
        stored, distinct, with_utm = query(url, COUNT_SQL)[0]
        loss = verify(events, stored, distinct, with_utm)
        script.unlink()
    finally:
        code = stop_server(server)
        log(f"server stopped (exit {code})")
        shutil.rmtree(data_dir, ignore_errors=True)
        if not args.keep:
            drop_database(url)
    pass_rate = events["per_second"] >= GOAL_EVENTS_PER_SECOND
    report = {
        "benchmark": "tracking_ingestion",
        "environment": env,
        "duration_s": args.duration,
        "drain_s": args.drain,
        "connections": args.connections,
        "wrk_threads": args.wrk_threads,
        "rate_limit_per_ip": "off",
        "goal": {"events_per_second": GOAL_EVENTS_PER_SECOND, "lost": GOAL_LOST},
        "events": {k: v for k, v in events.items() if k != "wrk_output"},
        "baseline": {k: v for k, v in baseline.items() if k != "wrk_output"} if baseline else None,
        "loss": loss,
        "pass_rate": pass_rate,
        "passed": pass_rate and loss["zero_loss"],
    }
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
