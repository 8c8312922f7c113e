#!/usr/bin/env python3
"""The compose cluster's promises, read from `docker-compose config`.

docker/docker-compose.yml must stay valid and secure by default: CURVE on
every ZeroMQ service with its keys made by the one-shot `keys` service,
each service's secret key in a volume no other service mounts, no
--insecure / TRIM_INSECURE anywhere (plaintext HTTP listeners take
--http-insecure, which never opens ZeroMQ in plaintext),
nothing published beyond 127.0.0.1, every long-running service with a
healthcheck, a read-only root, every capability dropped, and a stop grace
period longer than a worker's drain.  Every trim service serves metrics
that docker/prometheus.yml scrapes, and with TRIM (the built binary) every
TRIM_* variable is a flag of the service's command.  Needs no Docker
engine: `docker-compose config` only reads and resolves the file.
Usage: compose_config.py REPO [COMPOSE [TRIM]]
"""
import re
import subprocess
import sys

import yaml

import trim_names

ONE_SHOT = {"keys", "cli"}
# Services that run no trim: the Prometheus image.
NOT_TRIM = {"prometheus"}
# The cli service runs any user command.
USER_COMMANDS = ("submit", "status", "wait", "watch", "audit")
METRICS_PORT = "9100"


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
    trim = sys.argv[3] if len(sys.argv) > 3 else None
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
        for port in s.get("ports") or []:
            check(str(port.get("host_ip", "") if isinstance(port, dict)
                      else port).startswith("127.0.0.1"),
                  f"{name}: published beyond 127.0.0.1: {port}")
        if trim and name not in NOT_TRIM and name != "keys":
            commands = list(USER_COMMANDS) if name == "cli" else \
                [(s.get("command") or ["coordinator"])[0]]
            # A healthcheck running trim reads the variables too.
            test = (s.get("healthcheck") or {}).get("test") or []
            if "trim" in test:
                commands.append(test[test.index("trim") + 1])
            known = set()
            for c in commands:
                try:
                    known.update(trim_names.flags(trim, c).values())
                except ValueError as e:
                    failures.append(f"{name}: {e}")
            for var in env:
                check(not var.startswith("TRIM_") or var in known,
                      f"{name}: {var} is no flag of trim "
                      f"{'/'.join(commands)}")
        speaks_zmq = (name != "keys" and not name.startswith("sim-") and
                      name not in NOT_TRIM)
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
    # Every long-running trim service serves metrics on the port that
    # Prometheus scrapes, under its service name, and only those.
    exporters = set()
    for name, s in services.items():
        if name in ONE_SHOT or name in NOT_TRIM or name.startswith("sim-"):
            continue
        exporters.add(name)
        listen = (s.get("environment") or {}).get("TRIM_METRICS_LISTEN", "")
        check(listen == f"0.0.0.0:{METRICS_PORT}",
              f"{name}: TRIM_METRICS_LISTEN 0.0.0.0:{METRICS_PORT}")
    with open(f"{repo}/docker/prometheus.yml", encoding="utf-8") as f:
        prom = yaml.safe_load(f)
    scraped = set()
    for job in prom["scrape_configs"]:
        for sd in job.get("dns_sd_configs") or []:
            check(sd.get("type") == "A" and
                  str(sd.get("port")) == METRICS_PORT,
                  f"prometheus.yml: {job['job_name']}: type A, port "
                  f"{METRICS_PORT}")
            scraped.update(sd.get("names") or [])
    check(scraped == exporters,
          f"prometheus.yml scrapes {sorted(scraped)}, the services "
          f"with metrics are {sorted(exporters)}")
    if failures:
        sys.exit("docker/docker-compose.yml: " + "; ".join(failures))
    print(f"compose config: {len(services)} services checked")
    print("1 passed, 0 failed")


main()
