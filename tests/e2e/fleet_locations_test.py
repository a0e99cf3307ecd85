#!/usr/bin/python3
"""End to end: many locations, one view. Three wsprobe agents in three locations, with
different shard settings, scraped by one real Prometheus that evaluates alerts/wsprobe-rules.yml.

  * fra1 runs in a network namespace this test creates (a veth pair, 10.213.N.0/30) and holds
    every target (--shard=0/1 on the command line); ams1 holds every target (no shard);
    sgp1 holds its share of two ([agent] shard = "auto/2", the ordinal from
    WSPROBE_SHARD_INDEX, chosen so that it holds `path`). All three read one set of target
    files: a TOML file and a Prometheus file_sd JSON file.
  * The targets are `ws` servers on the host (tests/servers/fleet_targets.js), reached at the
    host end of the veth: `path` and `healthy` serve well, `drops` ends every connection
    without a close frame (fails from everywhere), `dead` is a closed port (down everywhere).
  * Once every location has `path` up, nftables in fra1's namespace drops fra1's traffic to
    `path`. Then, within a deadline:
      - WSProbeTargetDownFromLocation fires for path in fra1, and never fires for anything
        else (it is never even pending for `dead`, down from everywhere, nor for `path` in
        another location);
      - WSProbe1006Spike fires for `drops` in every location that holds it, and is never
        pending for `path` in ams1 or sgp1;
      - every query of the overview dashboard returns data, and its per-location panels
        show all three locations.
  * sgp1 holds exactly the targets the rendezvous hash gives its shard (computed here
    independently of the C++), and wsprobe_shard_info says so.

Prints the firing times and the series each agent exports. Needs root (network namespaces,
nftables), ip, nft, node with tests/servers/node_modules, and prometheus; exits 77 (skipped)
when not root or a tool is missing.

Usage: fleet_locations_test.py --wsprobe PATH [--prometheus prometheus] [--deadline 150]
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import prometheus_alerts_dashboards_test as e2e  # noqa: E402
import prometheus_dashboard_queries as dq  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SKIP = 77
LOCATION_ALERT = "WSProbeTargetDownFromLocation"
SPIKE_ALERT = "WSProbe1006Spike"
BLOCKED = ("path", "fra1")  # the target, and the location whose path to it breaks

M64 = (1 << 64) - 1


def _mix(value):
    value = (value + 0x9E3779B97F4A7C15) & M64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & M64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & M64
    return value ^ (value >> 31)


def shard_of(name, count):
    """agent/shard.cpp's rendezvous hash, written again: FNV-1a 64, splitmix64 weights."""
    key = 0xCBF29CE484222325
    for byte in name.encode():
        key = ((key ^ byte) * 0x100000001B3) & M64
    weights = [_mix(key ^ _mix(shard)) for shard in range(count)]
    return weights.index(max(weights))


def run(argv, check=True):
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise e2e.Failure(f"{' '.join(argv)}: {result.stderr.strip() or result.stdout.strip()}")
    return result



# Series these agents cannot produce: application-protocol round trips, message gaps and
# stale ends, session failures, and TLS (the tests' targets are raw ws:// endpoints).
NOT_PRODUCED_HERE = ("wsprobe_app_rtt_seconds", "wsprobe_message_gap_seconds", 'cause="stale"',
                     'stage="session"', "wsprobe_tls_")

