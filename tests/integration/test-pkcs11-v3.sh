#!/bin/bash
# The PKCS#11 3.0 interface as tools see it: the module exports exactly
# C_GetFunctionList, C_GetInterfaceList and C_GetInterface (nm -D);
# `pkcs11-tool --list-interfaces` shows "PKCS 11" 3.0 and 2.40;
# pkcs11-tool (OpenSC 0.23 prefers C_GetInterface) reports Cryptoki 3.0
# and works through the 3.0 list.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

check_module
need_cmd nm
setup_store

step "the module's dynamic symbols: the three PKCS#11 entry points, nothing else"
exports=$(nm -D --defined-only "$DMSC_MODULE" | awk '$2 == "T" { print $3 }' | sort | tr '\n' ' ')
[ "$exports" = "C_GetFunctionList C_GetInterface C_GetInterfaceList " ] ||
    fail "the module should export C_GetFunctionList, C_GetInterface and C_GetInterfaceList only" \
        "exported functions: $exports"

step "pkcs11-tool --list-interfaces"
p11_ok "list interfaces" --list-interfaces
# Each interface is printed as "Interface 'NAME'" then "  version: M.m".
found=$(awk '/^Interface / { name = $0; sub(/^Interface /, "", name) }
             /^ *version:/ { print name, $2 }' <<<"$OUT")
[ "$found" = "'PKCS 11' 3.0
'PKCS 11' 2.40" ] || fail "expected the interfaces 'PKCS 11' 3.0 then 'PKCS 11' 2.40" \
    "found:" "$(indent <<<"$found")" "output:" "$(indent <<<"$OUT")"
grep -q 'flags=0x0$' <<<"$OUT" || fail "the interfaces should have no flags (not fork-safe)" "$(indent <<<"$OUT")"

step "pkcs11-tool uses the 3.0 interface"
p11_ok "module info (-I)" -I
out_has "Cryptoki version 3.0" "pkcs11-tool -I through C_GetInterface"
init_app v3app 12345678 1234
p11_ok "random bytes through the 3.0 list" --token-label v3app --generate-random 16 --output-file "$TEST_TMP/rnd"
[ "$(stat -c %s "$TEST_TMP/rnd")" -eq 16 ] || fail "expected 16 random bytes"

say "PASS"
