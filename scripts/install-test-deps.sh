#!/usr/bin/env bash
# Installs the system tools the test suite uses as real peers: socat (pseudo-terminal pairs for the
# native serialport binding), mbpoll and python3-pymodbus (independent Modbus implementations).
# Runs as `npm test`'s pretest step; does nothing when they are already there.
set -euo pipefail

missing=()
command -v socat >/dev/null 2>&1 || missing+=(socat)
command -v mbpoll >/dev/null 2>&1 || missing+=(mbpoll)
/usr/bin/python3 -c 'import pymodbus' >/dev/null 2>&1 || missing+=(python3-pymodbus)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "mpocert tests: installing ${missing[*]} (Debian packages)"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "mpocert tests need: ${missing[*]}. Install them as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
