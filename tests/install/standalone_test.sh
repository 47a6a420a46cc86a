#!/usr/bin/env bash
# standalone_test.sh RELAY EXAMPLE_CONFIG SOURCE_DIR
# sluice-relay copied alone into an empty directory, run from there (far from the source tree and
# from any share/sluice/), still validates configs: the schema is compiled in. A good config
# passes; one with an unknown key fails with exit 2 naming the key, so the schema really is
# checked; and a stripped copy holds no path into the source tree's schemas/.
set -euo pipefail
relay=$1 example=$2 src=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$relay" "$dir/sluice-relay"
cp "$example" "$dir/relay.yaml"
cd "$dir"

out=$(env -u SLUICE_SCHEMA_DIR ./sluice-relay --check-config --config relay.yaml 2>&1) ||
  { echo "FAIL: --check-config on the example exited $?: $out"; exit 1; }
[ "$out" = "relay.yaml: ok" ] || { echo "FAIL: unexpected output: $out"; exit 1; }

{ cat relay.yaml; echo "delivery_rate: 5"; } >bad.yaml
rc=0
out=$(./sluice-relay --check-config --config bad.yaml 2>&1) || rc=$?
[ "$rc" -eq 2 ] || { echo "FAIL: an unknown key exited $rc, not 2: $out"; exit 1; }
echo "$out" | grep -q 'unknown key "delivery_rate"' || { echo "FAIL: the error does not name the key: $out"; exit 1; }

strip -o stripped sluice-relay
if grep -q -F "$src/schemas" stripped; then
  echo "FAIL: the binary names $src/schemas"
  exit 1
fi
echo "PASS"
