#!/usr/bin/env bash
# Proves that each third-party peer of the test suite starts and answers, not only that it is
# installed: a socat pty pair appears; python3-pymodbus serves a register over Modbus TCP and over
# RTU on a socat pty, and Debian's mbpoll reads the value back from both. Prints one line per peer;
# exits non-zero naming the peer that failed and what it printed.
set -uo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
pids=()
pg_dir=""   # the private PostgreSQL cluster's directory, once the check below creates it
pg_bin=""
as_pg() { # runs a PostgreSQL program as the cluster's owner: the postgres user when root
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  if [ -n "$pg_dir" ]; then
    [ -f "$pg_dir/data/postmaster.pid" ] && as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w stop >/dev/null 2>&1
    rm -rf "$pg_dir"
  fi
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "mpocert tests: peer check failed: $1" >&2
  [ -n "${2:-}" ] && [ -s "$2" ] && sed 's/^/  | /' "$2" | tail -n 8 >&2
  exit 1
}

wait_for() { # wait_for <seconds> <test command...>
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.1
  done
}

# socat: a pseudo-terminal pair with stable link names.
socat "pty,raw,echo=0,link=$work/a" "pty,raw,echo=0,link=$work/b" 2>"$work/socat.err" &
pids+=($!)
wait_for 5 test -e "$work/b" || fail "socat did not create a pty pair" "$work/socat.err"
echo "peer ok: socat $(socat -V 2>/dev/null | sed -n 's/^socat version \([^ ]*\).*/\1/p') (pty pair)"

free_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
registers='{"input": {"0": 12}}'

# python3-pymodbus over Modbus TCP, read by mbpoll (input register 1 = protocol address 0).
/usr/bin/python3 test/helpers/pymodbus-server.py "$free_port" "$registers" >"$work/tcp.out" 2>"$work/tcp.err" &
pids+=($!)
tcp_pid=$!
started() { grep -q READY "$1" || ! kill -0 "$2" 2>/dev/null; }
wait_for 10 started "$work/tcp.out" "$tcp_pid" && grep -q READY "$work/tcp.out" || fail "python3-pymodbus (Modbus TCP) did not start" "$work/tcp.err"
read_tcp() { mbpoll -m tcp -p "$free_port" -a 1 -t 3 -r 1 -c 1 -1 127.0.0.1 >"$work/mbpoll-tcp.out" 2>&1 && grep -Eq '^\[1\]:[[:space:]]+12$' "$work/mbpoll-tcp.out"; }
if ! wait_for 10 read_tcp; then
  kill -0 "$tcp_pid" 2>/dev/null || fail "python3-pymodbus (Modbus TCP) exited" "$work/tcp.err"
  fail "mbpoll could not read register 1 = 12 from python3-pymodbus over Modbus TCP" "$work/mbpoll-tcp.out"
fi
echo "peer ok: python3-pymodbus $(/usr/bin/python3 -c 'import pymodbus; print(pymodbus.__version__)') (Modbus TCP), mbpoll read it"

# python3-pymodbus over Modbus RTU (needs pyserial) on one end of the pty pair, mbpoll on the other.
/usr/bin/python3 test/helpers/pymodbus-server.py --rtu "$work/a" "$registers" 1 >"$work/rtu.out" 2>"$work/rtu.err" &
pids+=($!)
rtu_pid=$!
wait_for 10 started "$work/rtu.out" "$rtu_pid" && grep -q READY "$work/rtu.out" || fail "python3-pymodbus (Modbus RTU) did not start" "$work/rtu.err"
read_rtu() { mbpoll -m rtu -b 19200 -P none -d 8 -s 1 -a 1 -t 3 -r 1 -c 1 -1 -o 0.5 "$work/b" >"$work/mbpoll-rtu.out" 2>&1 && grep -Eq '^\[1\]:[[:space:]]+12$' "$work/mbpoll-rtu.out"; }
if ! wait_for 10 read_rtu; then
  kill -0 "$rtu_pid" 2>/dev/null || fail "python3-pymodbus (Modbus RTU) exited" "$work/rtu.err"
  fail "mbpoll could not read register 1 = 12 from python3-pymodbus over Modbus RTU on a pty" "$work/mbpoll-rtu.out"
