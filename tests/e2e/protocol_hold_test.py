#!/usr/bin/python3
"""End to end: the wsprobe daemon, configured with nothing but two URLs, holds its connections
to unmodified npm servers that close clients which do not take part in their protocol, for
5 minutes 20 seconds (issue 8, item 4):

  * ws://127.0.0.1:P/socket.io/?EIO=4&transport=websocket against a default socket.io 4 server
    (tests/servers/socketio_server.js: pingInterval 25 s, pingTimeout 20 s; without the CONNECT
    packet it closes a client after 45 s);
  * ws://127.0.0.1:Q/graphql against a default graphql-ws 6 server (tests/servers/graphql_server.js:
    without connection_init it closes with 4408 after 3 s).

The built `wsprobe` binary runs with a config file that holds only `name` and `url` for each.
Every 3 s this test reads /metrics and /api/v1/targets: both heartbeat connections must be open
at every sample. At the end: no disconnects, no connection failures, application round trips
observed on both (socket.io: its CONNECT; graphql-ws: ping/pong), protocol_in_use `socketio` and
`graphql-ws`, and the servers saw one connection each and no close.

It mostly waits, so under ctest it runs beside the other tests instead of taking a slot: `start`
(a fixture setup that ctest runs first) launches the hold in the background and returns once
both connections are open; `check` (the test, run last) waits for the hold to end and judges it.
`run` does both in the foreground.

Usage: protocol_hold_test.py --wsprobe PATH --state DIR [--node node] [--hold 320] start|check|run
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import prometheus_alerts_dashboards_test as e2e  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SERVERS = REPO / "tests" / "servers"
SAMPLE_EVERY = 3.0
EXPECTED = {"socketio": "socketio", "graphql": "graphql-ws"}  # target -> protocol_in_use
SETUP_SECONDS = 60.0  # servers, daemon, and both sessions open
UP_AFTER = 30.0  # seconds after the open: the default ping_interval (20 s) and some
RESULT = "result.json"


def metric_sum(text, name, labels):
    """The sum of the samples of `name` whose labels include `labels`; None when there is none."""
    total = None
    pattern = re.compile(r"^" + re.escape(name) + r"(\{[^}]*\})?\s+(\S+)", re.M)
    for match in pattern.finditer(text):
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total = (total or 0.0) + float(match.group(2))
    return total


def targets_api(port):
    _, body = e2e.http_get(f"http://127.0.0.1:{port}/api/v1/targets", timeout=5.0)
    return {item["target"]: item for item in json.loads(body)["data"]}


def scrape(port):
    _, body = e2e.http_get(f"http://127.0.0.1:{port}/metrics", timeout=5.0)
    return body.decode(errors="replace")


def start_node(children, node, script, state):
    log_path = state / f"{Path(script).stem}.log"
    env = dict(os.environ, NODE_PATH=str(SERVERS / "node_modules"))
    log = open(log_path, "wb")
    proc = subprocess.Popen([node, str(SERVERS / script)], stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, env=env, preexec_fn=e2e._die_with_parent)
    log.close()
    children.procs.append((script, proc, log_path))

    def port():
        match = re.search(r"^listening (\d+)", log_path.read_text(errors="replace"), re.M)
        return int(match.group(1)) if match else None

    return proc, log_path, e2e.wait_until(f"{script} listens", time.monotonic() + 30, port, proc)


def lines_starting(path, prefix):
    return [line for line in path.read_text(errors="replace").splitlines() if line.startswith(prefix)]


def hold(args, state):
    """Starts everything, holds for args.hold seconds while sampling, writes RESULT."""
    children = e2e.Children()
    problems = []
    summary = {}
    samples = 0
    try:
        socketio, socketio_log, socketio_port = start_node(children, args.node, "socketio_server.js", state)
        graphql, graphql_log, graphql_port = start_node(children, args.node, "graphql_server.js", state)
        config = state / "wsprobe.toml"
        config.write_text(
            "[[target]]\n"
            'name = "socketio"\n'
            f'url = "ws://127.0.0.1:{socketio_port}/socket.io/?EIO=4&transport=websocket"\n'
            "\n[[target]]\n"
            'name = "graphql"\n'
            f'url = "ws://127.0.0.1:{graphql_port}/graphql"\n')
        log_path = state / "wsprobe.log"
        daemon = children.start("wsprobe", [args.wsprobe, f"--config.file={config}",
                                            "--web.listen-address=127.0.0.1:0"], log_path)

        def port_from_log():
            match = re.search(r"listening on \S+ \(port (\d+)\)", log_path.read_text(errors="replace"))
            return int(match.group(1)) if match else None

        deadline = time.monotonic() + SETUP_SECONDS
        port = e2e.wait_until("wsprobe logs its port", deadline, port_from_log, daemon)

        def both_open():
            try:
                text = scrape(port)
            except OSError:
                return False
            return all(metric_sum(text, "wsprobe_connections_open", {"target": t, "mode": "heartbeat"}) == 1
                       for t in EXPECTED)

        e2e.wait_until("both connections open", deadline, both_open, daemon, interval=0.2)
        opened = time.monotonic()
        (state / "started").write_text(f"{port}\n")
        print(f"held from {time.strftime('%H:%M:%S')}: wsprobe on 127.0.0.1:{port}", flush=True)

        # The hold: every SAMPLE_EVERY seconds, both open in /metrics and in the API.
        while True:
            for name, proc, _ in children.procs:
                if proc.poll() is not None:
                    raise e2e.Failure(f"{name} exited with status {proc.returncode}")
            at = time.monotonic() - opened
            text = scrape(port)
            api = targets_api(port)
            samples += 1
            for target in EXPECTED:
                open_now = metric_sum(text, "wsprobe_connections_open", {"target": target, "mode": "heartbeat"})
                listed = api.get(target, {}).get("open_connections", {}).get("heartbeat")
                if open_now != 1 or listed != 1:
                    problems.append(f"{at:.0f} s: {target} not open (metrics {open_now}, api {listed})")
                # Up once a ping was answered: the first goes at most one
                # ping_interval (20 s) after the open.
                up = metric_sum(text, "wsprobe_target_up", {"target": target})
                if at >= UP_AFTER and (up != 1 or not api.get(target, {}).get("up")):
                    problems.append(f"{at:.0f} s: {target} not up (metrics {up})")
            if at >= args.hold:
                break
            time.sleep(min(SAMPLE_EVERY, max(0.0, args.hold - at)))

        text = scrape(port)
        api = targets_api(port)
        (state / "metrics.txt").write_text(text)
        for target, protocol in EXPECTED.items():
            item = api.get(target, {})
            figures = {
                "protocol": item.get("protocol"),
                "protocol_in_use": item.get("protocol_in_use"),
                "disconnects": metric_sum(text, "wsprobe_disconnects_total", {"target": target}) or 0,
                "failures": metric_sum(text, "wsprobe_connection_failures_total", {"target": target}) or 0,
                "app_rtt_count": metric_sum(text, "wsprobe_app_rtt_seconds_count", {"target": target}) or 0,
                "app_rtt_sum": metric_sum(text, "wsprobe_app_rtt_seconds_sum", {"target": target}) or 0,
                "ping_rtt_count": metric_sum(text, "wsprobe_ping_rtt_seconds_count", {"target": target}) or 0,
            }
            summary[target] = figures
            if figures["protocol"] != "auto" or figures["protocol_in_use"] != protocol:
                problems.append(f"{target}: protocol {figures['protocol']}, in use "
                                f"{figures['protocol_in_use']} (expected auto, {protocol})")
            if figures["disconnects"] != 0:
                problems.append(f"{target}: {figures['disconnects']:.0f} disconnects")
            if figures["failures"] != 0:
                problems.append(f"{target}: {figures['failures']:.0f} connection failures")
            if figures["app_rtt_count"] < 1:
                problems.append(f"{target}: no application round trip observed")
            # Default ping_interval 20 s: about 16 in 320 s.
            if figures["ping_rtt_count"] < args.hold / 20 / 2:
                problems.append(f"{target}: only {figures['ping_rtt_count']:.0f} ping round trips")
        # The servers' own word: one connection each, never closed.
        connects = lines_starting(socketio_log, "connect ")
        closes = lines_starting(socketio_log, "disconnect")
        if len(connects) != 1 or closes:
            problems.append(f"socket.io server saw {len(connects)} connects and closes {closes}")
        opens = lines_starting(graphql_log, "opened /graphql")
        closes = lines_starting(graphql_log, "closed")
        if len(opens) != 1 or closes:
            problems.append(f"graphql-ws server saw {len(opens)} opens and closes {closes}")
        summary["held_seconds"] = round(time.monotonic() - opened, 1)
    except (e2e.Failure, OSError, ValueError, KeyError) as error:
        problems.append(f"{type(error).__name__}: {error}")
    finally:
        children.stop_all()
    summary["samples"] = samples
    result = {"ok": not problems, "problems": problems, "summary": summary}
    (state / RESULT).write_text(json.dumps(result, indent=2) + "\n")
    return result


def report(result, state):
    summary = result["summary"]
    for target in EXPECTED:
        if target in summary:
            f = summary[target]
            mean = f["app_rtt_sum"] / f["app_rtt_count"] * 1000 if f["app_rtt_count"] else float("nan")
            print(f"{target}: protocol {f['protocol']} -> {f['protocol_in_use']}, disconnects "
                  f"{f['disconnects']:.0f}, failures {f['failures']:.0f}, app RTT {f['app_rtt_count']:.0f} "
                  f"(mean {mean:.2f} ms), ping RTT {f['ping_rtt_count']:.0f}")
    print(f"held {summary.get('held_seconds', 0)} s, {summary.get('samples', 0)} samples "
          f"every {SAMPLE_EVERY:.0f} s")
    if result["ok"]:
        print("PASS")
        return 0
    print("FAIL\n  " + "\n  ".join(result["problems"][:40]))
    for log in sorted(state.glob("*.log")):
        print(f"--- last lines of {log.name}:\n{e2e.tail(log)}")
    return 1


def alive(pid):
    try:
        return b"protocol_hold_test" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def start(args, state):
    """Launches `hold` in the background (its own session, output to files), waits until it holds."""
    pid_file = state / "hold.pid"
    if pid_file.exists() and alive(int(pid_file.read_text())):
        os.kill(int(pid_file.read_text()), signal.SIGTERM)  # a hold left by an earlier run
        time.sleep(1.0)
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    with open(state / "hold.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, __file__, "--wsprobe", args.wsprobe, "--state", str(state),
                                 "--node", args.node, "--hold", str(args.hold), "hold"],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True)
    pid_file.write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + SETUP_SECONDS + 30
    while time.monotonic() < deadline:
        if (state / "started").exists():
            print(f"holding in the background (pid {proc.pid}) for {args.hold:.0f} s; "
                  f"`check` judges it; state in {state}")
            return 0
        if (state / RESULT).exists() or proc.poll() is not None:
            break
        time.sleep(0.2)
    if (state / RESULT).exists():
        return report(json.loads((state / RESULT).read_text()), state)
    print(f"FAIL the hold did not start within {SETUP_SECONDS + 30:.0f} s")
    print(e2e.tail(state / "hold.log"))
    return 1


def check(args, state):
    """Waits for the background hold to end, then judges what it saw."""
    if not (state / "hold.pid").exists():
        print(f"FAIL no hold was started in {state} (run `start` first)")
        return 1
    pid = int((state / "hold.pid").read_text())
    deadline = time.monotonic() + args.hold + SETUP_SECONDS + 60
    while not (state / RESULT).exists():
        if not alive(pid) and not (state / RESULT).exists():
            print("FAIL the hold process ended without a result")
            print(e2e.tail(state / "hold.log"))
            return 1
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGTERM)
            print("FAIL the hold did not finish in time")
            return 1
        time.sleep(1.0)
    return report(json.loads((state / RESULT).read_text()), state)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wsprobe", required=True, help="the built wsprobe binary")
    parser.add_argument("--state", required=True, help="a directory for the hold's config, logs, result")
    parser.add_argument("--node", default="node")
    parser.add_argument("--hold", type=float, default=320.0, help="seconds to hold (5 min 20 s)")
    parser.add_argument("mode", choices=["start", "check", "run", "hold"])
    args = parser.parse_args()
    args.node = shutil.which(args.node) or args.node
    state = Path(args.state).resolve()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda signum, _frame: sys.exit(f"interrupted by signal {signum}"))
    if args.mode == "start":
        return start(args, state)
    if args.mode == "check":
        return check(args, state)
    if args.mode == "hold":
        hold(args, state)
        return 0
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    return report(hold(args, state), state)


if __name__ == "__main__":
    sys.exit(main())
