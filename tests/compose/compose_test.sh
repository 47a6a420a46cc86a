#!/usr/bin/env bash
# compose_test.sh BUILD_DIR SOURCE_DIR: the compose stack (compose/docker-compose.yml) on this
# machine's Docker engine, end to end:
#   1. starts dockerd when none answers; builds the .deb (cpack) and the images (tools/compose/images)
#   2. brings up three brokers, sfsim, two relays in one group and Prometheus on a network of its
#      own (compose project sluice-test-PID; no published port is fixed) and waits for health;
#      in a relay container, the installed package's --version and --check-config of
#      /etc/sluice/relay.yaml
#   3. flood service, SLUICE_COMPOSE_EVENTS events (default 100,000, 0.1% invalid): nothing
#      missing, no event written twice, every invalid event in the DLQ (sfsim's ledger, read by
#      sluice-flood); Prometheus scraped every target, loaded the alert rules and none fires;
#      every Grafana dashboard query has data
#   4. flood again (SLUICE_COMPOSE_KILL_EVENTS, default 100,000); relay-1 is SIGKILLed once a
#      third is delivered; relay-2 must finish the drain with nothing missing
#   5. tears everything down with its volumes, always (trap)
# No Docker engine: the test fails, it never skips. Network: loopback, the compose network, and
# Debian's archive from the image builds.
set -euo pipefail
build=$(cd "$1" && pwd)
root=$(cd "$2" && pwd)
events=${SLUICE_COMPOSE_EVENTS:-100000}
kill_events=${SLUICE_COMPOSE_KILL_EVENTS:-100000}
project=sluice-test-$$
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-compose.XXXXXX")
compose=(docker-compose -f "$root/compose/docker-compose.yml" -p "$project")
export SLUICE_SFSIM_PORT='' SLUICE_RELAY1_PORT='' SLUICE_RELAY2_PORT='' SLUICE_PROMETHEUS_PORT=''
start=$SECONDS
. "$(dirname "${BASH_SOURCE[0]}")/docker_lib.sh"

log() { echo "[$((SECONDS - start))s] $*"; }
fail() { echo "FAIL: $*"; exit 1; }

