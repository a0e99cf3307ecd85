#!/usr/bin/python3
"""The PromQL queries of wsprobe's Grafana dashboards, with Grafana's variables filled in.

Used two ways:
  * as a module by the end-to-end test, which runs every panel query against a
    real Prometheus that scrapes a real wsprobe;
  * as a command that checks every panel and variable query with
    `promtool check rules` (each expression becomes a recording rule in a
    temporary rule file), without any server:

      prometheus_dashboard_queries.py [--promtool PATH] [DASHBOARD.json ...]

Python standard library only (run with /usr/bin/python3).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = REPO / "dashboards"

# $name, ${name} and ${name:format}
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z0-9_]+)(?::[^}]*)?\}|([A-Za-z0-9_]+))")
_LABEL_VALUES = re.compile(r"^\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$", re.S)


@dataclass
class PanelQuery:
    dashboard: str  # dashboard title
    panel_id: int
    panel: str  # panel title
    ref_id: str
    expr: str  # as written in the dashboard, with variables
    instant: bool  # evaluated at one instant (stat, table, bar gauge) or over the range

    def name(self):
        return f'{self.dashboard} / panel {self.panel_id} "{self.panel}" / {self.ref_id}'


@dataclass
class VariableQuery:
    dashboard: str
    variable: str  # the variable's name
    selector: str  # the series selector of label_values(selector, label)
    label: str
    multi: bool  # offers "All" (allValue) and several values


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def dashboard_files(args=None):
    if args:
        return [Path(a) for a in args]
    return sorted(DASHBOARDS.glob("*.json"))


def _panels(dashboard):
    for panel in dashboard.get("panels", []):
        yield panel
        if panel.get("type") == "row":
            yield from panel.get("panels", [])


def panel_queries(dashboard):
    queries = []
    for panel in _panels(dashboard):
        for target in panel.get("targets", []):
            if "expr" not in target:
                continue
            queries.append(PanelQuery(dashboard["title"], panel["id"], panel.get("title", ""),
                                      target["refId"], target["expr"],
                                      bool(target.get("instant")) and not target.get("range")))
    return queries


def variable_queries(dashboard):
    out = []
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable["query"]
        if isinstance(query, dict):
            query = query.get("query", "")
        match = _LABEL_VALUES.match(query)
        if not match:
            raise ValueError(f'{dashboard["title"]}: variable ${variable["name"]}: '
                             f"only label_values(selector, label) queries are supported, not {query!r}")
        out.append(VariableQuery(dashboard["title"], variable["name"], match.group(1).strip(),
                                 match.group(2), bool(variable.get("multi"))))
    return out


def is_multi(dashboard, name):
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable["name"] == name:
            return bool(variable.get("multi") or variable.get("includeAll"))
    raise KeyError(name)


def substitute(expr, values):
    """Fills in $name, ${name} and ${name:format} from values (a dict of strings).

    values must hold every variable the expression uses, including Grafana's
    built-ins it uses ($__rate_interval, $__range, ...): a missing one raises
    KeyError, so a query can never reach Prometheus with a $ left in it.
    """
    def replace(match):
        name = match.group(1) or match.group(2)
        return values[name]
    return _VARIABLE.sub(replace, expr)


def regex_escape(value):
    """Escapes a value the way Grafana does for a regex matcher (=~)."""
    return re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\\\1", value)


def check_with_promtool(promtool, named_exprs):
    """Checks expressions with `promtool check rules`; returns {name: error} of the bad ones."""
    def run(items):
        with tempfile.TemporaryDirectory(prefix="wsprobe-promql-") as tmp:
            rules = Path(tmp) / "dashboard-queries.yml"
            lines = ["groups:", "  - name: dashboard_queries", "    rules:"]
            for i, (_, expr) in enumerate(items):
                lines.append(f"      - record: wsprobe_dashboard_query_{i}")
                lines.append(f"        expr: {json.dumps(expr)}")
            rules.write_text("\n".join(lines) + "\n", encoding="utf-8")
            result = subprocess.run([promtool, "check", "rules", str(rules)],
                                    capture_output=True, text=True, timeout=60)
            return result.returncode, (result.stdout + result.stderr).strip()

    code, _ = run(named_exprs)
    if code == 0:
        return {}
    bad = {}
    for name, expr in named_exprs:
        code, output = run([(name, expr)])
        if code != 0:
            bad[name] = output.splitlines()[-1] if output else f"promtool exited {code}"
    if not bad:
        bad["(all together)"] = "promtool rejected the combined rule file but no single query"
    return bad


def offline_values(dashboard):
    """Variable values for a syntax check: All (.*) for multi-value variables, a name otherwise."""
    values = {"__rate_interval": "1m", "__interval": "15s", "__range": "3h", "datasource": "prometheus"}
    for name in ("job", "instance", "location", "target"):
        values[name] = ".*" if is_multi(dashboard, name) else "example-target"
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--promtool", default="promtool")
    parser.add_argument("dashboards", nargs="*")
    args = parser.parse_args()

    # promtool must reject a broken expression, or passing proves nothing.
    if not check_with_promtool(args.promtool, [("broken", 'sum by (le) (rate(x{a="b"}[5m])')]):
        print("FAIL promtool accepted a broken expression; the check would prove nothing")
        return 1

    failed = False
    for path in dashboard_files(args.dashboards):
        dashboard = load(path)
        values = offline_values(dashboard)
        named = []
        try:
            for q in panel_queries(dashboard):
                named.append((q.name(), substitute(q.expr, values)))
            for v in variable_queries(dashboard):
                named.append((f'{v.dashboard} / variable ${v.variable}', substitute(v.selector, values)))
        except (KeyError, ValueError) as error:
            print(f"FAIL {path}: {error!r}")
            failed = True
            continue
        bad = check_with_promtool(args.promtool, named)
        if bad:
            failed = True
            for name, error in bad.items():
                print(f"FAIL {name}: {error}")
        else:
            print(f"ok   {os.path.relpath(path, REPO)}: {len(named)} queries are valid PromQL")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
