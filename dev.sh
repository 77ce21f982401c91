#!/usr/bin/env bash
# stacklab's two entry points, for a fresh Debian machine, as root:
#   ./dev.sh lab    install what stacklab needs, then `stacklab up` the local all-in-one lab
#   ./dev.sh test   install what the tests need, then ruff, mypy and every test tier
# Both install only what is missing, so running them again is quick.
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the local provider and the tests use.
DEB_PACKAGES=(
  ca-certificates python3 python3-venv python3-pip
  systemd-container debootstrap nftables iproute2 iputils-ping
  qemu-system-x86 qemu-utils openssh-client busybox-static cpio apt-cacher-ng
)
# And for the tests only: Horizon's login page through the lab's proxy, headless.
TEST_DEB_PACKAGES=(chromium)
VENV=.venv

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

require_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "dev.sh: run as root: stacklab makes bridges, network namespaces and nspawn machines." >&2
    exit 1
  fi
}

install_debian_packages() {
  local missing=()
  for package in "${DEB_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" \
      || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

install_python_packages() {
  local target=$1 stamp="$VENV/.installed-${1//[^a-z]/}"
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the virtual environment $VENV"
    python3 -m venv "$VENV"
  fi
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    say "installing stacklab and its Python dependencies ($target)"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q -e "$target"
    touch "$stamp"
  fi
}

run_lab() {
  require_root
  install_debian_packages
  install_python_packages .
  [ -f stacklab.yaml ] || "$VENV/bin/stacklab" init --name lab
  exec "$VENV/bin/stacklab" up "$@"
}

run_tests() {
  require_root
  install_debian_packages "${TEST_DEB_PACKAGES[@]}"
  install_python_packages ".[test]"
  say "ruff"
  "$VENV/bin/ruff" check src tests bench
  say "mypy"
  "$VENV/bin/mypy"
  say "import layers"
  "$VENV/bin/lint-imports"
  say "unit tests"
  "$VENV/bin/pytest" tests/unit -q
  say "integration tests (real netns, qemu, nspawn)"
  "$VENV/bin/pytest" tests/integration -q -m "integration or slow" --durations=25 "$@"
}

case "${1:-}" in
  lab) shift; run_lab "$@" ;;
  test) shift; run_tests "$@" ;;
  *) echo "usage: ./dev.sh lab [stacklab up options] | ./dev.sh test [pytest options]" >&2; exit 2 ;;
esac
