#!/usr/bin/env bash
# version_test.sh BINARY: `BINARY --version` exits 0 and prints, on stdout only, the program's name
# and the sluice version, then the runtime versions of librdkafka, libcurl, OpenSSL and SQLite.
set -euo pipefail
bin=$1
name=$(basename "$bin")
err=$(mktemp)
trap 'rm -f "$err"' EXIT

out=$("$bin" --version 2>"$err") || { echo "FAIL: $name --version exited $?"; cat "$err"; exit 1; }
echo "$out"
[ ! -s "$err" ] || { echo "FAIL: $name --version wrote to stderr:"; cat "$err"; exit 1; }
# sluice-relay 1a2b3c4-dirty (sluice 0.1.0)  |  sluice-relay 0.1.0
echo "$out" | head -n1 | grep -Eq "^$name [A-Za-z0-9._+~-]+( \(sluice [0-9]+\.[0-9]+\.[0-9]+\))?$" ||
  { echo "FAIL: first line is not '$name <version>'"; exit 1; }
for lib in librdkafka libcurl OpenSSL SQLite; do
  echo "$out" | grep -Eq "^$lib [0-9]+\.[0-9]+" || { echo "FAIL: no '$lib <version>' line"; exit 1; }
done
[ "$(echo "$out" | wc -l)" -eq 5 ] || { echo "FAIL: expected 5 lines"; exit 1; }
echo "PASS"
