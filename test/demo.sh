#!/bin/sh
# make demo: 3 fake WAX API nodes + 2 fake SHIP nodes, and waxlb on test/demo.cfg (frontend 127.0.0.1:8080).
# WAXLB=path/to/binary overrides ./waxlb (WAXLB=test/haproxy-shim runs the same demo on haproxy).
# Ctrl-C stops everything.
set -u
cd "$(dirname "$0")/.." || exit 1
PY=/usr/bin/python3
LB=${WAXLB:-./waxlb}
TMP=$(mktemp -d /tmp/waxlb-demo.XXXXXX)
NODES_PID=
LB_PID=

cleanup() {
	trap - INT TERM EXIT
	[ -n "$LB_PID" ] && kill "$LB_PID" 2>/dev/null
	[ -n "$NODES_PID" ] && kill $NODES_PID 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TMP"
	echo
	echo "demo stopped"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ ! -x "$LB" ]; then
	echo "demo: $LB is not built (run make first)" >&2
	exit 1
fi

# is the demo's frontend port free?
if $PY -c 'import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(("127.0.0.1",8080))!=0)'; then
	echo "demo: something already listens on 127.0.0.1:8080" >&2
	exit 1
fi

# one process per node, so that one node can be stopped to watch the health checks
for spec in api:wax-pn-1:18881 api:wax-pn-2:18882 api:wax-pn-3:18883 \
	ship:wax-state-history-1:18891 ship:wax-state-history-2:18892; do
	name=${spec#*:}
	name=${name%%:*}
	$PY test/fakenodes.py "$spec" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	NODES_PID="$NODES_PID $!"
	echo "$! $spec" >>"$TMP/pids"
done
for spec in $(cut -d' ' -f2 "$TMP/pids"); do
	name=${spec#*:}
	name=${name%%:*}
	i=0
	until grep -q '^ready' "$TMP/$name.out" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			echo "demo: fake node $spec did not start:" >&2
			cat "$TMP/$name.err" >&2
			exit 1
		fi
		sleep 0.1
	done
done
echo "fake nodes: API on 127.0.0.1:18881-18883, SHIP on 127.0.0.1:18891-18892"

"$LB" -f test/demo.cfg &
LB_PID=$!
i=0
until $PY -c 'import socket; socket.create_connection(("127.0.0.1",8080),0.5).close()' 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$LB_PID" 2>/dev/null; then
		echo "demo: $LB did not start on test/demo.cfg" >&2
		exit 1
	fi
	sleep 0.1
done

cat <<EOT

$LB is listening on 127.0.0.1:8080 (config: test/demo.cfg, pid $LB_PID). Try, in another terminal:

  # nodeos API (routed by Host + path; the X-Node header says which node answered, weights 1:1:4)
  curl -si -H 'Host: wax.eosphere.io' http://127.0.0.1:8080/v1/chain/get_info

  # State-History websocket (routed by Connection: upgrade + Upgrade: websocket, leastconn)
  $PY test/ship_client.py ws://127.0.0.1:8080/ --count 3

  # the same as a one-liner: ABI length and the raw get_status result
  $PY -c 'import asyncio,websockets
async def m():
    async with websockets.connect("ws://127.0.0.1:8080/",max_size=None,compression=None) as w:
        print("ABI", len(await w.recv())); await w.send(b"\0"); print((await w.recv()).hex())
asyncio.run(m())'

  # no route: 503 from the proxy
  curl -si -H 'Host: example.com' http://127.0.0.1:8080/v1/chain/get_info

Health checks: stop one node and watch its DOWN line below (and UP again after you restart it):
$(while read -r pid spec; do echo "  kill $pid    # $spec"; done <"$TMP/pids")
  $PY test/fakenodes.py api:wax-pn-2:18882 &    # restart one
Ctrl-C stops everything.

EOT
wait "$LB_PID"
echo "demo: $LB exited" >&2
