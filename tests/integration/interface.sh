#!/usr/bin/env bash
# Integration test: the `interface` feature.
#
# On the host: lo is there with 127.0.0.1/8, MTU 65536, flags up and
# loopback; the list of interfaces is `ip link`'s; counters never go down
# between two crawls and match `ip -s link` taken around the crawl.
# In a network namespace made here (so the host's network is untouched):
# a veth pair with a known MAC, MTU and addresses appears with exactly
# those, and the packets sent through it show in its counters.
source "$(dirname "$0")/lib.sh"

jqt() { jq -e "$@" >/dev/null; }
# recs FILE: the interface records' values keyed by name
recs() { tail -n +2 "$1" | jq -s 'map(select(.feature == "interface") | {(.key): .value}) | add // {}'; }

# ---- the host ------------------------------------------------------------
ip -s -j link >"$TMP/ip1.json"
$VANTAGE crawl --features interface >"$TMP/c1.json" 2>"$TMP/err"
check_eq "crawl exits 0" 0 $?
ip -s -j link >"$TMP/ip2.json"
recs "$TMP/c1.json" >"$TMP/r1.json"

check_eq "header lists the interface feature" '["interface"]' "$(head -1 "$TMP/c1.json" | jq -c .value.features)"
check_eq "no errors in the header" 0 "$(head -1 "$TMP/c1.json" | jq '.value.errors.interface')"
check "lo is present" jqt '.lo' "$TMP/r1.json"
check "lo has 127.0.0.1/8" jqt '.lo.addresses | index("127.0.0.1/8")' "$TMP/r1.json"
check_eq "lo mtu" 65536 "$(jq .lo.mtu "$TMP/r1.json")"
check "lo flags include up and loopback" jqt '.lo.flags | index("up") and index("loopback")' "$TMP/r1.json"
check_eq "lo index" "$(jq '.[] | select(.ifname == "lo") | .ifindex' "$TMP/ip1.json")" "$(jq .lo.index "$TMP/r1.json")"
check "every record has every field" jqt '[.[] | keys] | all(. == (["addresses","flags","index","mac","mtu","name",
	"rx_bytes","rx_dropped","rx_errors","rx_packets","tx_bytes","tx_dropped","tx_errors","tx_packets"]))' "$TMP/r1.json"
check_eq "the interfaces are ip link's" "$(jq -r '.[].ifname' "$TMP/ip1.json" | sort | tr '\n' ' ')" \
	"$(jq -r 'keys[]' "$TMP/r1.json" | sort | tr '\n' ' ')"

