#!/usr/bin/env bash
# install_test.sh BUILD_DIR: `cmake --install BUILD_DIR --prefix TMP` lays out bin/,
# lib/systemd/system/ and share/sluice/; the installed units name the installed binaries and pass
# `systemd-analyze verify` and `systemd-analyze security` (exposure at most 2.5; --threshold
# counts tenths); the installed relay accepts the installed example config; the installed sfsim
# starts on its example config.
set -euo pipefail
build=$1
prefix=$(mktemp -d)
sfsim_pid=""
cleanup() {
  [ -z "$sfsim_pid" ] || kill "$sfsim_pid" 2>/dev/null || true
  rm -rf "$prefix"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

cmake --install "$build" --prefix "$prefix" >/dev/null
(cd "$prefix" && find . -type f | sort)

for bin in sluice-relay sluice-sfsim sluice-flood sluice-dlq sluice-gateway; do
  [ -x "$prefix/bin/$bin" ] || fail "bin/$bin missing"
done
# Benchmarks and tests stay in the build tree.
extra=$(cd "$prefix/bin" && ls | grep -Ev '^sluice-(relay|sfsim|flood|dlq|gateway)$' || true)
[ -z "$extra" ] || fail "unexpected in bin/: $extra"
for f in lib/systemd/system/sluice-relay@.service lib/systemd/system/sluice-sfsim.service \
  lib/systemd/system/sluice-gateway.service \
  share/sluice/examples/relay.yaml share/sluice/examples/sfsim.yaml \
  share/sluice/examples/gateway.yaml share/sluice/examples/gateway-tokens.yaml \
  share/sluice/schemas/gateway.config.schema.json share/sluice/schemas/gateway.openapi.yaml \
  share/sluice/docs/GATEWAY.md \
  share/sluice/grafana/sluice-relay.json share/sluice/prometheus/sluice-relay.rules.yml \
  share/sluice/schemas/relay.config.schema.json \
  share/sluice/docs/README.md share/sluice/docs/DEPLOY.md share/sluice/docs/OPERATIONS.md; do
  [ -f "$prefix/$f" ] || fail "$f missing"
done

units=$prefix/lib/systemd/system
grep -qx "ExecStart=$prefix/bin/sluice-relay --config /etc/sluice/%i.yaml" \
  "$units/sluice-relay@.service" || fail "sluice-relay@.service does not run $prefix/bin/sluice-relay"
grep -qx "ExecStart=$prefix/bin/sluice-sfsim --config /etc/sluice/sfsim.yaml" \
  "$units/sluice-sfsim.service" || fail "sluice-sfsim.service does not run $prefix/bin/sluice-sfsim"
grep -qx "ExecStart=$prefix/bin/sluice-gateway --config /etc/sluice/gateway.yaml" \
  "$units/sluice-gateway.service" || fail "sluice-gateway.service does not run $prefix/bin/sluice-gateway"
# The installed gateway accepts the installed example config (and its token file beside it).
"$prefix/bin/sluice-gateway" --config "$prefix/share/sluice/examples/gateway.yaml" --check-config \
  >/dev/null || fail "the installed gateway refuses the installed example config"
! grep -n '@[A-Z_]*@' "$units"/* || fail "a unit has an unsubstituted @VARIABLE@"

# verify warns on stderr (unknown keys, bad values) and still exits 0: any output is a failure.
command -v systemd-analyze >/dev/null || fail "systemd-analyze missing (tools/bootstrap installs systemd)"
cp "$units/sluice-relay@.service" "$prefix/sluice-relay@test.service"
for unit in "$prefix/sluice-relay@test.service" "$units/sluice-sfsim.service" \
  "$units/sluice-gateway.service"; do
  out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify $unit: $out"
  [ -z "$out" ] || fail "systemd-analyze verify $unit: $out"
  systemd-analyze security --offline=true --threshold=25 "$unit" >/dev/null ||
    fail "systemd-analyze security: $(systemd-analyze security --offline=true "$unit" | tail -1)"
done

out=$("$prefix/bin/sluice-relay" --check-config --config "$prefix/share/sluice/examples/relay.yaml")
[ "$out" = "$prefix/share/sluice/examples/relay.yaml: ok" ] || fail "relay example: $out"

# sfsim on its example config, on a free loopback port, its ledger in a scratch directory.
mkdir "$prefix/run"
(cd "$prefix/run" && exec "$prefix/bin/sluice-sfsim" --config "$prefix/share/sluice/examples/sfsim.yaml" \
  --port 0 --log-level warn >"$prefix/run/out" 2>"$prefix/run/err") &
sfsim_pid=$!
for _ in $(seq 100); do
  grep -q "listening on http://127.0.0.1:" "$prefix/run/out" 2>/dev/null && break
  kill -0 "$sfsim_pid" 2>/dev/null || fail "sfsim exited: $(cat "$prefix/run/err")"
  sleep 0.1
done
grep -q "listening on http://127.0.0.1:" "$prefix/run/out" || fail "sfsim did not start"
[ -f "$prefix/run/sfsim-ledger.db" ] || fail "sfsim did not open its ledger in its working directory"
echo "PASS"
