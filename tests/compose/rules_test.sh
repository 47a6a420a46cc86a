#!/usr/bin/env bash
# rules_test.sh SOURCE_DIR: compose/prometheus/ is a valid Prometheus config, its alert rules
# parse, and `promtool test rules` passes (each alert fires on the series meant to fire it and
# stays quiet otherwise). promtool comes from the Prometheus image (Debian's package), so the
# host needs Docker, not a prometheus install (whose init script would start a server).
set -euo pipefail
root=$(cd "$1" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-rules.XXXXXX")
fail() { echo "FAIL: $*"; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/docker_lib.sh"
trap 'stop_started_dockerd; rm -rf "$work"' EXIT

ensure_docker "$work"
"$root/tools/compose/images" prometheus || fail "tools/compose/images prometheus"
docker run --rm --network none -v "$root/compose/prometheus:/etc/prometheus:ro" \
  --entrypoint bash sluice/prometheus:local -c '
    set -e
    cd /etc/prometheus
    promtool check config prometheus.yml
    promtool check rules rules/*.rules.yml
    promtool test rules rules/*.test.yml' || fail "promtool"
echo PASS