fi
echo "peer ok: python3-pymodbus with python3-serial $(/usr/bin/python3 -c 'import serial; print(serial.__version__)') (Modbus RTU on a pty), mbpoll read it"

# chromium, driven by playwright-core as the console's browser tests drive it: a page is rendered
# and read back (proves the binary, its libraries and a font are there, with no network).
node --input-type=module -e '
  import { chromium } from "playwright-core";
  const b = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
  const p = await b.newPage();
  await p.setContent("<p id=x>peer</p>");
  const text = await p.textContent("#x");
  console.log(text === "peer" ? `peer ok: chromium ${b.version()} (playwright-core rendered a page)` : "chromium rendered nothing");
  await b.close();
  if (text !== "peer") process.exit(1);
' >"$work/chromium.out" 2>&1 || fail "chromium did not start under playwright-core" "$work/chromium.out"
cat "$work/chromium.out"

# pdftotext (poppler-utils) reads a PDF back to text.
printf '%%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj 3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>endobj 4 0 obj<</Length 35>>stream\nBT /F1 12 Tf 10 50 Td (peer) Tj ET\nendstream endobj 5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\ntrailer<</Root 1 0 R>>\n%%%%EOF\n' >"$work/peer.pdf"
pdftotext "$work/peer.pdf" - 2>"$work/pdftotext.err" | grep -q peer || fail "pdftotext could not read a PDF" "$work/pdftotext.err"
echo "peer ok: pdftotext $(pdftotext -v 2>&1 | sed -n 's/^pdftotext version //p') (read a PDF back)"

# postgresql: a private cluster, started as test/helpers/postgres.ts starts it: initdb in a temporary
# directory owned by the postgres user, pg_ctl start on a free loopback port with its socket in that
# directory (never Debian's cluster on 5432), psql runs SELECT 1, and a fast shutdown.
pg_bin=$(compgen -G '/usr/lib/postgresql/*/bin' | sort -V | tail -n 1)
[ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || fail "postgresql: no server under /usr/lib/postgresql/*/bin (Debian's postgresql is not installed)"
pg_dir=$(mktemp -d)   # its own directory: $work is private to root, the postgres user cannot enter it
[ "$(id -u)" -eq 0 ] && chown postgres "$pg_dir"
(cd "$pg_dir" && as_pg "$pg_bin/initdb" -D "$pg_dir/data" -U postgres -A trust --no-sync -E UTF8 --locale=C) >"$work/initdb.out" 2>&1 \
  || fail "postgresql: initdb of a private cluster in $pg_dir failed" "$work/initdb.out"
pg_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$pg_dir" && as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w -t 30 \
  -o "-p $pg_port -k '$pg_dir' -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start) >"$work/pg_ctl.out" 2>&1 \
  || { cat "$pg_dir/log" >>"$work/pg_ctl.out" 2>/dev/null; fail "postgresql: a private cluster did not start on port $pg_port" "$work/pg_ctl.out"; }
"$pg_bin/psql" -X -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -Atc 'SELECT 1' >"$work/psql.out" 2>&1 && [ "$(cat "$work/psql.out")" = 1 ] \
  || { cat "$pg_dir/log" >>"$work/psql.out" 2>/dev/null; fail "postgresql: psql could not run SELECT 1 on the private cluster (port $pg_port)" "$work/psql.out"; }
(cd "$pg_dir" && as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w -t 30 stop) >"$work/pg_stop.out" 2>&1 \
  || { cat "$pg_dir/log" >>"$work/pg_stop.out" 2>/dev/null; fail "postgresql: the private cluster (port $pg_port) did not stop" "$work/pg_stop.out"; }
echo "peer ok: postgresql $("$pg_bin/postgres" --version | sed -n 's/^postgres (PostgreSQL) \([^ ]*\).*/\1/p') (private cluster on a free port)"
