#!/usr/bin/env bash
# The set-up step of `make test` and .ci/run: installs, through apt-get,
# the tools the tests need and this machine lacks (nothing that is
# present), or stops in one line naming them and the command that
# installs them. `deps.sh ci` adds what only .ci/run uses; `deps.sh
# --list [ci]` prints the table. Go itself comes from https://go.dev/dl
# (Debian's is older than go.mod's).
set -uo pipefail

# tool  Debian packages that provide it. A tool is a command on PATH, or
# one of present()'s named checks.
test_deps='
python3       python3
redis-server  redis-server
redis-cli     redis-tools
prlimit       util-linux
git           git
curl          curl
node          nodejs
php           php-cli php-curl
php-curl      php-curl
javac         openjdk-17-jdk-headless
chromium      chromium
cjk-font      fonts-wqy-microhei
promtool      prometheus
'
# getcap: scripts/xcaddy-build.sh checks the built binary has no file
# capability. podman, runc, busybox-static: tests/image builds and runs the
# image (docs/operations.md).
ci_deps='
getcap          libcap2-bin
podman          podman
runc            runc
busybox-static  busybox-static
'

present() {
  case $1 in
    php-curl) php -m 2>/dev/null | grep -x curl >/dev/null ;;  # php's curl module (no -q: pipefail and SIGPIPE)
    busybox-static) dpkg-query -W -f '${Status}' busybox-static 2>/dev/null | grep 'ok installed' >/dev/null ;;
    cjk-font) fc-list 2>/dev/null | grep -i 'wenquanyi\|noto sans cjk' >/dev/null ;;  # legible zh-TW screenshots
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

table=$test_deps list=
for arg in "$@"; do
  case $arg in
    ci) table+=$ci_deps ;;
    --list) list=1 ;;
    *) echo "usage: $0 [--list] [ci]" >&2; exit 2 ;;
  esac
done
if [ -n "$list" ]; then
  printf '%s' "$table" | grep .
  exit 0
fi

missing=() pkgs=()
while read -r tool packages; do
  [ -n "$tool" ] || continue
  present "$tool" && continue
  missing+=("$tool")
  for p in $packages; do
    [[ " ${pkgs[*]} " == *" $p "* ]] || pkgs+=("$p")
  done
done <<<"$table"
command -v go >/dev/null 2>&1 || {
  echo "make test needs go: install Go (the version in go.mod) from https://go.dev/dl${missing:+, and ${missing[*]}: apt-get install -y ${pkgs[*]}}" >&2
  exit 1
}
[ ${#missing[@]} -eq 0 ] && exit 0

# Who may install: root, or a sudo that asks no password.
sudo=
if [ "$(id -u)" != 0 ]; then
  sudo=sudo
  command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null || sudo=unavailable
fi
install="${sudo:+sudo }apt-get install -y ${pkgs[*]}"
if [ "$sudo" = unavailable ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "make test needs ${missing[*]}, which cannot be installed from here: run $install" >&2
  exit 1
fi

apt() {
  if [ -n "$sudo" ]; then
    sudo DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600 "$@"
  else
    DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600 "$@"
  fi
}
echo "deps: installing ${pkgs[*]} (for ${missing[*]})" >&2
# The package lists first when they do not know a package (a fresh
# machine has none); once more when a download fails on stale lists.
known=1
for p in "${pkgs[@]}"; do apt-cache show "$p" >/dev/null 2>&1 || known=0; done
[ "$known" = 1 ] || apt update
apt install -y "${pkgs[@]}" || { apt update && apt install -y "${pkgs[@]}"; } || {
  echo "make test needs ${missing[*]}: '$install' failed (its output is above)" >&2
  exit 1
}
still=()
for t in "${missing[@]}"; do present "$t" || still+=("$t"); done
if [ ${#still[@]} -gt 0 ]; then
  echo "make test needs ${still[*]}, still missing after $install" >&2
  exit 1
fi
