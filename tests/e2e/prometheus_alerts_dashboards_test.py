#!/usr/bin/python3
"""End to end: wsprobe's alert rules and dashboards against a real Prometheus.

Starts the built `wsprobe demo` (misbehaving WebSocket endpoints on loopback,
probed by wsprobe) and Debian's `prometheus` on 127.0.0.1, scraping it every
second and evaluating alerts/wsprobe-rules.yml every second. Then, polling
until a deadline (90 s from Prometheus being ready), it requires:

  * WSProbe1006Spike fires for the target that drops connections without a
    close frame (`drops`), and is never pending or firing for `healthy`, for
    `server-close` (which closes with 1011 and 1012: planned restarts must not
    count as 1006) or for `idle-timeout` (whose 1006s are on the idle probe);
  * every rule (recording and alerting) evaluates without error on real data;
  * every dashboard variable query returns the demo's job, instance, location
    and targets;
  * every panel query of both dashboards, with the variables filled in the way
    Grafana does it, returns data: the overview with the variables found above
    and target = All, the per-target dashboard with each demo target in turn
    (a query passes when it returns data for at least one target: a healthy
    target has no handshake failures to show).

A metric the wsprobe under test does not export yet can be named with
--pending-metric: queries that read it are then not required to return data,
and the test fails as soon as one does, so that the exemption is removed the
day the metric arrives.

No fixed ports: wsprobe binds port 0 and logs the port; Prometheus gets a port
the kernel just handed out. Both processes are stopped on every exit path,
and die with this script if it is killed (PR_SET_PDEATHSIG).

Python standard library only; run with /usr/bin/python3.
"""

import argparse
import ctypes
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import prometheus_dashboard_queries as dq  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
ALERT = "WSProbe1006Spike"
DROPPING_TARGET = "drops"
# Targets the 1006 alert must never be pending or firing for, and why.
QUIET_TARGETS = {
    "healthy": "it never drops a connection",
    "server-close": "it closes with 1011 and 1012 (close frames), not 1006",
    "idle-timeout": "its 1006s are on the idle probe, which the alert ignores",
}
DEMO_TARGETS = {"healthy", "idle-timeout", "drops", "server-close", "flaky-upgrade", "no-pong"}
# Grafana's interval variables for a dashboard over the last minute or so,
# with the data source's scrape interval set to 1 s: $__interval is the step,
# $__rate_interval is max($__interval + scrape interval, 4 x scrape interval).
STEP_SECONDS = 1
GRAFANA_INTERVALS = {"__interval": "1s", "__rate_interval": "4s"}

PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    # Runs in the child between fork and exec: if this script dies, even by
    # SIGKILL from a ctest timeout, the child gets SIGTERM.
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Failure(Exception):
    pass


class Children:
    """Processes this test started; stop() ends every one of them."""

    def __init__(self):
        self.procs = []

    def start(self, name, argv, log_path):
        log = open(log_path, "wb")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                preexec_fn=_die_with_parent)
        log.close()
        self.procs.append((name, proc, log_path))
        return proc

    def stop(self, proc, name, grace=10.0):
        if proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            print(f"note: {name} did not exit within {grace:.0f} s of SIGTERM; killing it")
            proc.kill()
            proc.wait()

    def stop_all(self):
        for name, proc, _ in reversed(self.procs):
            self.stop(proc, name)


def _raise_on_signal(signum, _frame):
    raise SystemExit(f"interrupted by signal {signum}")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read()


def wait_until(what, deadline, check, proc=None, interval=0.1):
    """Polls check() until it returns something truthy; fails at the deadline or if proc exits."""
    while True:
        result = check()
        if result:
            return result
        if proc is not None and proc.poll() is not None:
            raise Failure(f"{what}: the process exited with status {proc.returncode}")
        if time.monotonic() > deadline:
            raise Failure(f"{what}: not within the deadline")
        time.sleep(interval)


def ready(url):
    try:
        status, _ = http_get(url, timeout=1.0)
        return status == 200
    except (urllib.error.URLError, OSError):
        return False


class Prometheus:
    def __init__(self, base):
        self.base = base

    def api(self, path, **params):
        query = urllib.parse.urlencode(params, doseq=True)
        status, body = http_get(f"{self.base}{path}?{query}" if query else f"{self.base}{path}", timeout=10.0)
        document = json.loads(body)
        if document.get("status") != "success":
            raise Failure(f"Prometheus {path} {params}: {document}")
        return document["data"]

    def query(self, expr, at):
        return self.api("/api/v1/query", query=expr, time=f"{at:.3f}")

    def query_range(self, expr, start, end):
        return self.api("/api/v1/query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}",
                        step=str(STEP_SECONDS))

    def label_values(self, label, selector, start, end):
        return self.api(f"/api/v1/label/{label}/values", **{"match[]": selector},
                        start=f"{start:.3f}", end=f"{end:.3f}")


