#!/usr/bin/python3
"""packaging/kubernetes, checked offline (no cluster runs here):

  * the generated objects (PrometheusRule, dashboard ConfigMaps) match what
    packaging/kubernetes/generate.py makes from alerts/ and dashboards/ now;
  * `kubectl kustomize` renders packaging/kubernetes and its base;
  * every rendered object is valid against the Kubernetes and prometheus-operator
    schemas (tools/kubernetes-schema/validate.mjs: kubernetes-models), and the
    validator does report a broken object;
  * the PrometheusRule holds exactly the rule groups of alerts/wsprobe-rules.yml,
    and each dashboard ConfigMap exactly a dashboards/*.json, labelled for
    Grafana's sidecar;
  * the StatefulSet's pod is hardened (non-root, read-only root filesystem, no
    capabilities, seccomp RuntimeDefault, no privilege escalation), probes
    /-/healthy and /-/ready on the metrics port, and shards with --shard=auto/N
    where N is its replica count; the PodMonitor scrapes that port;
  * the rendered wsprobe configuration and targets pass `wsprobe --config.check`
    for every shard, and the shards together hold every target once.

Usage: kubernetes_manifests_test.py --wsprobe PATH [--kubectl kubectl] [--node node]
Needs python3-yaml, kubectl (its built-in kustomize) and node with
tools/kubernetes-schema/node_modules (npm ci there; scripts/setup.sh does it).
"""

import argparse
import copy
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
KUBERNETES = REPO / "packaging" / "kubernetes"
VALIDATOR = REPO / "tools" / "kubernetes-schema" / "validate.mjs"
sys.path.insert(0, str(KUBERNETES))
import generate  # noqa: E402

problems = []


def check(condition, message):
    if not condition:
        problems.append(message)
    return condition


def render(kubectl, directory):
    result = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise SystemExit(f"FAIL kubectl kustomize {directory}: {result.stderr.strip()}")
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def validate(node, objects):
    result = subprocess.run([node, str(VALIDATOR)], input=json.dumps(objects), capture_output=True, text=True,
                            timeout=120)
    return result.returncode, result.stdout


def one(objects, kind, name=None):
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    check(len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}")
    return found[0] if found else {}


def check_statefulset(objects):
    sts = one(objects, "StatefulSet", "wsprobe")
    pod = sts["spec"]["template"]["spec"]
    pod_security = pod.get("securityContext", {})
    check(pod_security.get("runAsNonRoot") is True, "pod: runAsNonRoot is not true")
    check(pod_security.get("seccompProfile", {}).get("type") == "RuntimeDefault", "pod: seccomp is not RuntimeDefault")
    check(pod.get("automountServiceAccountToken") is False, "pod: a service account token is mounted")
    for container in pod["containers"]:
        security = container.get("securityContext", {})
        name = container["name"]
        check(security.get("readOnlyRootFilesystem") is True, f"{name}: root filesystem is writable")
        check(security.get("allowPrivilegeEscalation") is False, f"{name}: privilege escalation allowed")
        check(security.get("capabilities", {}).get("drop") == ["ALL"], f"{name}: capabilities not dropped")
        check(container["livenessProbe"]["httpGet"]["path"] == "/-/healthy", f"{name}: liveness not /-/healthy")
        check(container["readinessProbe"]["httpGet"]["path"] == "/-/ready", f"{name}: readiness not /-/ready")
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        check(ports.get("metrics") == 9713, f"{name}: no metrics port 9713")
        shard = [a for a in container["args"] if a.startswith("--shard=")]
        replicas = sts["spec"]["replicas"]
        check(shard == [f"--shard=auto/{replicas}"], f"{name}: {shard} is not --shard=auto/{replicas}")
        for mount in container.get("volumeMounts", []):
            check("subPath" not in mount, f"{name}: {mount['mountPath']} uses subPath (gets no ConfigMap updates)")
    monitor = one(objects, "PodMonitor", "wsprobe")
    check(monitor["spec"]["selector"]["matchLabels"].items() <= sts["spec"]["template"]["metadata"]["labels"].items(),
          "PodMonitor does not select the StatefulSet's pods")
    check([e["port"] for e in monitor["spec"]["podMetricsEndpoints"]] == ["metrics"], "PodMonitor: not the metrics port")
    return sts, replicas


