#!/bin/bash
# p11-kit registration. `make install DESTDIR=<temp>` must put the module
# (the .so only, exporting the three PKCS#11 entry points) and dmsc.module
# where p11-kit looks (pkg-config's p11_module_path, p11_module_configs).
# p11-kit ignores per-user module configuration for root, so when run as
# root the test switches to the unprivileged user 'nobody' (runuser or
# setpriv) with its own HOME holding ~/.config/pkcs11/modules/dmsc.module
# naming the installed module, and checks that `p11-kit list-modules` shows
# the module and its tokens, that the p11-kit proxy module reaches the
# token, and that the token's PKCS#11 URI (as p11tool prints it, and as
# built from the fields list-modules prints) selects that token and no
# other. The build's dmsc.module is checked when it exists.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

check_module
need_cmd p11-kit
setup_store

RUN_AS=()
if [ "$(id -u)" -eq 0 ]; then
    id nobody >/dev/null 2>&1 || skip "running as root and there is no user 'nobody' to run p11-kit as"
    if command -v runuser >/dev/null 2>&1; then
        RUN_AS=(runuser -u nobody --)
    elif command -v setpriv >/dev/null 2>&1; then
        RUN_AS=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups --)
    else
        skip "running as root, p11-kit ignores per-user config for root, and neither runuser nor setpriv is installed to switch to 'nobody'"
    fi
    OWNER=nobody:$(id -g nobody)
else
    OWNER=
fi

step "the build's dmsc.module (installed by make install)"
if [ -f "${DMSC_BUILDDIR:-}/dmsc.module" ]; then
    grep -Eq '^module: *.*/dmsc-pkcs11\.so *$' "$DMSC_BUILDDIR/dmsc.module" ||
        fail "dmsc.module should name the installed dmsc-pkcs11.so" "$(indent <"$DMSC_BUILDDIR/dmsc.module")"
else
    say "no $DMSC_BUILDDIR/dmsc.module (not built): not checked"
fi

step "make install into a temporary DESTDIR"
MODULE=$DMSC_MODULE
if [ -f "${DMSC_BUILDDIR:-}/Makefile" ] && command -v make >/dev/null 2>&1 && command -v pkg-config >/dev/null 2>&1; then
    dest=$TEST_TMP/destdir
    moddir=$(pkg-config --variable=p11_module_path p11-kit-1)
    confdir=$(pkg-config --variable=p11_module_configs p11-kit-1)
    make -C "$DMSC_BUILDDIR" --no-print-directory install DESTDIR="$dest" >"$TEST_TMP/install.log" 2>&1 ||
        fail "make install DESTDIR=$dest failed" "$(tail -20 "$TEST_TMP/install.log" | indent)"
    [ -f "$dest$moddir/dmsc-pkcs11.so" ] || fail "make install put no dmsc-pkcs11.so in p11-kit's module directory $moddir" \
        "installed:" "$(cd "$dest" && find . -type f | indent)"
    [ ! -e "$dest$moddir/dmsc-pkcs11.la" ] || fail "make install left dmsc-pkcs11.la beside the module (p11-kit would try to load it)"
    grep -qxF "module: $moddir/dmsc-pkcs11.so" "$dest$confdir/dmsc.module" ||
        fail "the installed dmsc.module should say 'module: $moddir/dmsc-pkcs11.so'" "$(indent <"$dest$confdir/dmsc.module")"
    if command -v nm >/dev/null 2>&1; then
        exports=$(nm -D --defined-only "$dest$moddir/dmsc-pkcs11.so" | awk '$2 == "T" { print $3 }' | sort | tr '\n' ' ')
        [ "$exports" = "C_GetFunctionList C_GetInterface C_GetInterfaceList " ] ||
            fail "the installed module should export the three PKCS#11 entry points only" "exported: $exports"
    fi
    # p11-kit loads the module installed (under DESTDIR: the registration
    # names the final path, which this test must not write to).
    MODULE=$dest$moddir/dmsc-pkcs11.so