def sample_values(result):
    """The sample values of a query result that are numbers (NaN left out)."""
    kind = result["resultType"]
    if kind == "matrix":
        raw = [v for series in result["result"] for _, v in series["values"]]
    elif kind == "vector":
        raw = [series["value"][1] for series in result["result"]]
    elif kind == "scalar":
        raw = [result["result"][1]]
    else:
        raw = []
    values = []
    for v in raw:
        try:
            number = float(v)
        except ValueError:
            continue
        if not math.isnan(number):
            values.append(number)
    return values


def has_data(result):
    """True when a query result holds at least one sample that is a number (not NaN)."""
    return bool(sample_values(result))


def start_wsprobe(children, binary, tmp, deadline):
    log_path = tmp / "wsprobe.log"
    proc = children.start("wsprobe", [binary, "--web.listen-address=127.0.0.1:0", "demo"], log_path)

    def port_from_log():
        match = re.search(r"listening on \S+ \(port (\d+)\)", log_path.read_text(errors="replace"))
        return int(match.group(1)) if match else None

    port = wait_until("wsprobe logs its port", deadline, port_from_log, proc)
    wait_until("wsprobe /-/ready", deadline, lambda: ready(f"http://127.0.0.1:{port}/-/ready"), proc)
    return proc, port


def start_prometheus(children, binary, tmp, wsprobe_port, rules, deadline):
    config = tmp / "prometheus.yml"
    config.write_text(
        "global:\n"
        "  scrape_interval: 1s\n"
        "  scrape_timeout: 1s\n"
        "  evaluation_interval: 1s\n"
        "rule_files:\n"
        f"  - {json.dumps(str(rules))}\n"
        "scrape_configs:\n"
        "  - job_name: wsprobe\n"
        "    static_configs:\n"
        f"      - targets: ['127.0.0.1:{wsprobe_port}']\n",
        encoding="utf-8")
    for attempt in range(3):
        port = free_port()
        log_path = tmp / f"prometheus-{attempt}.log"
        proc = children.start("prometheus", [
            binary, f"--config.file={config}", f"--storage.tsdb.path={tmp / f'data-{attempt}'}",
            f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1h",
            "--log.level=warn"], log_path)
        try:
            wait_until("prometheus /-/ready", deadline, lambda: ready(f"http://127.0.0.1:{port}/-/ready"), proc)
            return proc, Prometheus(f"http://127.0.0.1:{port}")
        except Failure:
            # Another process may have taken the port between free_port() and
            # Prometheus binding it; try another one.
            if proc.poll() is not None and "address already in use" in log_path.read_text(errors="replace"):
                continue
            raise
    raise Failure("prometheus: no free port after 3 attempts")


