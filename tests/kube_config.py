#!/usr/bin/env python3
"""deploy/kubernetes, checked offline (no cluster runs here).

Every YAML file parses and kustomization.yaml lists files that exist; in
every trim container (args[0] is the command) each --flag and each TRIM_*
variable is a flag of that command (asked of the built binary: `trim CMD
--help`); every listen flag (--bind, --pub, --listen, --metrics-listen)
has a container port of the same number, and every container port is one
of them; liveness probes /healthz and readiness /readyz on the
--metrics-listen port; selectors match their pod labels; each Service
selects pods that have the ports it targets, and each tcp:// address a
container connects to is a Service's port; the secrets are copied mode
0600 before trim reads them; no TRIM_INSECURE or --insecure anywhere; each HorizontalPodAutoscaler scales an
existing Deployment on a metric the Prometheus adapter example serves, with
the pool label of that Deployment, and that example reads only exported
metrics; a NetworkPolicy admits the metrics port only from a namespace.
Usage: kube_config.py REPO TRIM
"""
import os
import re
import sys

import yaml

import trim_names

LISTEN_VARS = ("TRIM_BIND", "TRIM_PUB", "TRIM_LISTEN", "TRIM_METRICS_LISTEN")


def port_of(address):
    """The port of tcp://HOST:PORT or HOST:PORT."""
    return int(address.rsplit(":", 1)[1])