def check_generated(objects):
    rules = yaml.safe_load((REPO / "alerts" / "wsprobe-rules.yml").read_text(encoding="utf-8"))
    rule = one(objects, "PrometheusRule", "wsprobe")
    check(rule.get("spec", {}).get("groups") == rules["groups"],
          "the PrometheusRule's groups differ from alerts/wsprobe-rules.yml (run packaging/kubernetes/generate.py)")
    dashboards = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in (REPO / "dashboards").glob("*.json")}
    seen = set()
    for cm in objects:
        if cm["kind"] != "ConfigMap" or cm["metadata"].get("labels", {}).get("grafana_dashboard") != "1":
            continue
        for key, text in cm["data"].items():
            seen.add(key)
            check(key in dashboards and json.loads(text) == dashboards[key],
                  f"ConfigMap {cm['metadata']['name']}: {key} differs from dashboards/{key}")
    check(seen == set(dashboards), f"dashboard ConfigMaps hold {sorted(seen)}, dashboards/ has {sorted(dashboards)}")
    return len(rules["groups"][0]["rules"]), sorted(seen)


def check_config(objects, wsprobe, replicas):
    config = one(objects, "ConfigMap", "wsprobe-config")["data"]["wsprobe.toml"]
    targets = one(objects, "ConfigMap", "wsprobe-targets")["data"]
    held = []
    with tempfile.TemporaryDirectory(prefix="wsprobe-k8s-") as tmp:
        directory = Path(tmp)
        (directory / "targets").mkdir()
        for name, text in targets.items():
            (directory / "targets" / name).write_text(text, encoding="utf-8")
        local = config.replace("/etc/wsprobe/targets/", f"{directory}/targets/")
        check(local != config, "wsprobe.toml does not read /etc/wsprobe/targets/")
        (directory / "wsprobe.toml").write_text(local, encoding="utf-8")
        for shard in range(replicas):
            result = subprocess.run([wsprobe, "--config.check", f"--config.file={directory / 'wsprobe.toml'}",
                                     f"--shard={shard}/{replicas}"], capture_output=True, text=True, timeout=60)
            if not check(result.returncode == 0, f"--config.check --shard={shard}/{replicas}: {result.stdout.strip()}"):
                continue
            held.append(int(re.search(r"valid: (\d+) targets", result.stdout).group(1)))
        whole = subprocess.run([wsprobe, "--config.check", f"--config.file={directory / 'wsprobe.toml'}"],
                               capture_output=True, text=True, timeout=60)
        total = int(re.search(r"valid: (\d+) targets", whole.stdout).group(1)) if whole.returncode == 0 else -1
        check(total > 0 and sum(held) == total, f"the shards hold {held} targets, the configuration {total}")
    return total, held


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wsprobe", required=True)
    parser.add_argument("--kubectl", default="kubectl")
    parser.add_argument("--node", default="node")
    args = parser.parse_args()

    check(generate.prometheus_rule() == (KUBERNETES / "monitoring" / "prometheusrule.yaml").read_text(encoding="utf-8"),
          "monitoring/prometheusrule.yaml is out of date: run packaging/kubernetes/generate.py")
    check(generate.dashboards() == (KUBERNETES / "monitoring" / "dashboards.yaml").read_text(encoding="utf-8"),
          "monitoring/dashboards.yaml is out of date: run packaging/kubernetes/generate.py")

    objects = render(args.kubectl, KUBERNETES)
    base = render(args.kubectl, KUBERNETES / "base")
    print(f"rendered {len(objects)} objects ({len(base)} in base/): "
          + ", ".join(f"{o['kind']}/{o['metadata']['name']}" for o in objects))
    status, report = validate(args.node, objects)
    print(report.rstrip())
    check(status == 0, "objects fail schema validation (above)")

    # The validator must see a broken object: a StatefulSet whose replicas is
    # a string and a PodMonitor endpoint whose interval is a number.
    broken = [copy.deepcopy(one(objects, "StatefulSet", "wsprobe")), copy.deepcopy(one(objects, "PodMonitor", "wsprobe"))]
    broken[0]["spec"]["replicas"] = "three"
    broken[1]["spec"]["podMetricsEndpoints"][0]["interval"] = 30
    status, report = validate(args.node, broken)
    check(status == 1 and report.count("FAIL") == 2, f"the validator let broken objects pass:\n{report}")

    _, replicas = check_statefulset(objects)
    rule_count, dashboards = check_generated(objects)
    total, held = check_config(objects, args.wsprobe, replicas)
    print(f"PrometheusRule: {rule_count} rules, as alerts/wsprobe-rules.yml; dashboards: {', '.join(dashboards)}; "
          f"{replicas} shards hold {held} of {total} targets")
    for problem in problems:
        print(f"FAIL {problem}")
    print("ok   packaging/kubernetes" if not problems else f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