cleanup() {
  local status=$?
  if docker info >/dev/null 2>&1; then
    if [ $status -ne 0 ]; then
      echo "== logs (last 30 lines each)"
      "${compose[@]}" --profile flood logs --no-color --tail 30 2>&1 || true
    fi
    docker rm -f -v "$project-flood-1" "$project-flood-2" >/dev/null 2>&1 || true
    "${compose[@]}" --profile flood down -v --remove-orphans -t 5 >/dev/null 2>&1 || true
    if docker ps -a -q --filter "label=com.docker.compose.project=$project" | grep -q . ||
      docker volume ls -q --filter "label=com.docker.compose.project=$project" | grep -q . ||
      docker network ls -q --filter "label=com.docker.compose.project=$project" | grep -q .; then
      echo "FAIL: containers, volumes or networks of $project remain after down"
      status=1
    fi
  fi
  stop_started_dockerd
  kill "$watchdog" 2>/dev/null || true
  [ $status -eq 0 ] && rm -rf "$work" || echo "logs kept in $work"
  log "total wall time $((SECONDS - start))s"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# ctest's TIMEOUT (720 s) kills without a trap; at 660 s the test stops itself and tears down.
budget=${SLUICE_COMPOSE_BUDGET_S:-660}
(
  trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
  sleep "$budget" & sleeper=$!
  wait "$sleeper" && echo "FAIL: over the budget of $budget s" && kill -TERM $$
) &
watchdog=$!

# ---- 1. the engine and the images
ensure_docker "$work"
docker version --format 'docker {{.Server.Version}}'
docker-compose version --short

log "cpack -G DEB"
(cd "$build" && cpack -G DEB -B "$work/pkg" >"$work/cpack.log" 2>&1) || { tail "$work/cpack.log"; fail "cpack"; }
debs=("$work"/pkg/sluice_*.deb)
[ -f "${debs[0]}" ] || fail "cpack made no .deb"
log "images"
"$root/tools/compose/images" --deb "${debs[0]}" || fail "tools/compose/images"

# ---- 2. the stack
log "up"
"${compose[@]}" up -d --no-build >"$work/up.log" 2>&1 || { cat "$work/up.log"; fail "compose up"; }
cid() { "${compose[@]}" ps -q "$1"; }
ip() { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$(cid "$1")"; }
health() { docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$(cid "$1")"; }
services=(kafka-1 kafka-2 kafka-3 sfsim relay-1 relay-2 prometheus)
deadline=$((SECONDS + 240))
for s in "${services[@]}"; do
  until [ "$(health "$s")" = healthy ]; do
    [ $SECONDS -lt $deadline ] || fail "$s is $(health "$s") after 240 s"
    sleep 1
  done
done
log "all healthy: ${services[*]}"
for s in "${services[@]}"; do
  user=$(docker inspect -f '{{.Config.User}}' "$(cid "$s")")
  [ -n "$user" ] && [ "$user" != root ] && [ "$user" != 0 ] || fail "$s runs as root"
  [ "$(docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' "$(cid "$s")")" = unless-stopped ] ||
    fail "$s has no restart policy"
  [ "$(docker inspect -f '{{.HostConfig.Memory}}' "$(cid "$s")")" -gt 0 ] || fail "$s has no memory limit"
done
[ "$(docker inspect -f '{{.State.ExitCode}}' "$(cid topics)")" = 0 ] || fail "the topics service failed"
# The package as the image installed it: --version, and --check-config on the example config its
# postinst put in /etc/sluice (the relays themselves run it against the stack's brokers).
docker exec "$(cid relay-1)" sluice-relay --version >"$work/version.out" 2>&1 ||
  fail "sluice-relay --version: $(cat "$work/version.out")"
grep -q '^sluice-relay ' "$work/version.out" && grep -q '^librdkafka ' "$work/version.out" ||
  fail "sluice-relay --version printed: $(cat "$work/version.out")"
docker exec "$(cid relay-1)" sluice-relay --check-config --config /etc/sluice/relay.yaml \
  >"$work/check.out" 2>&1 || fail "--check-config of the installed example: $(cat "$work/check.out")"
log "installed package: $(head -n1 "$work/version.out"); /etc/sluice/relay.yaml: ok"
# The group settles before the burst: each relay's last share is 3 of the 6 partitions (its log).
share() { docker logs "$(cid "$1")" 2>&1 | grep -o 'share: [0-9]*/[0-9]*' | tail -n1; }
deadline=$((SECONDS + 60))
until [ "$(share relay-1)" = "share: 3/6" ] && [ "$(share relay-2)" = "share: 3/6" ]; do
  [ $SECONDS -lt $deadline ] || fail "the relays do not hold 3 partitions each: $(share relay-1), $(share relay-2)"
  sleep 1
done
log "each relay holds 3 partitions"
sfsim=http://$(ip sfsim):8443
prometheus=http://$(ip prometheus):9090
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
stat() { curl -fsS "$sfsim/sim/stats" | json "$1"; }

# Runs the flood service once as container $1 with $2 events and invalid fraction $3, in the
# background; its output goes to $work/$1.out.
flood_start() {
  SLUICE_FLOOD_EVENTS=$2 SLUICE_FLOOD_INVALID_FRACTION=$3 SLUICE_FLOOD_DRAIN_TIMEOUT=300s \
    "${compose[@]}" --profile flood run -T --no-deps --name "$1" flood >"$work/$1.out" 2>&1 &
  flood_pid=$!
}
# Waits for it; copies its report.json to $work/$1.json; prints the verification summary.
flood_finish() {
  local status=0
  wait "$flood_pid" || status=$?
  tail -n 12 "$work/$1.out"
  docker cp "$1:/var/lib/sluice/report.json" "$work/$1.json" || fail "$1 wrote no report"
  [ $status -eq 0 ] || fail "$1 exited $status (an assertion failed or the drain did not finish)"
}
verification() { json "d['verification']['$1']" <"$work/$2.json"; }

# ---- 3. a burst through both relays
log "flood: $events events, 0.1% invalid"
flood_start "$project-flood-1" "$events" 0.001
flood_finish "$project-flood-1"
r=$project-flood-1
[ "$(verification produced "$r")" = "$events" ] || fail "produced $(verification produced "$r") of $events"
[ "$(verification missing "$r")" = 0 ] || fail "missing $(verification missing "$r")"
[ "$(verification duplicates "$r")" = 0 ] || fail "duplicates $(verification duplicates "$r")"
[ "$(verification delivered "$r")" = "$(verification expected "$r")" ] || fail "delivered != expected"
[ "$(verification out_of_order "$r")" = 0 ] || fail "out of order $(verification out_of_order "$r")"
[ "$(verification invalid_not_in_dlq "$r")" = 0 ] || fail "invalid events not in the DLQ"
[ "$(verification invalid_delivered "$r")" = 0 ] || fail "invalid events delivered"
[ "$(verification invalid_produced "$r")" -gt 0 ] || fail "no invalid events were produced"
echo "verified: delivered $(verification delivered "$r"), missing 0, duplicates 0," \
  "invalid in DLQ $(verification invalid_in_dlq "$r")/$(verification invalid_produced "$r")"
# Each relay took part: both delivered something.
for s in relay-1 relay-2; do
  n=$(curl -fsS "http://$(ip "$s"):9464/metrics" | awk '/^sluice_relay_delivered_total/ {s += $2} END {print s + 0}')
  echo "$s delivered $n"
  [ "${n%.*}" -gt 0 ] || fail "$s delivered nothing: the group did not share the partitions"
done

# Prometheus: every target up; every dashboard query has data. Two more scrapes first.
sleep 11
curl -fsS "$prometheus/api/v1/targets" >"$work/targets.json"
python3 - "$work/targets.json" <<'PY' || fail "a Prometheus target is not up"
import json, sys
targets = json.load(open(sys.argv[1]))["data"]["activeTargets"]
want = {"relay-1:9464", "relay-2:9464", "127.0.0.1:9090"}
seen = {t["labels"]["instance"]: t for t in targets}
for inst in sorted(want):
    t = seen.get(inst)
    print(f"target {inst}: {t['health'] if t else 'absent'} {t.get('lastError', '') if t else ''}")
    if not t or t["health"] != "up":
        sys.exit(1)
PY
curl -fsS "$prometheus/api/v1/rules" >"$work/rules.json"
python3 - "$work/rules.json" <<'PY' || fail "the alert rules are not loaded, or one is unhealthy or firing"
import json, sys
rules = [r for g in json.load(open(sys.argv[1]))["data"]["groups"] for r in g["rules"]]
firing = [r["name"] for r in rules if r.get("state") == "firing"]
unhealthy = [r["name"] for r in rules if r.get("health") not in ("ok", "unknown")]
print(f"{len(rules)} alert rules loaded; firing: {firing or 'none'}; unhealthy: {unhealthy or 'none'}")
sys.exit(1 if not rules or firing or unhealthy else 0)
PY
python3 - "$root/compose/grafana/dashboards/sluice-relay.json" "$prometheus" <<'PY' ||
import json, sys, urllib.parse, urllib.request
def exprs(node):
    if isinstance(node, dict):
        if isinstance(node.get("expr"), str):
            yield node["expr"]
        for v in node.values():
            yield from exprs(v)
    elif isinstance(node, list):
        for v in node:
            yield from exprs(v)
queries = list(dict.fromkeys(exprs(json.load(open(sys.argv[1])))))
bad = 0
for q in queries:
    url = sys.argv[2] + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
    result = json.load(urllib.request.urlopen(url, timeout=10))["data"]["result"]
    print(f"{len(result):3d} series  {q}")
    bad += not result
print(f"{len(queries)} dashboard queries, {bad} without data")
sys.exit(1 if bad or not queries else 0)
PY
  fail "a dashboard query returned no data"

# ---- 4. one relay killed mid-drain
log "flood: $kill_events events; relay-1 is killed once a third is delivered"
before=$(stat "d['records_written']")
flood_start "$project-flood-2" "$kill_events" 0
deadline=$((SECONDS + 240))
while :; do
  done_now=$(( $(stat "d['records_written']") - before ))
  [ "$done_now" -ge $((kill_events / 3)) ] && break
  kill -0 "$flood_pid" 2>/dev/null || fail "the flood ended before relay-1 could be killed"
  [ $SECONDS -lt $deadline ] || fail "a third of the events were not delivered within 240 s"
  sleep 0.2
done
docker kill "$(cid relay-1)" >/dev/null
log "relay-1 killed with $done_now of $kill_events written"
flood_finish "$project-flood-2"
r=$project-flood-2
[ "$(docker inspect -f '{{.State.Running}}' "$(cid relay-1)")" = false ] ||
  fail "relay-1 came back: the drain was not relay-2's alone"
[ "$(verification missing "$r")" = 0 ] || fail "missing $(verification missing "$r") after the kill"
[ "$(verification delivered "$r")" = "$(verification expected "$r")" ] || fail "delivered != expected"
[ "$(verification out_of_order "$r")" = 0 ] || fail "out of order $(verification out_of_order "$r") after the kill"
# relay-2 restores what relay-1 resolved from the changelog topics, so it skips those events; only
# the crash window is written again (as upserts of the same records): events Salesforce accepted
# whose changelog write relay-1 had not seen acknowledged. That is bounded by relay-1's calls in
# flight (max_in_flight 20 x 200 records) plus as many waiting for their store write: 8,000.
# Before the changelog this run wrote 14,000-22,000 events again, so the bound can fail.
dups=$(verification duplicated_events "$r")
echo "after the kill: delivered $(verification delivered "$r"), missing 0, events written twice" \
  "$dups (of $done_now written before the kill)"
crash_window=$((2 * 20 * 200))
[ "$dups" -le "$crash_window" ] ||
  fail "$dups events written twice after the kill: more than the crash window ($crash_window)"
[ "$(stat "d['records_created']")" = "$(stat "d['objects']['Contact']")" ] ||
  fail "sfsim created more records than it holds"

log "PASS"
