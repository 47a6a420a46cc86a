# Sourced by the compose tests. ensure_docker WORKDIR: docker, docker-compose and debootstrap are
# installed (tools/bootstrap when not) and an engine answers; starts dockerd when none does and
# sets started_dockerd to its pid (stop_started_dockerd stops it). Fails, never skips: a machine
# where Docker cannot run fails these tests.
started_dockerd=""

ensure_docker() {
  local work=$1 tool
  for tool in docker docker-compose debootstrap; do
    command -v "$tool" >/dev/null || "$root/tools/bootstrap"
    command -v "$tool" >/dev/null || fail "$tool is not installed and tools/bootstrap did not install it"
  done
  docker info >/dev/null 2>&1 && return 0
  echo "no Docker engine answers: starting dockerd (log: $work/dockerd.log)"
  [ "$(id -u)" -eq 0 ] || fail "no Docker engine answers, and starting dockerd needs root"
  setsid dockerd >"$work/dockerd.log" 2>&1 </dev/null &
  started_dockerd=$!
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    kill -0 "$started_dockerd" 2>/dev/null || break  # exited: the log says why
    sleep 0.5
  done
  tail -n 20 "$work/dockerd.log"
  fail "dockerd did not start (the log above says why)"
}

stop_started_dockerd() {
  [ -n "$started_dockerd" ] || return 0
  kill -TERM "$started_dockerd" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$started_dockerd" 2>/dev/null || break; sleep 0.2; done
}
