#!/usr/bin/env python3
"""The compose cluster's promises, read from `docker-compose config`.

docker/docker-compose.yml must stay valid and secure by default: CURVE on
every ZeroMQ service with its keys made by the one-shot `keys` service,
each service's secret key in a volume no other service mounts, no
--insecure anywhere, every long-running service with a healthcheck, a
read-only root, every capability dropped, and a stop grace period longer
than a worker's drain.  Needs no Docker engine: `docker-compose config`
only reads and resolves the file.  Usage: compose_config.py REPO [COMPOSE]
"""
import re
import subprocess
import sys

import yaml

ONE_SHOT = {"keys", "cli"}


def seconds(text):
    """A compose duration ("40s", "1m30s", "500ms") in seconds."""
    total = 0.0
    for n, unit in re.findall(r"([0-9.]+)(ms|h|m|s)", str(text)):
        total += float(n) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    return total


def mounts(service):
    """(source, target, read_only) of a service's volumes, in either of the
    forms docker-compose v1 and v2 print."""
    out = []
    for v in service.get("volumes") or []:
        if isinstance(v, dict):
            out.append((v.get("source"), v.get("target"),
                        bool(v.get("read_only"))))
        else:
            parts = str(v).split(":")
            out.append((parts[0], parts[1] if len(parts) > 1 else parts[0],
                        len(parts) > 2 and "ro" in parts[2].split(",")))
    return out


def main():
    repo = sys.argv[1]
    compose = sys.argv[2] if len(sys.argv) > 2 else "docker-compose"
    out = subprocess.run(
        [compose, "-f", f"{repo}/docker/docker-compose.yml", "--profile",
         "cli", "config"],
        capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"docker-compose config failed: {out.stderr}")
    services = yaml.safe_load(out.stdout)["services"]
    failures = []

    def check(ok, what):
        if not ok:
            failures.append(what)

    for name, s in services.items():
        env = s.get("environment") or {}
        check(s.get("read_only") is True, f"{name}: read_only")
        check(s.get("cap_drop") == ["ALL"], f"{name}: cap_drop [ALL]")
        check("TRIM_INSECURE" not in env, f"{name}: TRIM_INSECURE")
        check(all("--insecure" not in str(a) for a in s.get("command") or []),
              f"{name}: --insecure")
        if name not in ONE_SHOT:
            hc = s.get("healthcheck") or {}
            check(hc.get("test") and hc.get("test") != ["NONE"],
                  f"{name}: healthcheck")
            check(seconds(s.get("stop_grace_period", "10s")) >= 10,
                  f"{name}: stop_grace_period")
        speaks_zmq = name != "keys" and not name.startswith("sim-")
        if speaks_zmq:
            secret = [m for m in mounts(s) if m[1] == "/secret"]
            check(env.get("TRIM_CURVE_SECRET", "").startswith("/secret/"),
                  f"{name}: TRIM_CURVE_SECRET in its own /secret")
            check(len(secret) == 1 and secret[0][2],
                  f"{name}: one secret volume, read-only, at /secret")
            check(all(m[2] for m in mounts(s) if m[1] == "/keys"),
                  f"{name}: /keys read-only")
            for other, o in services.items():
                if other not in (name, "keys") and secret:
                    check(all(m[0] != secret[0][0] for m in mounts(o)),
                          f"{other} mounts {name}'s secret volume")
            check("keys" in (s.get("depends_on") or {}) or
                  "coordinator" in (s.get("depends_on") or {}),
                  f"{name}: waits for the keys")
        if "TRIM_DRAIN_MS" in env:
            check(seconds(s.get("stop_grace_period", "10s")) >
                  int(env["TRIM_DRAIN_MS"]) / 1000,
                  f"{name}: stop_grace_period longer than TRIM_DRAIN_MS")
        if name in ("router", "small", "large", "prm"):
            hc = " ".join(str(a) for a in
                          (s.get("healthcheck") or {}).get("test") or [])
            health = env.get("TRIM_HEALTH_FILE", "")
            check(health and health in hc,
                  f"{name}: a healthcheck on its own TRIM_HEALTH_FILE")
        if name in ("coordinator", "router"):
            check(env.get("TRIM_CURVE_CLIENTS", "").startswith("/keys/"),
                  f"{name}: TRIM_CURVE_CLIENTS")
    for name in ("small", "large", "prm"):
        check("TRIM_DRAIN_MS" in (services[name].get("environment") or {}),
              f"{name}: TRIM_DRAIN_MS")
    keys = services.get("keys", {})
    check(keys.get("restart") == "no", "keys: a one-shot keys service")
    check("trim keygen" in " ".join(keys.get("command") or []),
          "keys: runs trim keygen")
    after = (services["coordinator"].get("depends_on") or {}).get("keys", {})
    check(after.get("condition") == "service_completed_successfully",
          "coordinator: after keys")
    for port in (services["coordinator"].get("ports") or []) + \
            (services["router"].get("ports") or []):
        check(str(port.get("host_ip", "") if isinstance(port, dict)
                  else port).startswith("127.0.0.1"),
              f"published beyond 127.0.0.1: {port}")
    if failures:
        sys.exit("docker/docker-compose.yml: " + "; ".join(failures))
    print(f"compose config: {len(services)} services checked")
    print("1 passed, 0 failed")


main()