# Each counter lies between ip's readings before and after the crawl.
# in_range IP_BEFORE IP_AFTER OURS: the counters out of ip's range, as a
# JSON array ([] when all are in range).
in_range() {
	jq -nc --slurpfile a "$1" --slurpfile b "$2" --slurpfile o "$3" '
	[ $a[0][] as $x | ($b[0][] | select(.ifname == $x.ifname)) as $y | ($o[0][$x.ifname] // empty) as $v |
	  ("rx","tx") as $d | ("bytes","packets","errors","dropped") as $f |
	  select($v["\($d)_\($f)"] < $x.stats64[$d][$f] or $v["\($d)_\($f)"] > $y.stats64[$d][$f]) |
	  "\($x.ifname) \($d)_\($f)" ]'
}
check_eq "counters are between ip -s link's before and after" '[]' \
	"$(in_range "$TMP/ip1.json" "$TMP/ip2.json" "$TMP/r1.json")"

# Traffic on lo, then a second crawl: nothing goes down, lo goes up.
for _ in 1 2 3; do echo x 2>/dev/null >/dev/udp/127.0.0.1/9 || true; done
$VANTAGE crawl --features interface >"$TMP/c2.json" 2>/dev/null
recs "$TMP/c2.json" >"$TMP/r2.json"
down=$(jq -n --slurpfile a "$TMP/r1.json" --slurpfile b "$TMP/r2.json" '
	[ $a[0] | to_entries[] | .key as $n | .value as $v | ($b[0][$n] // empty) as $w |
	  $v | to_entries[] | select(.key | test("^(rx|tx)_")) | select($w[.key] < .value) | "\($n) \(.key)" ]')
check_eq "counters never go down between crawls" '[]' "$(jq -c . <<<"$down")"
check "lo tx_packets grew with the traffic" \
	[ "$(jq .lo.tx_packets "$TMP/r2.json")" -gt "$(jq .lo.tx_packets "$TMP/r1.json")" ]

# ---- the reference crawler's layout ----------------------------------------
$VANTAGE crawl --features interface --format crawler >"$TMP/crawler" 2>/dev/null
line=$(grep -P '^interface\t"interface-lo"\t' "$TMP/crawler")
check "crawler layout keys lo as interface-lo" [ -n "$line" ]
check_eq "crawler layout value" 65536 "$(cut -f3 <<<"$line" | jq .mtu)"

# ---- a veth pair in a namespace of our own -----------------------------------
NS=vt-if-$$
if ip netns add "$NS" 2>/dev/null; then
	on_exit "ip netns del $NS"
	ip -n "$NS" link add vt-a type veth peer name vt-b &&
	ip -n "$NS" link set vt-a address 02:00:5e:10:20:30 mtu 1400 &&
	ip -n "$NS" addr add 198.51.100.7/24 dev vt-a &&
	ip -n "$NS" addr add fdaa:1::7/64 dev vt-a nodad &&
	ip -n "$NS" link set vt-a up && ip -n "$NS" link set vt-b up
	check_eq "veth pair set up" 0 $?
	# An ARP request out of vt-a, into vt-b: traffic inside the namespace.
	ip netns exec "$NS" bash -c 'echo x >/dev/udp/198.51.100.8/9' 2>/dev/null || true
	sleep 0.2
	ip -n "$NS" -s -j link >"$TMP/nip1.json"
	ip netns exec "$NS" "$VANTAGE" crawl --features interface >"$TMP/ns.json" 2>/dev/null
	check_eq "crawl in the namespace exits 0" 0 $?
	ip -n "$NS" -s -j link >"$TMP/nip2.json"
	recs "$TMP/ns.json" >"$TMP/rn.json"
	check_eq "the namespace's interfaces" "lo vt-a vt-b" "$(jq -r 'keys[]' "$TMP/rn.json" | sort | tr '\n' ' ' | sed 's/ $//')"
	check_eq "vt-a mac" "02:00:5e:10:20:30" "$(jq -r '."vt-a".mac' "$TMP/rn.json")"
	check_eq "vt-a mtu" 1400 "$(jq '."vt-a".mtu' "$TMP/rn.json")"
	check_eq "vt-a index" "$(ip -n "$NS" -j link show vt-a | jq '.[0].ifindex')" "$(jq '."vt-a".index' "$TMP/rn.json")"
	check "vt-a flags include up, broadcast, multicast" \
		jqt '."vt-a".flags | index("up") and index("broadcast") and index("multicast")' "$TMP/rn.json"
	check "vt-a has 198.51.100.7/24 and fdaa:1::7/64" \
		jqt '."vt-a".addresses | index("198.51.100.7/24") and index("fdaa:1::7/64")' "$TMP/rn.json"
	check "vt-a has no address of the host" jqt '."vt-a".addresses | all(. != "127.0.0.1/8")' "$TMP/rn.json"
	check "lo of a new namespace is down" jqt '.lo.flags | index("up") | not' "$TMP/rn.json"
	check "vt-a sent and vt-b received packets" \
		jqt '."vt-a".tx_packets > 0 and ."vt-b".rx_packets > 0 and ."vt-a".tx_bytes > 0' "$TMP/rn.json"
	check_eq "veth counters are between ip -s link's before and after" '[]' \
		"$(in_range "$TMP/nip1.json" "$TMP/nip2.json" "$TMP/rn.json")"
else
	ok "veth pair in a namespace # SKIP cannot create a network namespace"
fi
