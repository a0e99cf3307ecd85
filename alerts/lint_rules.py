#!/usr/bin/python3
"""Checks what promtool does not about wsprobe's alert rules and their runbook.

  * every alert has a `for`, a severity label (critical, warning or info), a
    summary and a description, and the per-target alerts name the target in
    both;
  * every runbook_url is docs/runbook.md#<alert name in lower case>, and
    docs/runbook.md has that section and lists the alert in its thresholds
    table;
  * every alert has, in alerts/tests/*.yml, at least one promtool test where it
    fires and one where it is expected not to;
  * every PromQL example in the runbook parses (promtool check rules).

Usage: lint_rules.py [--promtool PATH]. Needs PyYAML (Debian: python3-yaml).
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
RULES = HERE / "wsprobe-rules.yml"
TESTS = HERE / "tests"
RUNBOOK = HERE.parent / "docs" / "runbook.md"
SEVERITIES = {"critical", "warning", "info"}


def alerts():
    with open(RULES, encoding="utf-8") as f:
        groups = yaml.safe_load(f)["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def github_anchor(heading):
    """The anchor GitHub and most Markdown renderers derive from a heading."""
    anchor = heading.strip().lower()
    anchor = re.sub(r"[^\w\- ]", "", anchor)
    return anchor.replace(" ", "-")


def rule_problems(runbook):
    problems = []
    headings = {github_anchor(h) for h in re.findall(r"^#{1,6} (.+)$", runbook, re.M)}
    table = runbook[runbook.index("## Thresholds at a glance"):] if "## Thresholds at a glance" in runbook else ""
    table = table[:table.find("\n## ", 5)] if "\n## " in table[5:] else table
    for rule in alerts():
        name = rule["alert"]
        labels = rule.get("labels", {})
        notes = rule.get("annotations", {})
        if "for" not in rule:
            problems.append(f"{name}: no `for`")
        if labels.get("severity") not in SEVERITIES:
            problems.append(f"{name}: severity {labels.get('severity')!r} is not one of {sorted(SEVERITIES)}")
        for key in ("summary", "description", "runbook_url"):
            if not notes.get(key, "").strip():
                problems.append(f"{name}: no {key} annotation")
        if "target" in rule["expr"] and "wsprobe_build_info" not in rule["expr"]:
            for key in ("summary", "description"):
                if "$labels.target" not in notes.get(key, ""):
                    problems.append(f"{name}: the {key} does not name the target ({{{{ $labels.target }}}})")
        expected_url = f"docs/runbook.md#{name.lower()}"
        if notes.get("runbook_url") != expected_url:
            problems.append(f"{name}: runbook_url is {notes.get('runbook_url')!r}, expected {expected_url!r}")
        if name.lower() not in headings:
            problems.append(f"{name}: docs/runbook.md has no section (## {name})")
        if f"[{name}](#{name.lower()})" not in table:
            problems.append(f"{name}: not in the runbook's thresholds table")
    return problems


def test_problems():
    fires, quiet = set(), set()
    for path in sorted(TESTS.glob("*.yml")):
        with open(path, encoding="utf-8") as f:
            document = yaml.safe_load(f)
        for test in document.get("tests", []):
            for case in test.get("alert_rule_test", []):
                (fires if case.get("exp_alerts") else quiet).add(case["alertname"])
    problems = []
    for rule in alerts():
        name = rule["alert"]
        if name not in fires:
            problems.append(f"{name}: no promtool test where it fires")
        if name not in quiet:
            problems.append(f"{name}: no promtool test where it must stay quiet")
    return problems


def runbook_query_problems(runbook, promtool):
    blocks = re.findall(r"```promql\n(.*?)```", runbook, re.S)
    exprs = [line.strip() for block in blocks for line in block.splitlines() if line.strip()]
    if not exprs:
        return ["docs/runbook.md has no ```promql examples to check"]
    problems = []
    for expr in exprs:
        with tempfile.TemporaryDirectory(prefix="wsprobe-runbook-") as tmp:
            path = Path(tmp) / "runbook.yml"
            path.write_text("groups:\n  - name: runbook\n    rules:\n"
                            f"      - record: wsprobe_runbook_example\n        expr: {json.dumps(expr)}\n",
                            encoding="utf-8")
            result = subprocess.run([promtool, "check", "rules", str(path)],
                                    capture_output=True, text=True, timeout=60)
            if result.returncode != 0:
                message = (result.stdout + result.stderr).strip().splitlines()
                problems.append(f"runbook example {expr!r}: {message[-1] if message else 'rejected'}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--promtool", default="promtool")
    args = parser.parse_args()
    runbook = RUNBOOK.read_text(encoding="utf-8")
    problems = rule_problems(runbook) + test_problems() + runbook_query_problems(runbook, args.promtool)
    for problem in problems:
        print(f"FAIL {problem}")
    if not problems:
        print(f"ok   {len(alerts())} alerts: severity, summary, description, runbook section and "
              "firing and quiet tests; runbook examples parse")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
