#!/bin/sh
# The compose cluster for real, as a test: scripts/compose-test with the
# image made from the trim this build made (TRIM), on a debootstrap base
# cached in DIR.  Starts dockerd when no engine answers, and stops it after.
# Skips, saying why, without root, Docker, docker-compose, debootstrap,
# node/npm, sqlite3 or curl; under CI (CI=true) a skip fails instead
# (tests/skip.h).  Usage: compose_cluster.sh REPO TRIM DIR
set -eu
repo=$1 trim=$2 dir=$3

skip() {
    if [ "${CI:-}" = true ]; then
        echo "ERROR: a skip fails under CI=true: $*" >&2
        exit 1
    fi
    echo "skipped: $*"
    exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (dockerd, debootstrap, SIGKILL of a container's process)"
for tool in docker dockerd debootstrap node npm sqlite3 curl; do
    command -v $tool >/dev/null 2>&1 ||
        skip "$tool is not installed (scripts/deps installs what this test needs)"
done
docker compose version >/dev/null 2>&1 ||
    command -v docker-compose >/dev/null 2>&1 ||
    skip "neither docker compose nor docker-compose is installed"

mkdir -p "$dir"
dockerd_pid=""
stop_dockerd() {
    [ -n "$dockerd_pid" ] || return 0
    kill -TERM "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" || true
}
trap stop_dockerd EXIT
trap 'exit 130' INT TERM
if ! docker info >/dev/null 2>&1; then
    dockerd >"$dir/dockerd.log" 2>&1 &
    dockerd_pid=$!
    # No signal says the engine is ready: ask it, bounded.
    for _ in $(seq 60); do
        docker info >/dev/null 2>&1 && break
        kill -0 "$dockerd_pid" 2>/dev/null ||
            skip "dockerd exited at start: $(tail -3 "$dir/dockerd.log")"
        sleep 0.5
    done
    docker info >/dev/null 2>&1 || {
        echo "dockerd did not answer within 30 s: see $dir/dockerd.log" >&2
        exit 1
    }
fi
"$repo/scripts/compose-test" --trim "$trim" --cache "$dir"
echo "1 passed, 0 failed"
