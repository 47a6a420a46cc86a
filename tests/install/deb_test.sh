#!/usr/bin/env bash
# deb_test.sh BUILD_DIR: `cpack -G DEB` builds the package; dpkg-deb shows its dependencies (from
# dpkg-shlibdeps, plus adduser), the binaries, the units (naming /usr/bin), the examples and the
# maintainer scripts. Installing it is not tested here.
set -euo pipefail
build=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

(cd "$build" && cpack -G DEB -B "$out" >"$out/cpack.log" 2>&1) || { cat "$out/cpack.log"; fail "cpack"; }
debs=("$out"/*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "expected one .deb in $out"
deb=${debs[0]}
echo "$deb"

info=$(dpkg-deb -I "$deb")
echo "$info"
echo "$info" | grep -qx ' Package: sluice' || fail "Package is not sluice"
echo "$info" | grep -q 'an idempotency store' || fail "the description is garbled"
depends=$(echo "$info" | sed -n 's/^ Depends: //p')
for dep in adduser 'libc6 ' librdkafka1 libcurl4 libssl3 libsqlite3-0 libyaml-cpp libspdlog libfmt \
  'libstdc++6'; do
  echo "$depends" | grep -qF "$dep" || fail "Depends lacks $dep: $depends"
done
for script in postinst prerm postrm; do
  echo "$info" | grep -Eq "^ +[0-9]+ bytes, +[0-9]+ lines +\* +$script " ||
    fail "$script missing or not executable"
done

contents=$(dpkg-deb -c "$deb")
for f in usr/bin/sluice-relay usr/bin/sluice-sfsim usr/bin/sluice-flood usr/bin/sluice-dlq \
  usr/bin/sluice-gateway usr/lib/systemd/system/sluice-gateway.service \
  usr/share/sluice/examples/gateway.yaml usr/share/sluice/examples/gateway-tokens.yaml \
  usr/lib/systemd/system/sluice-relay@.service usr/lib/systemd/system/sluice-sfsim.service \
  usr/share/sluice/examples/relay.yaml usr/share/sluice/examples/sfsim.yaml \
  usr/share/sluice/docs/DEPLOY.md usr/share/sluice/grafana/sluice-relay.json \
  usr/share/sluice/prometheus/sluice-relay.rules.yml; do
  echo "$contents" | grep -q " \./$f\$" || fail "$f not in the package"
done
echo "$contents" | grep -q 'sluice-bench' && fail "a benchmark binary is in the package"

dpkg-deb -x "$deb" "$out/root"
grep -qx 'ExecStart=/usr/bin/sluice-relay --config /etc/sluice/%i.yaml' \
  "$out/root/usr/lib/systemd/system/sluice-relay@.service" || fail "the unit does not run /usr/bin/sluice-relay"
"$out/root/usr/bin/sluice-relay" --version | head -n1 | grep -q '^sluice-relay ' || fail "packaged relay --version"
dpkg-deb -e "$deb" "$out/control"
for script in postinst prerm postrm; do
  sh -n "$out/control/$script" || fail "$script does not parse"
done
grep -q 'adduser --system' "$out/control/postinst" || fail "postinst creates no system user"
echo "PASS"
