#!/bin/bash
# mkcerts.sh - a test CA and one certificate per node of a cluster file.
#
#   tests/mkcerts.sh CLUSTER_FILE DIR [NAME ...]
#
# Writes into DIR (created, mode 0700): ca.crt and ca.key (reused when
# present, so nodes can be added later), and NAME.crt + NAME.key for the
# coordinator, every participant, 'client' (the twopc command and the
# client library) and each extra NAME. Keys are EC P-256, mode 0600. Each
# certificate is issued to its node name (subject CN and DNS
# subjectAltName), which is what a twopc dialer checks, wherever the node
# runs; valid for server and client authentication (mutual TLS).
# Beside each certificate an X25519 key pair for the MAC every message
# carries (twopc(7), SECURITY CONSIDERATIONS): NAME.kx.sec (0600) and
# NAME.kx.pub, 64 hex digits each; kept when both are present, so that
# running nodes keep their keys. A machine needs its own NAME.kx.sec and
# every other name's NAME.kx.pub.
# Point the cluster file at it with
#   tls:
#     ca: DIR/ca.crt
#     dir: DIR
# For tests and demos: a production CA keeps ca.key elsewhere.
set -euo pipefail

if [ $# -lt 2 ]; then
	echo "usage: $0 CLUSTER_FILE DIR [NAME ...]" >&2
	exit 2
fi
file=$1 dir=$2
shift 2
[ -r "$file" ] || { echo "$0: cannot read $file" >&2; exit 2; }
names=$(awk '/^[[:space:]]*(-[[:space:]]+)?name:[[:space:]]*/ {
	sub(/^[[:space:]]*(-[[:space:]]+)?name:[[:space:]]*/, ""); sub(/[[:space:]]*#.*/, "");
	gsub(/["'\''[:space:]]/, ""); if ($0 != "") print }' "$file")
[ -n "$names" ] || { echo "$0: no node names in $file" >&2; exit 2; }

umask 077
mkdir -p "$dir"
chmod 700 "$dir"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
if [ ! -s "$dir/ca.crt" ] || [ ! -s "$dir/ca.key" ]; then
	openssl req -x509 "${ec[@]}" -keyout "$dir/ca.key" -out "$dir/ca.crt" -days 3650 \
	    -subj "/CN=twopc test CA $(date +%s)-$$" \
	    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	    2>/dev/null
fi
ext=$(mktemp)
trap 'rm -f "$ext" "$dir"/*.csr "$dir"/*.kx.pem' EXIT
for n in $names client "$@"; do
	printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:%s\n' "$n" >"$ext"
	openssl req "${ec[@]}" -keyout "$dir/$n.key" -out "$dir/$n.csr" -subj "/CN=$n" 2>/dev/null
	openssl x509 -req -in "$dir/$n.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
	    -CAcreateserial -days 825 -extfile "$ext" -out "$dir/$n.crt" 2>/dev/null
	chmod 600 "$dir/$n.key"
	chmod 644 "$dir/$n.crt"
	if [ ! -s "$dir/$n.kx.sec" ] || [ ! -s "$dir/$n.kx.pub" ]; then
		openssl genpkey -algorithm X25519 -out "$dir/$n.kx.pem" 2>/dev/null
		# The raw key is the last 32 bytes of each DER form.
		openssl pkey -in "$dir/$n.kx.pem" -outform DER 2>/dev/null | tail -c 32 |
		    od -An -v -tx1 | tr -d ' \n' >"$dir/$n.kx.sec"
		openssl pkey -in "$dir/$n.kx.pem" -pubout -outform DER 2>/dev/null | tail -c 32 |
		    od -An -v -tx1 | tr -d ' \n' >"$dir/$n.kx.pub"
		echo >>"$dir/$n.kx.sec"
		echo >>"$dir/$n.kx.pub"
		rm -f "$dir/$n.kx.pem"
		chmod 600 "$dir/$n.kx.sec"
		chmod 644 "$dir/$n.kx.pub"
	fi
done
chmod 644 "$dir/ca.crt"
echo "$dir: CA ca.crt; certificates and message keys for $(echo $names client "$@" | tr '\n' ' ')"
