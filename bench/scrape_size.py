#!/usr/bin/python3
"""Series and bytes of one agent's /metrics, and optionally what one Prometheus makes of it.

Starts a `ws` server (tests/servers/fleet_targets.js) and the built wsprobe with N healthy
targets (one heartbeat connection each, a location and one static label) from a target
file, waits until every target has answered pings, then prints: series in the scrape, per
target (by family) and not per target, bytes uncompressed and with gzip -6, and whether
wsprobe served gzip. With --prometheus SECONDS, Debian's prometheus also scrapes the agent
(every 5 s, with alerts/wsprobe-rules.yml) for that long and the script prints its head
series, scrape duration and resident memory.

Usage: bench/scrape_size.py --wsprobe build/agent/wsprobe [--targets 100] [--prometheus 90]
"""

import argparse
import gzip
import json
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wsprobe", required=True)
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--prometheus", type=float, default=0, metavar="SECONDS")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="wsprobe-scrape-size-"))
    procs = []
    try:
        server = subprocess.Popen(["node", str(REPO / "tests/servers/fleet_targets.js"), "healthy"],
                                  stdout=subprocess.PIPE, text=True)
        procs.append(server)
        port = int(re.search(r"listening healthy (\d+)", server.stdout.readline()).group(1))
        with open(tmp / "targets.toml", "w") as f:
            for i in range(args.targets):
                f.write(f'[[target]]\nname = "t{i}"\nurl = "ws://127.0.0.1:{port}/t{i}"\nlabels = {{ team = "scale" }}\n')
        (tmp / "wsprobe.toml").write_text('[agent]\nlocation = "fra1"\ntarget_files = ["targets.toml"]\n'
                                          '[defaults]\nping_interval = "5s"\n')
        log = tmp / "wsprobe.log"
        agent = subprocess.Popen([args.wsprobe, f"--config.file={tmp / 'wsprobe.toml'}",
                                  "--web.listen-address=127.0.0.1:0"], stdout=open(log, "w"), stderr=subprocess.STDOUT)
        procs.append(agent)
        deadline = time.time() + 60
        while not (m := re.search(r"\(port (\d+)\)", log.read_text())):
            if time.time() > deadline:
                raise SystemExit("wsprobe did not start")
            time.sleep(0.1)
        url = f"http://127.0.0.1:{m.group(1)}/metrics"
        deadline = time.time() + 180
        while True:
            lines = urllib.request.urlopen(url).read().decode().splitlines()
            answered = sum(1 for l in lines if l.startswith("wsprobe_ping_rtt_seconds_count{") and not l.endswith(" 0"))
            if answered == args.targets:
                break
            if time.time() > deadline:
                raise SystemExit(f"only {answered} of {args.targets} targets answered pings")
            time.sleep(1)
        body = urllib.request.urlopen(url).read()
        served = urllib.request.urlopen(urllib.request.Request(url, headers={"Accept-Encoding": "gzip"}))
        samples = [l for l in body.decode().splitlines() if l and not l.startswith("#")]
        families = {}
        for l in samples:
            if 'target="t0"' in l:
                name = re.match(r"[a-zA-Z_:]+", l).group(0)
                families[name] = families.get(name, 0) + 1
        print(json.dumps({
            "targets": args.targets, "series": len(samples), "series_per_target": sum(families.values()),
            "series_not_per_target": sum(1 for l in samples if 'target="' not in l),
            "bytes": len(body), "gzip6_bytes": len(gzip.compress(body, 6)),
            "served_content_encoding": served.headers.get("Content-Encoding"), "series_of_one_target": families},
            indent=1))
        if args.prometheus:
            prom_port = free_port()
            (tmp / "prometheus.yml").write_text(
                "global:\n  scrape_interval: 5s\n  scrape_timeout: 5s\n  evaluation_interval: 5s\n"
                f"rule_files: ['{REPO / 'alerts/wsprobe-rules.yml'}']\nscrape_configs:\n"
                f"  - job_name: wsprobe\n    static_configs:\n      - targets: ['{url.split('/')[2]}']\n"
                f"  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:{prom_port}']\n")
            prom = subprocess.Popen(["prometheus", f"--config.file={tmp / 'prometheus.yml'}",
                                     f"--storage.tsdb.path={tmp / 'data'}", f"--web.listen-address=127.0.0.1:{prom_port}",
                                     "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(prom)
            time.sleep(args.prometheus)

            def query(expr):
                document = json.load(urllib.request.urlopen(
                    f"http://127.0.0.1:{prom_port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})))
                return {json.dumps(r["metric"]): r["value"][1] for r in document["data"]["result"]}

            for expr in ('prometheus_tsdb_head_series', 'count({job="wsprobe"})', 'count({__name__=~"target:.*"})',
                         'scrape_duration_seconds{job="wsprobe"}', 'scrape_samples_scraped{job="wsprobe"}',
                         'process_resident_memory_bytes{job="prometheus"}'):
                print(f"{expr}: {query(expr)}")
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