class Run:
    """What the polling loop has established so far."""

    def __init__(self, prom, dashboards, started_wall, started_mono, pending_metrics):
        self.prom = prom
        self.pending_metrics = pending_metrics
        self.dashboards = dashboards
        self.started_wall = started_wall
        self.started_mono = started_mono
        self.fired_after = None  # seconds from Prometheus ready to the alert firing for DROPPING_TARGET
        self.variables = None  # {dashboard title: {variable: [values]}} once they all resolve
        self.satisfied = {}  # query name -> the target value for which it returned data
        self.nonzero = set()  # names of queries that returned a value other than 0
        self.data_after = None
        self.rules_ok = False
        self.planned_restarts_seen = False
        self.healthy_recorded_zero = False

    def elapsed(self):
        return time.monotonic() - self.started_mono

    def check_alerts(self):
        for alert in self.prom.api("/api/v1/alerts")["alerts"]:
            labels = alert["labels"]
            if labels.get("alertname") != ALERT:
                continue
            target = labels.get("target")
            if target in QUIET_TARGETS:
                raise Failure(f"{ALERT} is {alert['state']} for target {target}, but {QUIET_TARGETS[target]}: {alert}")
            if target == DROPPING_TARGET and alert["state"] == "firing" and self.fired_after is None:
                self.fired_after = self.elapsed()
                print(f"{self.fired_after:5.1f} s  {ALERT} firing for {target}: {alert['annotations']['summary']}")

    def check_rules(self):
        groups = self.prom.api("/api/v1/rules")["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        bad = [f"{r.get('name')}: {r.get('lastError')}" for r in rules if r.get("health") not in ("ok", "unknown")]
        if bad:
            raise Failure("rules fail to evaluate on real data: " + "; ".join(bad))
        alerts = [r for r in rules if r["type"] == "alerting"]
        if len(alerts) < 8:
            raise Failure(f"only {len(alerts)} alerting rules loaded from the rule file")
        if not self.rules_ok and all(r.get("health") == "ok" for r in rules):
            self.rules_ok = True
            print(f"{self.elapsed():5.1f} s  all {len(rules)} rules evaluated without error")

    def check_facts(self, now):
        if not self.planned_restarts_seen:
            result = self.prom.query(
                'sum(wsprobe_disconnects_total{target="server-close", code="1012", cause="server_close"}) >= 1', now)
            self.planned_restarts_seen = has_data(result)
        if not self.healthy_recorded_zero:
            result = self.prom.query('target:wsprobe_disconnects_1006:rate5m{target="healthy"} == 0', now)
            self.healthy_recorded_zero = has_data(result)

    def resolve_variables(self, dashboard, now):
        values = {"datasource": "prometheus"}
        found = {}
        for v in dq.variable_queries(dashboard):
            selector = dq.substitute(v.selector, values)
            got = sorted(self.prom.label_values(v.label, selector, self.started_wall, now))
            if not got:
                return None
            found[v.variable] = got
            # Grafana fills a variable into later queries: a single value raw,
            # several as (a|b) with regex characters escaped.
            escaped = [dq.regex_escape(x) for x in got]
            values[v.variable] = escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
        return found

    def check_variables(self, now, wsprobe_port):
        resolved = {}
        for dashboard in self.dashboards:
            found = self.resolve_variables(dashboard, now)
            if found is None:
                return
            resolved[dashboard["title"]] = found
        for title, found in resolved.items():
            expected = {"job": ["wsprobe"], "instance": [f"127.0.0.1:{wsprobe_port}"], "location": ["demo"]}
            for name, values in expected.items():
                if found.get(name) != values:
                    raise Failure(f"{title}: variable ${name} resolves to {found.get(name)}, expected {values}")
            if not DEMO_TARGETS <= set(found.get("target", [])):
                return  # not every target has reported yet
        self.variables = resolved
        print(f"{self.elapsed():5.1f} s  dashboard variables resolve: "
              + ", ".join(f"${k}={v}" for k, v in next(iter(resolved.values())).items()))

    def pending(self, q):
        return [m for m in self.pending_metrics if re.search(rf"\b{re.escape(m)}\b", q.expr)]

    def required(self):
        return [q for d in self.dashboards for q in dq.panel_queries(d) if not self.pending(q)]

    def check_queries(self, now):
        if self.variables is None:
            return
        span = max(1, int(now - self.started_wall))
        for dashboard in self.dashboards:
            found = self.variables[dashboard["title"]]
            base = dict(GRAFANA_INTERVALS, __range=f"{span}s", datasource="prometheus")
            for name in ("job", "instance", "location"):
                base[name] = dq.regex_escape(found[name][0])
            if dq.is_multi(dashboard, "target"):
                choices = [("All", ".*")]
            else:
                choices = [(t, t) for t in found["target"]]
            for q in dq.panel_queries(dashboard):
                # Keep looking until a query shows something other than 0 (a
                # panel of zeros is data, but says less), for any target.
                if q.name() in self.nonzero:
                    continue
                for label, value in choices:
                    expr = dq.substitute(q.expr, dict(base, target=value))
                    if q.instant:
                        result = self.prom.query(expr, now)
                    else:
                        result = self.prom.query_range(expr, self.started_wall, now)
                    values = sample_values(result)
                    if not values:
                        continue
                    pending = self.pending(q)
                    if pending:
                        raise Failure(f"{q.name()} returns data (target={label}), so {', '.join(pending)} "
                                      "is exported now: remove --pending-metric for it from tests/CMakeLists.txt")
                    if any(v != 0 for v in values):
                        self.satisfied[q.name()] = f"target={label}"
                        self.nonzero.add(q.name())
                        break
                    self.satisfied.setdefault(q.name(), f"target={label}")
        required = self.required()
        if self.data_after is None and all(q.name() in self.satisfied for q in required):
            self.data_after = self.elapsed()
            print(f"{self.data_after:5.1f} s  all {len(required)} required panel queries returned data")

    def done(self):
        return (self.fired_after is not None and self.data_after is not None and self.rules_ok
                and self.planned_restarts_seen and self.healthy_recorded_zero)

    def unmet(self, wsprobe_port):
        lines = []
        if self.fired_after is None:
            lines.append(f"{ALERT} never fired for target {DROPPING_TARGET}")
        if not self.rules_ok:
            lines.append("not every rule has evaluated successfully")
        if not self.planned_restarts_seen:
            lines.append("server-close never closed with 1012 (the planned-restart check means nothing)")
        if not self.healthy_recorded_zero:
            lines.append("target:wsprobe_disconnects_1006:rate5m is not 0 for healthy (no baseline of zeros)")
        if self.variables is None:
            lines.append(f"dashboard variables did not resolve to the demo's (wsprobe port {wsprobe_port})")
        else:
            for dashboard in self.dashboards:
                for q in dq.panel_queries(dashboard):
                    if q.name() not in self.satisfied and not self.pending(q):
                        lines.append(f"no data: {q.name()}: {q.expr}")
        return lines


def tail(path, lines=30):
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wsprobe", required=True, help="the built wsprobe binary")
    parser.add_argument("--prometheus", default="prometheus")
    parser.add_argument("--rules", default=str(REPO / "alerts" / "wsprobe-rules.yml"))
    parser.add_argument("--dashboards", default=str(REPO / "dashboards"))
    parser.add_argument("--deadline", type=float, default=90.0,
                        help="seconds from Prometheus being ready for everything to hold")
    parser.add_argument("--pending-metric", action="append", default=[], metavar="NAME",
                        help="a metric this wsprobe does not export yet: its panels may be empty, "
                             "and must be while the option is given")
    args = parser.parse_args()

    prometheus = shutil.which(args.prometheus)
    if not prometheus:
        print(f"FAIL {args.prometheus} not found (Debian: apt-get install prometheus)")
        return 1
    dashboards = [dq.load(p) for p in dq.dashboard_files([str(p) for p in sorted(Path(args.dashboards).glob("*.json"))])]
    if len(dashboards) < 2:
        print(f"FAIL expected the overview and per-target dashboards in {args.dashboards}")
        return 1

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _raise_on_signal)
    children = Children()
    tmp = Path(tempfile.mkdtemp(prefix="wsprobe-e2e-prometheus-"))
    started = time.monotonic()
    ok = False
    wsprobe_port = None
    try:
        setup_deadline = time.monotonic() + 30
        _, wsprobe_port = start_wsprobe(children, args.wsprobe, tmp, setup_deadline)
        prom_proc, prom = start_prometheus(children, prometheus, tmp, wsprobe_port,
                                           Path(args.rules).resolve(), setup_deadline)
        print(f"wsprobe demo on 127.0.0.1:{wsprobe_port}, Prometheus on {prom.base}, "
              f"ready {time.monotonic() - started:.1f} s after start")
        run = Run(prom, dashboards, time.time(), time.monotonic(), args.pending_metric)
        deadline = time.monotonic() + args.deadline
        while True:
            if prom_proc.poll() is not None:
                raise Failure(f"prometheus exited with status {prom_proc.returncode}")
            now = time.time()
            run.check_alerts()
            run.check_rules()
            run.check_facts(now)
            if run.variables is None:
                run.check_variables(now, wsprobe_port)
            run.check_queries(now)
            if run.done():
                break
            if time.monotonic() > deadline:
                raise Failure(f"not everything held within {args.deadline:.0f} s:\n  "
                              + "\n  ".join(run.unmet(wsprobe_port)))
            time.sleep(1.0)  # poll interval: Prometheus scrapes and evaluates every second
        for dashboard in dashboards:
            print(f'{dashboard["title"]}:')
            for q in dq.panel_queries(dashboard):
                if q.name() in run.satisfied:
                    zeros = "" if q.name() in run.nonzero else ", all 0"
                    print(f"  data ({run.satisfied[q.name()]}{zeros}): panel {q.panel_id} \"{q.panel}\" {q.ref_id}")
                else:
                    print(f"  PENDING, no data as expected ({', '.join(run.pending(q))} not exported): "
                          f"panel {q.panel_id} \"{q.panel}\" {q.ref_id}")
        states = sorted({(a["labels"]["alertname"], a["labels"].get("target", "-"), a["state"])
                         for a in prom.api("/api/v1/alerts")["alerts"]})
        print("alerts at the end: " + ("; ".join(f"{n} {t} {st}" for n, t, st in states) or "none"))
        print(f"PASS in {time.monotonic() - started:.1f} s: {ALERT} fired for {DROPPING_TARGET} "
              f"{run.fired_after:.1f} s after Prometheus was ready, not for {', '.join(sorted(QUIET_TARGETS))}; "
              f"all {len(run.required())} required panel queries returned data after {run.data_after:.1f} s")
        ok = True
    except (Failure, urllib.error.URLError, OSError) as error:
        print(f"FAIL {error}")
    finally:
        children.stop_all()
        if not ok:
            for name, _, log_path in children.procs:
                print(f"--- last lines of {name} log ({log_path.name}):\n{tail(log_path)}")
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
