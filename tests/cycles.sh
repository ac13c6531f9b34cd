#!/usr/bin/env bash
# tests/cycles.sh - the production sources form layers: no file-level
# include cycle and no file-level call cycle between them.
#
#   bash tests/cycles.sh [BUILD]
#
# Files: the .c and .h files of common/, config/, coordinator/ and
# participant/ (not their subfolders: public headers, examples).
# Includes: FILE includes "NAME" gives an edge to every listed file whose
# name is NAME. Calls: the objects BUILD/obj/DIR/FILE.o (default BUILD:
# build, after make); an object that needs a symbol (nm: U) another one
# defines (T, D, B, R) gives an edge between their .c files. A cycle is
# reported as "  a.c -> b.c -> a.c" (at least one per cycle; a file's
# calls to itself do not count). Prints one line "layering: ..." and
# exits 1 if a cycle was found or a source has no object. Needs only
# bash, nm and awk.
set -u
build=${1:-build}
dirs="common config coordinator participant"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/twopc-cycles.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

for d in $dirs; do
	for f in "$d"/*.c "$d"/*.h; do [ -f "$f" ] && echo "$f"; done
done | sort >"$tmp/files"

# Include edges "FROM TO".
awk 'NR == FNR { n = $0; sub(/.*\//, "", n); path[n] = path[n] " " $0; list = list " " $0; next }
	END { k = split(list, f, " ")
		for (i = 1; i <= k; i++)
			while ((getline line <f[i]) > 0) {
				if (line !~ /^[ \t]*#[ \t]*include[ \t]*"/)
					continue
				sub(/^[^"]*"/, "", line); sub(/".*/, "", line); sub(/.*\//, "", line)
				m = split(path[line], p, " ")
				for (j = 1; j <= m; j++) if (p[j] != f[i]) print f[i], p[j]
			} } ' "$tmp/files" | sort -u >"$tmp/inc"

# Call edges "FROM TO", from the objects' symbol tables.
missing=0
: >"$tmp/calls"
: >"$tmp/objs"
for src in $(grep '\.c$' "$tmp/files"); do
	o="$build/obj/${src%.c}.o"
	if [ -f "$o" ]; then
		echo "$o" >>"$tmp/objs"
	else
		echo "layering: no object for $src ($o): build first (make)"
		missing=$((missing + 1))
	fi
done
nobj=$(wc -l <"$tmp/objs")
[ "$nobj" -gt 0 ] && xargs nm -A <"$tmp/objs" | awk -v pre="$build/obj/" '
	{ src = $1; sub(/:.*/, "", src); sub(/\.o$/, ".c", src); src = substr(src, length(pre) + 1) }
	NF == 3 && $2 ~ /^[TDBR]$/ && !($3 in def) { def[$3] = src }
	NF == 3 && $2 == "U" { use[++n] = src " " $3 }
	END { for (i = 1; i <= n; i++) { split(use[i], u, " ")
		if ((u[2] in def) && def[u[2]] != u[1]) print u[1], def[u[2]] } }' |
	sort -u >"$tmp/calls"

# Cycles: a depth-first search; an edge back to a file on the path closes one.
cycles() {
	awk '
	function dfs(u,    i, j, v, c) {
		state[u] = 1; path[++depth] = u; at[u] = depth
		for (i = 1; i <= nadj[u]; i++) {
			v = adj[u, i]
			if ((v in state) && state[v] == 1) {
				c = ""
				for (j = at[v]; j <= depth; j++) c = c path[j] " -> "
				print "  " c v; found++
			} else if (!(v in state))
				dfs(v)
		}
		depth--; state[u] = 2
	}
	{ if (!($1 in nadj)) { nadj[$1] = 0; node[++nn] = $1 }
	  adj[$1, ++nadj[$1]] = $2 }
	END { for (k = 1; k <= nn; k++) if (!(node[k] in state)) dfs(node[k])
	      exit found > 0 }' "$1"
}
cycles "$tmp/inc" >"$tmp/inc.cyc"
cycles "$tmp/calls" >"$tmp/calls.cyc"
ninc=$(wc -l <"$tmp/inc.cyc") ncall=$(wc -l <"$tmp/calls.cyc")
[ "$ninc" -gt 0 ] && { echo "include cycles:"; cat "$tmp/inc.cyc"; }
[ "$ncall" -gt 0 ] && { echo "call cycles between .c files:"; cat "$tmp/calls.cyc"; }
echo "layering: $(wc -l <"$tmp/files") files, $ninc include cycles;" \
	"$nobj objects, $(wc -l <"$tmp/calls") calls between files, $ncall call cycles"
[ "$ninc" -eq 0 ] && [ "$ncall" -eq 0 ] && [ "$missing" -eq 0 ] && [ "$nobj" -gt 0 ]