else
    say "no build tree Makefile (or no make, pkg-config): make install not checked"
fi

# Everything the unprivileged user needs lives under $PK, which that
# user must be able to reach: under /tmp when $TEST_TMP is not reachable.
chmod 755 "$TEST_TMP"
PK=$TEST_TMP/pk
mkdir -p "$PK"
if [ ${#RUN_AS[@]} -gt 0 ] && ! "${RUN_AS[@]}" test -x "$PK"; then
    PK=$(mktemp -d /tmp/dmsc-p11kit.XXXXXX)
    CLEANUP_DIRS+=("$PK")
    say "$TEST_TMP is not reachable by nobody: using $PK"
fi
chmod 755 "$PK"
mkdir -p "$PK/home/.config/pkcs11/modules"

as_user() {
    "${RUN_AS[@]}" env HOME="$PK/home" XDG_CONFIG_HOME="$PK/home/.config" \
        DMSC_STORE="$PK/store" DMSC_CONF="$PK/dmsc.conf" "$@"
}

if [ ${#RUN_AS[@]} -gt 0 ] && ! "${RUN_AS[@]}" test -r "$MODULE"; then
    mkdir -p "$PK/lib"
    cp "$MODULE" "$PK/lib/dmsc-pkcs11.so"
    chmod 755 "$PK/lib"
    chmod 644 "$PK/lib/dmsc-pkcs11.so"
    MODULE=$PK/lib/dmsc-pkcs11.so
    say "the module is not readable by nobody: using a copy at $MODULE"
fi
printf '# dmsc integration test\nmodule: %s\ncritical: yes\n' "$MODULE" >"$PK/home/.config/pkcs11/modules/dmsc.module"
: >"$PK/dmsc.conf"
[ -z "$OWNER" ] || chown -R "$OWNER" "$PK"

step "initialise an application as the unprivileged user"
st=0
out=$(as_user pkcs11-tool --module "$MODULE" -L 2>&1 </dev/null) || st=$?
[ "$st" -eq 0 ] || fail "pkcs11-tool -L as ${RUN_AS[*]:-self}: exit $st" "$(indent <<<"$out")"
slot=$(awk '/^Slot [0-9]+ \(0x[0-9a-fA-F]+\)/ { id = $3; gsub(/[():]/, "", id) }
            /token state: *uninitialized/ { print id; exit }' <<<"$out")
[ -n "$slot" ] || fail "no spare slot on a fresh store" "$(indent <<<"$out")"
out=$(as_user pkcs11-tool --module "$MODULE" --init-token --slot "$slot" --label p11kitapp --so-pin 12345678 2>&1 </dev/null) ||
    fail "--init-token as the unprivileged user failed" "$(indent <<<"$out")"
[ "$(stat -c %a "$PK/store")" = 700 ] || fail "store mode: expected 700, got $(stat -c %a "$PK/store")"
if [ -n "$OWNER" ]; then
    [ "$(stat -c %U "$PK/store")" = nobody ] || fail "the store should belong to nobody, it belongs to $(stat -c %U "$PK/store")"
fi

step "p11-kit list-modules shows the module and its tokens"
st=0
out=$(as_user p11-kit list-modules 2>&1 </dev/null) || st=$?
[ "$st" -eq 0 ] || fail "p11-kit list-modules exited $st" "$(indent <<<"$out")"
grep -qxF "dmsc: $MODULE" <<<"$out" ||
    fail "p11-kit list-modules should list 'dmsc: $MODULE'" "output:" "$(indent <<<"$out")"
section=$(awk '/^[^ ]/ { on = ($0 ~ /^dmsc: /) } on' <<<"$out")
grep -qE '^ +token: p11kitapp$' <<<"$section" ||
    fail "p11-kit list-modules should show the token 'p11kitapp' under dmsc" "dmsc section:" "$(indent <<<"$section")"
[ "$(grep -cE '^ +token:' <<<"$section")" -eq 2 ] ||
    fail "p11-kit list-modules should show 2 tokens under dmsc (p11kitapp + the spare)" "dmsc section:" "$(indent <<<"$section")"
grep -qE '^ +token-initialized$' <<<"$section" ||
    fail "p11-kit list-modules should show p11kitapp as token-initialized" "dmsc section:" "$(indent <<<"$section")"

step "the p11-kit proxy reaches the token"
proxy=$(pkg-config --variable=proxy_module p11-kit-1 2>/dev/null || true)
if [ -n "$proxy" ] && [ -f "$proxy" ]; then
    out=$(as_user pkcs11-tool --module "$proxy" -T 2>&1 </dev/null) ||
        fail "pkcs11-tool -T through the p11-kit proxy failed" "$(indent <<<"$out")"
    grep -qE 'token label *: p11kitapp$' <<<"$out" ||
        fail "the p11-kit proxy ($proxy) should show the token p11kitapp" "output:" "$(indent <<<"$out")"
else
    say "p11-kit proxy module not found: proxy check not run"
fi

step "the token's PKCS#11 URI selects it"
# p11-kit 0.24's list-modules prints a token's fields, not its URI (later
# versions add a "uri:" line): build the URI from them, RFC 7512 style.
pct() { # percent-encode for a pkcs11: URI path attribute value
    local s=$1 out='' c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
        [A-Za-z0-9._~-]) out+=$c ;;
        *) out+=$(printf '%%%02X' "'$c") ;;
        esac
    done
    printf '%s' "$out"
}
app=$(awk '/^ +token: p11kitapp$/ { on = 1; next } /^ +token:/ { on = 0 } on' <<<"$section")
field() { sed -n "s/^ *$1: //p" <<<"$app" | head -1; }
uri=$(sed -n 's/^ *uri: //p' <<<"$app" | head -1)
[ -n "$uri" ] || uri="pkcs11:model=$(pct "$(field model)");manufacturer=$(pct "$(field manufacturer)");serial=$(pct "$(field serial-number)");token=p11kitapp"
say "URI: $uri"
echo "p11-kit URI test" >"$PK/data.txt"
chmod 644 "$PK/data.txt"
out=$(as_user pkcs11-tool --module "$MODULE" --token-label p11kitapp --login --login-type so --so-pin 12345678 \
    --init-pin --new-pin 1234 2>&1 </dev/null) || fail "set the user PIN of p11kitapp" "$(indent <<<"$out")"
out=$(as_user pkcs11-tool --module "$MODULE" --token-label p11kitapp --login --pin 1234 --write-object "$PK/data.txt" \
    --type data --label uri-data 2>&1 </dev/null) || fail "write a data object on p11kitapp" "$(indent <<<"$out")"
command -v p11tool >/dev/null 2>&1 || fail "p11tool is not installed" "install the Debian package gnutls-bin (scripts/bootstrap.sh does)"
out=$(as_user p11tool --list-token-urls 2>&1 </dev/null) || fail "p11tool --list-token-urls failed" "$(indent <<<"$out")"
grep -qxF "$uri" <<<"$out" ||
    fail "p11tool (through p11-kit) should list the token URI built from p11-kit list-modules" \
        "URI: $uri" "p11tool --list-token-urls:" "$(indent <<<"$out")"
out=$(as_user p11tool --list-all "$uri" 2>&1 </dev/null) || fail "p11tool --list-all '$uri' failed" "$(indent <<<"$out")"
grep -qF "$uri;object=uri-data;type=data" <<<"$out" ||
    fail "the URI should select p11kitapp and its data object" "p11tool --list-all:" "$(indent <<<"$out")"
out=$(as_user p11tool --list-all "${uri/token=p11kitapp/token=no-such-token}" 2>&1 </dev/null) || true
if grep -qF "object=uri-data" <<<"$out"; then
    fail "a URI naming another token must not select p11kitapp" "$(indent <<<"$out")"
fi

say "PASS"
