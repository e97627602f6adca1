#!/usr/bin/env bash
# Installs the system tools the test suite uses as real peers, then proves each one starts:
#   socat             pseudo-terminal pairs for the native serialport binding
#   mbpoll            an independent Modbus master (reads our simulator)
#   python3-pymodbus  an independent Modbus server; its server module imports pyserial and
#   python3-serial    serial_asyncio, which `--no-install-recommends` does not bring (they are only
#   python3-serial-asyncio  "Recommends"), so they are named here explicitly
#   chromium          the real browser the console's end-to-end tests drive (playwright-core;
#                     never a browser download: factories and CI are offline)
#   poppler-utils     pdftotext, which reads back the PDFs the daemon generates
#   fonts-dejavu-core a font for chromium to render text with (it only Recommends fonts)
#   postgresql        the central store's tests run a private cluster of it (test/helpers/postgres.ts:
#                     initdb in a temporary directory, a free port, started and stopped by the tests
#                     as the `postgres` user). Installing the package on Debian may also create and
#                     start Debian's default cluster "main" on port 5432; that does not matter, nothing
#                     here starts or stops it and the tests never use it (their ports are ephemeral
#                     ones, their sockets in their own directories)
# Runs as `npm test`'s pretest step. Installing needs root (or sudo); the start-up checks always run,
# so a peer that is installed but cannot start fails here, by name, not later as a puzzling test.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v socat >/dev/null 2>&1 || missing+=(socat)
command -v mbpoll >/dev/null 2>&1 || missing+=(mbpoll)
/usr/bin/python3 -c 'import pymodbus' >/dev/null 2>&1 || missing+=(python3-pymodbus)
/usr/bin/python3 -c 'import serial' >/dev/null 2>&1 || missing+=(python3-serial)
/usr/bin/python3 -c 'import serial_asyncio' >/dev/null 2>&1 || missing+=(python3-serial-asyncio)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
# the server binaries land in /usr/lib/postgresql/<major>/bin, not on PATH
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)

if [ ${#missing[@]} -gt 0 ]; then
  echo "mpocert tests: installing ${missing[*]} (Debian packages)"
  if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
  elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "mpocert tests need: ${missing[*]}. Install them as root: apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

exec bash scripts/check-test-peers.sh