class Namespace:
    """A network namespace joined to the host by a veth pair: host .1, namespace .2 of a /30."""

    def __init__(self):
        tag = os.getpid() % 100000
        self.name = f"wsprobe-fleet-{tag}"
        self.host_if, self.ns_if = f"wsfh{tag}", f"wsfn{tag}"
        self.subnet = f"10.213.{tag % 250}"
        self.host_ip, self.ns_ip = f"{self.subnet}.1", f"{self.subnet}.2"
        self.created = False

    def create(self):
        run(["ip", "netns", "add", self.name])
        self.created = True
        run(["ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if, "netns", self.name])
        run(["ip", "addr", "add", f"{self.host_ip}/30", "dev", self.host_if])
        run(["ip", "link", "set", self.host_if, "up"])
        run(["ip", "-n", self.name, "addr", "add", f"{self.ns_ip}/30", "dev", self.ns_if])
        run(["ip", "-n", self.name, "link", "set", self.ns_if, "up"])
        run(["ip", "-n", self.name, "link", "set", "lo", "up"])

    def block(self, port):
        """nftables in the namespace: drop what it sends to the host's `port` (SYNs and data alike)."""
        rules = ("table inet wsprobe_fleet {\n"
                 "  chain output {\n"
                 "    type filter hook output priority 0; policy accept;\n"
                 f"    ip daddr {self.host_ip} tcp dport {port} drop\n"
                 "  }\n"
                 "}\n")
        subprocess.run(["ip", "netns", "exec", self.name, "nft", "-f", "-"], input=rules, text=True,
                       check=True, capture_output=True, timeout=30)

    def exec_prefix(self):
        return ["ip", "netns", "exec", self.name]

    def delete(self):
        if self.created:
            run(["ip", "netns", "delete", self.name], check=False)  # takes the veth pair with it
            run(["ip", "link", "delete", self.host_if], check=False)


def start_servers(children, tmp, deadline):
    log = tmp / "servers.log"
    proc = children.start("servers", ["node", str(REPO / "tests" / "servers" / "fleet_targets.js"),
                                      "path", "healthy", "drops:drops"], log)

    def ports():
        text = log.read_text(errors="replace")
        return dict((m[0], int(m[1])) for m in re.findall(r"listening (\S+) (\d+)", text)) if "ready" in text else None

    return e2e.wait_until("the target servers listen", deadline, ports, proc)


def write_targets(tmp, ns, ports):
    url = lambda name, port: f"ws://{ns.host_ip}:{port}/{name}"  # noqa: E731
    # drops has an idle probe: it dies at 1.5 s like the others, so the idle
    # timeout panel has an estimate to show.
    (tmp / "targets.toml").write_text(
        f'[[target]]\nname = "healthy"\nurl = "{url("healthy", ports["healthy"])}"\n\n'
        f'[[target]]\nname = "drops"\nurl = "{url("drops", ports["drops"])}"\nidle_probe = true\n',
        encoding="utf-8")
    sd = [{"targets": [url("path", ports["path"])], "labels": {"__wsprobe_target": "path", "team": "fleet"}},
          {"targets": [url("dead", e2e.free_port())], "labels": {"__wsprobe_target": "dead", "team": "fleet"}}]
    (tmp / "targets.json").write_text(json.dumps(sd, indent=2), encoding="utf-8")
    return {"path", "healthy", "drops", "dead"}


def start_agent(children, binary, tmp, location, extra_config, args, env, prefix, listen_host, deadline):
    config = tmp / f"{location}.toml"
    config.write_text(
        f'[agent]\nlocation = "{location}"\n{extra_config}'
        f'target_files = ["{tmp}/targets.toml", "{tmp}/*.json"]\n\n'
        '[defaults]\nping_interval = "1s"\npong_timeout = "2s"\nconnect_timeout = "2s"\n'
        'backoff_initial = "100ms"\nbackoff_max = "1s"\n', encoding="utf-8")
    log = tmp / f"wsprobe-{location}.log"
    argv = prefix + ["env"] + [f"{k}={v}" for k, v in env.items()] + [
        binary, f"--config.file={config}", f"--web.listen-address={listen_host}:0"] + args
    proc = children.start(f"wsprobe {location}", argv, log)

    def port():
        match = re.search(r"listening on \S+ \(port (\d+)\)", log.read_text(errors="replace"))
        return int(match.group(1)) if match else None

    number = e2e.wait_until(f"wsprobe {location} logs its port", deadline, port, proc)
    address = f"{listen_host}:{number}"
    e2e.wait_until(f"wsprobe {location} /-/ready", deadline, lambda: e2e.ready(f"http://{address}/-/ready"), proc)
    return address


def start_prometheus(children, binary, tmp, agents, deadline):
    targets = ", ".join(f"'{address}'" for address in agents.values())
    config = tmp / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
        f"rule_files:\n  - {json.dumps(str(REPO / 'alerts' / 'wsprobe-rules.yml'))}\n"
        "scrape_configs:\n  - job_name: wsprobe\n    static_configs:\n"
        f"      - targets: [{targets}]\n", encoding="utf-8")
    port = e2e.free_port()
    proc = children.start("prometheus", [
        binary, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1h", "--log.level=warn"],
        tmp / "prometheus.log")
    e2e.wait_until("prometheus /-/ready", deadline, lambda: e2e.ready(f"http://127.0.0.1:{port}/-/ready"), proc)
    return proc, e2e.Prometheus(f"http://127.0.0.1:{port}")


class Watch:
    def __init__(self, prom, holders, started):
        self.prom = prom
        self.holders = holders  # target -> locations whose agent holds it
        self.started = started
        self.blocked_at = None
        self.location_fired = None
        self.spike_fired = {}  # location -> seconds, for `drops`
        self.queries_ok = None

    def elapsed(self):
        return time.monotonic() - self.started

    def all_up(self, target, now):
        result = self.prom.query(f'wsprobe_target_up{{target="{target}"}} == 1', now)
        return {s["metric"]["location"] for s in result["result"]} == self.holders[target]

    def check_alerts(self):
        for alert in self.prom.api("/api/v1/alerts")["alerts"]:
            labels, state = alert["labels"], alert["state"]
            name, key = labels["alertname"], (labels.get("target"), labels.get("location"))
            if name == LOCATION_ALERT:
                if key == BLOCKED:
                    if state == "firing" and self.location_fired is None:
                        self.location_fired = self.elapsed() - self.blocked_at
                        print(f"{self.elapsed():5.1f} s  {name} firing for path in fra1, "
                              f"{self.location_fired:.1f} s after the path broke: {alert['annotations']['summary']}")
                elif state == "firing" or key[0] in ("dead", "path", "healthy"):
                    raise e2e.Failure(f"{name} is {state} for {key}: only path in fra1 fails from one location")
            elif name == SPIKE_ALERT:
                if key[0] == "path" and key[1] != "fra1":
                    raise e2e.Failure(f"{name} is {state} for path in {key[1]}, whose path is fine")
                if key[0] == "drops" and state == "firing" and key[1] not in self.spike_fired:
                    self.spike_fired[key[1]] = self.elapsed()
                    print(f"{self.elapsed():5.1f} s  {name} firing for drops in {key[1]}")

    def check_queries(self, dashboard, instances, now):
        base = dict(e2e.GRAFANA_INTERVALS, datasource="prometheus", job="wsprobe", target=".*",
                    instance="(" + "|".join(dq.regex_escape(i) for i in instances) + ")", location=".*",
                    __range=f"{max(1, int(self.elapsed()))}s")
        missing = []
        for q in dq.panel_queries(dashboard):
            # The agents here probe raw endpoints over ws://: no application protocol, no
            # subscription and no TLS, so those panels have nothing to show (see
            # NOT_PRODUCED_HERE); every other query must return data.
            if any(part in q.expr for part in NOT_PRODUCED_HERE):
                continue
            expr = dq.substitute(q.expr, base)
            if q.instant:
                result = self.prom.query(expr, now)
            else:
                result = self.prom.query_range(expr, now - 30, now)
            if not e2e.sample_values(result):
                missing.append(q.name())
                continue
            if "location" in q.expr and "by (location" in q.expr:
                seen = {s["metric"].get("location") for s in result["result"]}
                if seen != {"fra1", "ams1", "sgp1"}:
                    missing.append(f"{q.name()} (locations {sorted(l for l in seen if l)})")
        if not missing and self.queries_ok is None:
            self.queries_ok = self.elapsed()
            print(f"{self.elapsed():5.1f} s  all {len(dq.panel_queries(dashboard))} overview queries returned data, "
                  "per-location panels with all three locations")
        return missing

    def done(self):
        return (self.location_fired is not None and self.queries_ok is not None
                and set(self.spike_fired) == self.holders["drops"])


def series_report(prom, agents, now):
    lines = []
    for location, address in agents.items():
        total = prom.query(f'count({{instance="{address}"}})', now)["result"]
        targets = prom.query(f'count(wsprobe_target_up{{instance="{address}"}})', now)["result"]
        status, body = e2e.http_get(f"http://{address}/metrics")
        lines.append(f"{location}: {total[0]['value'][1] if total else 0} series for "
                     f"{targets[0]['value'][1] if targets else 0} targets, /metrics {len(body)} bytes")
    return "; ".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wsprobe", required=True)
    parser.add_argument("--prometheus", default="prometheus")
    parser.add_argument("--deadline", type=float, default=150.0,
                        help="seconds from Prometheus being ready for everything to hold")
    args = parser.parse_args()

    if os.geteuid() != 0:
        print("SKIP needs root: it creates a network namespace, a veth pair and nftables rules")
        return SKIP
    for tool in ("ip", "nft", "node", args.prometheus):
        if not shutil.which(tool):
            print(f"SKIP {tool} not found (scripts/setup.sh installs it)")
            return SKIP
    if not (REPO / "tests" / "servers" / "node_modules" / "ws").is_dir():
        print("SKIP tests/servers/node_modules has no ws (npm ci in tests/servers)")
        return SKIP

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, e2e._raise_on_signal)
    children = e2e.Children()
    tmp = Path(tempfile.mkdtemp(prefix="wsprobe-e2e-fleet-"))
    ns = Namespace()
    started = time.monotonic()
    ok = False
    try:
        ns.create()
        setup = time.monotonic() + 30
        ports = start_servers(children, tmp, setup)
        names = write_targets(tmp, ns, ports)
        sgp1_shard = shard_of("path", 2)
        holders = {name: {"fra1", "ams1"} | ({"sgp1"} if shard_of(name, 2) == sgp1_shard else set())
                   for name in names}
        agents = {
            "fra1": start_agent(children, args.wsprobe, tmp, "fra1", 'shard = "1/2"\n', ["--shard=0/1"], {},
                                ns.exec_prefix(), ns.ns_ip, setup),
            "ams1": start_agent(children, args.wsprobe, tmp, "ams1", "", [], {}, [], "127.0.0.1", setup),
            "sgp1": start_agent(children, args.wsprobe, tmp, "sgp1", 'shard = "auto/2"\n', [],
                                {"WSPROBE_SHARD_INDEX": str(sgp1_shard)}, [], "127.0.0.1", setup),
        }
        for location, address in agents.items():
            held = {t["target"] for t in json.loads(e2e.http_get(f"http://{address}/api/v1/targets")[1])["data"]}
            expected = {name for name, where in holders.items() if location in where}
            if held != expected:
                raise e2e.Failure(f"{location} holds {sorted(held)}, expected {sorted(expected)}")
        print(f"targets on ports {ports}; fra1 in netns {ns.name} at {agents['fra1']}; "
              f"sgp1 is shard {sgp1_shard}/2 and holds {sorted(n for n, w in holders.items() if 'sgp1' in w)}")
        prom_proc, prom = start_prometheus(children, args.prometheus, tmp, agents, setup)
        dashboard = dq.load(REPO / "dashboards" / "wsprobe-overview.json")
        watch = Watch(prom, holders, time.monotonic())

        deadline = time.monotonic() + args.deadline
        missing = []
        while True:
            if prom_proc.poll() is not None:
                raise e2e.Failure(f"prometheus exited with status {prom_proc.returncode}")
            now = time.time()
            if watch.blocked_at is None and watch.all_up("path", now):
                shards = prom.query("wsprobe_shard_info", now)["result"]
                info = sorted((s["metric"]["instance"], s["metric"]["shard"], s["metric"]["shards"]) for s in shards)
                expected = sorted([(agents["fra1"], "0", "1"), (agents["ams1"], "0", "1"),
                                   (agents["sgp1"], str(sgp1_shard), "2")])
                if info != expected:
                    raise e2e.Failure(f"wsprobe_shard_info is {info}, expected {expected}")
                ns.block(ports["path"])
                watch.blocked_at = watch.elapsed()
                print(f"{watch.elapsed():5.1f} s  path up from all three locations; nftables now drops fra1's "
                      f"traffic to it (port {ports['path']})")
            watch.check_alerts()
            if watch.blocked_at is not None and watch.location_fired is not None:
                missing = watch.check_queries(dashboard, list(agents.values()), now)
            if watch.done():
                break
            if time.monotonic() > deadline:
                raise e2e.Failure(
                    f"not within {args.deadline:.0f} s: {LOCATION_ALERT} for path in fra1 "
                    f"{'fired' if watch.location_fired is not None else 'did not fire'}; {SPIKE_ALERT} for drops "
                    f"fired in {sorted(watch.spike_fired)} of {sorted(watch.holders['drops'])}; "
                    f"queries without data: {missing or 'not checked yet'}")
            time.sleep(1.0)
        print("series: " + series_report(prom, agents, time.time()))
        print(f"PASS in {time.monotonic() - started:.1f} s: {LOCATION_ALERT} fired for path in fra1 only, "
              f"{watch.location_fired:.1f} s after the path broke; {SPIKE_ALERT} fired for drops in "
              + ", ".join(f"{loc} at {t:.1f} s" for loc, t in sorted(watch.spike_fired.items()))
              + ", never for path elsewhere")
        ok = True
    except (e2e.Failure, urllib.error.URLError, OSError, subprocess.CalledProcessError) as error:
        print(f"FAIL {error}")
    finally:
        children.stop_all()
        ns.delete()
        if not ok:
            for name, _, log_path in children.procs:
                print(f"--- last lines of {name} log ({log_path.name}):\n{e2e.tail(log_path)}")
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