def main():
    repo, trim = sys.argv[1], sys.argv[2]
    top = os.path.join(repo, "deploy", "kubernetes")
    failures = []

    def check(ok, what):
        if not ok:
            failures.append(what)

    docs = []  # (file, object)
    for f in sorted(os.listdir(top)):
        if f.endswith((".yaml", ".yml")):
            with open(os.path.join(top, f), encoding="utf-8") as fh:
                try:
                    docs += [(f, d) for d in yaml.safe_load_all(fh) if d]
                except yaml.YAMLError as e:
                    failures.append(f"{f}: {e}")
    kust = [d for f, d in docs if d.get("kind") == "Kustomization"]
    check(len(kust) == 1, "one kustomization.yaml")
    for r in (kust[0].get("resources") or []) if kust else []:
        check(os.path.exists(os.path.join(top, r)),
              f"kustomization.yaml: {r} is missing")

    workloads = {d["metadata"]["name"]: d for f, d in docs
                 if d.get("kind") in ("Deployment", "StatefulSet")}
    services = {d["metadata"]["name"]: d for f, d in docs
                if d.get("kind") == "Service"}
    names, histograms = trim_names.metric_names(repo)
    check(workloads.get("coordinator", {}).get("kind") == "StatefulSet" and
          workloads["coordinator"]["spec"].get("volumeClaimTemplates"),
          "the coordinator: a StatefulSet with a volume claim")
    coord = workloads.get("coordinator", {}).get("spec", {})
    governing = services.get(coord.get("serviceName"), {}).get("spec", {})
    check(governing.get("clusterIP") == "None",
          "the coordinator: serviceName names a headless Service")
    check(coord.get("podManagementPolicy") == "Parallel",
          "the coordinator: podManagementPolicy Parallel (a rollout must "
          "not wait for a readiness that needs the workers)")
    startup = [c.get("startupProbe") or {}
               for c in coord.get("template", {}).get("spec", {})
               .get("containers", [])]
    check(startup and (startup[0].get("httpGet") or {}).get("path") ==
          "/healthz" and startup[0].get("failureThreshold", 0) >= 30,
          "the coordinator: a startupProbe on /healthz that allows a long "
          "recovery")
    for pool in ("small", "large", "prm", "gateway", "router"):
        check(workloads.get(pool, {}).get("kind") == "Deployment",
              f"{pool}: a Deployment")

    connects = []  # (where, address)
    for wname, w in workloads.items():
        spec = w["spec"]
        tpl = spec["template"]
        labels = tpl["metadata"].get("labels") or {}
        sel = spec["selector"].get("matchLabels") or {}
        check(sel and all(labels.get(k) == v for k, v in sel.items()),
              f"{wname}: selector {sel} does not match its pod labels")
        pod = tpl["spec"]
        volumes = {v["name"]: v for v in pod.get("volumes") or []}
        for init in pod.get("initContainers") or []:
            cmd = init.get("command") or []
            check(cmd[:3] == ["install", "-m", "0600"],
                  f"{wname}: init {init['name']} copies the key mode 0600")
            check(any(volumes.get(m["name"], {}).get("secret")
                      for m in init.get("volumeMounts") or []),
                  f"{wname}: init {init['name']} reads a Secret")
        for c in pod["containers"]:
            where = f"{wname}/{c['name']}"
            args = c.get("args") or []
            if not args:
                failures.append(f"{where}: no trim command in args")
                continue
            try:
                known = trim_names.flags(trim, args[0])
            except ValueError as e:
                failures.append(f"{where}: {e}")
                continue
            check("--insecure" not in args, f"{where}: --insecure")
            for a in args[1:]:
                if a.startswith("--"):
                    check(a.split("=", 1)[0] in known,
                          f"{where}: {a} is no flag of trim {args[0]}")
            env = {}
            for e in c.get("env") or []:
                env[e["name"]] = str(e.get("value", ""))
                check(e["name"] != "TRIM_INSECURE", f"{where}: TRIM_INSECURE")
                check(not e["name"].startswith("TRIM_") or
                      e["name"] in known.values(),
                      f"{where}: {e['name']} is no flag of trim {args[0]}")
            ports = {p.get("name"): p["containerPort"]
                     for p in c.get("ports") or []}
            listens = {v: port_of(env[v]) for v in LISTEN_VARS if v in env}
            for v, n in listens.items():
                check(n in ports.values(),
                      f"{where}: {v} port {n} has no container port")
            for pname, n in ports.items():
                check(n in listens.values(),
                      f"{where}: container port {pname} {n} is no "
                      f"listen flag's")
            metrics = listens.get("TRIM_METRICS_LISTEN")
            check(metrics is not None, f"{where}: no TRIM_METRICS_LISTEN")
            for probe, path in (("livenessProbe", "/healthz"),
                                ("readinessProbe", "/readyz")):
                get = (c.get(probe) or {}).get("httpGet") or {}
                port = get.get("port")
                port = ports.get(port) if isinstance(port, str) else port
                check(get.get("path") == path and port == metrics,
                      f"{where}: {probe} GET {path} on the metrics port "
                      f"{metrics}")
            for v in ("TRIM_CONNECT",):
                if v in env:
                    connects.append((where, env[v]))
            secret = env.get("TRIM_CURVE_SECRET", "")
            mounts = {m["mountPath"]: m["name"]
                      for m in c.get("volumeMounts") or []}
            check(secret.startswith("/secret/") and
                  "emptyDir" in volumes.get(mounts.get("/secret"), {}),
                  f"{where}: TRIM_CURVE_SECRET in the /secret copy")
            ctx = c.get("securityContext") or {}
            check(ctx.get("readOnlyRootFilesystem") is True and
                  ctx.get("allowPrivilegeEscalation") is False and
                  (ctx.get("capabilities") or {}).get("drop") == ["ALL"],
                  f"{where}: read-only root, no privilege gain, cap drop ALL")
        check((pod.get("securityContext") or {}).get("runAsNonRoot") is True,
              f"{wname}: runAsNonRoot")

    for sname, s in services.items():
        sel = s["spec"].get("selector") or {}
        pods = [w for w in workloads.values()
                if sel and all((w["spec"]["template"]["metadata"]
                                .get("labels") or {}).get(k) == v
                               for k, v in sel.items())]
        check(pods, f"Service {sname}: selects no pods")
        for p in s["spec"].get("ports") or []:
            target = p.get("targetPort", p["port"])
            for w in pods:
                cports = {q.get("name"): q["containerPort"]
                          for c in w["spec"]["template"]["spec"]["containers"]
                          for q in c.get("ports") or []}
                n = cports.get(target) if isinstance(target, str) else target
                check(n in cports.values() and n == p["port"],
                      f"Service {sname}: port {p['port']} -> {target} is not "
                      f"a container port of {w['metadata']['name']} of the "
                      f"same number")
    for where, address in connects:
        m = re.match(r"tcp://([^:/]+):(\d+)$", address)
        host = m.group(1).split(".")[0] if m else ""
        check(m and host in services and
              any(p["port"] == int(m.group(2))
                  for p in services[host]["spec"]["ports"]),
              f"{where}: {address} is no Service's port")

    # The adapter's rules: each serves (as) a sum of metrics trim exports.
    rules = [yaml.safe_load(d["data"]["config.yaml"]) for f, d in docs
             if f == "prometheus-adapter.yaml" and d.get("kind") == "ConfigMap"]
    check(rules, "prometheus-adapter.yaml: the adapter's rule")
    served = set()
    for r in rules:
        for rule in r.get("externalRules") or []:
            used = set(re.findall(r"\btrim_[a-z0-9_]+",
                                  rule["seriesQuery"] + " " +
                                  rule.get("metricsQuery", "")))
            bad = trim_names.unknown_metrics(used, names, histograms)
            check(used and not bad,
                  f"prometheus-adapter.yaml: {sorted(bad)} not exported")
            served.add((rule.get("name") or {}).get("as"))

    # The metrics port: only from the monitoring namespace, on every pod.
    metrics_rules = [r for f, d in docs if d.get("kind") == "NetworkPolicy"
                     and d["spec"]["podSelector"].get("matchLabels") ==
                     {"app.kubernetes.io/name": "trim"}
                     for r in d["spec"].get("ingress") or []
                     if any(p.get("port") == 9100 for p in r.get("ports", []))]
    check(len(metrics_rules) == 1 and all(
        "namespaceSelector" in s for s in metrics_rules[0].get("from", [0])),
          "a NetworkPolicy admitting port 9100 of every trim pod only from "
          "a namespace selector")
    admitted = {p.get("port") for f, d in docs if d.get("kind") ==
                "NetworkPolicy" for r in d["spec"].get("ingress") or []
                for p in r.get("ports", [])}
    for wname, w in workloads.items():
        for c in w["spec"]["template"]["spec"]["containers"]:
            for p in c.get("ports") or []:
                check(p["containerPort"] in admitted,
                      f"{wname}: port {p['containerPort']} is not admitted "
                      f"by the NetworkPolicy")

    hpas = [d for f, d in docs if d.get("kind") == "HorizontalPodAutoscaler"]
    check({h["spec"]["scaleTargetRef"]["name"] for h in hpas} ==
          {"small", "large", "prm"}, "an autoscaler for each worker pool")
    for h in hpas:
        ref = h["spec"]["scaleTargetRef"]
        target = workloads.get(ref["name"])
        check(target is not None and ref["kind"] == target["kind"] ==
              "Deployment", f"HPA {h['metadata']['name']}: no Deployment "
              f"{ref['name']}")
        pool = ""
        if target:
            for c in target["spec"]["template"]["spec"]["containers"]:
                for e in c.get("env") or []:
                    if e["name"] == "TRIM_POOL":
                        pool = e["value"]
        for m in h["spec"]["metrics"]:
            metric = (m.get(m["type"].lower()) or {}).get("metric") or {}
            check(metric.get("name") in served,
                  f"HPA {h['metadata']['name']}: {metric.get('name')} is no "
                  f"metric the adapter's rule serves")
            want = (metric.get("selector") or {}).get("matchLabels") or {}
            check(want.get("pool") == pool,
                  f"HPA {h['metadata']['name']}: pool {want.get('pool')}, "
                  f"the Deployment's is {pool}")

    if failures:
        sys.exit("deploy/kubernetes: " + "; ".join(failures))
    print(f"kubernetes: {len(docs)} objects, {len(workloads)} workloads, "
          f"{len(services)} services, {len(hpas)} autoscalers checked")
    print("1 passed, 0 failed")


main()
