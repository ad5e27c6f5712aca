#!/bin/bash
# DM 1.2 session security through the built module (<dmsc/pkcs11-dm.h>),
# driven by p11-dmsec-driver; every expected value is computed here, at
# test time, by the openssl command (with base64 and xxd) from the formulas
# of dm-ext/DMSEC.md, never by dmsc code:
#  - CKM_DMSC_SYNCML_AUTH_MD5 (syncml:auth-md5): the SyncML example
#    credential (Bruce2 / OhBehave / Nonce), random users, passwords and
#    binary nonces; verify takes the 24 characters and the 22 without "==",
#    refuses a changed one (CKR_SIGNATURE_INVALID) and another length
#    (CKR_SIGNATURE_LEN_RANGE); data is CKR_DATA_LEN_RANGE; parameter limits
#  - CKM_DMSC_SYNCML_HMAC_MD5 (x-syncml-hmac) over the DM message
#    dm-ext/vectors/dm12-replace.xml and .wbxml, one-shot and in several
#    chunk sizes; verify right / wrong
#  - CKM_DMSC_BOOTSTRAP_HMAC_SHA1 with the card's NETWORKID key: the IMSI is
#    read from the card file, its semi-octet key made here in bash, the MAC
#    over dm-ext/vectors/dm12-bootstrap.wbxml made with openssl for SEC 0,
#    1 and 2 and verified in upper and lower case; another IMSI, PIN or
#    message byte is CKR_SIGNATURE_INVALID; bad SEC / PIN combinations are
#    CKR_MECHANISM_PARAM_INVALID; verify only; the NETWORKID key serves no
#    other mechanism, never shows its value, and only the card's first
#    application (the DM application) has it
#  - the DM credential never comes out: its CKA_VALUE is unreadable (token
#    and session objects) and is not in the store's files in clear
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

check_module
need_cmd openssl base64 xxd sqlite3 cmp
setup_store

DMSEC=${P11_DMSEC_DRIVER:-${DMSC_BUILDDIR:-.}/tests/integration/p11-dmsec-driver}
[ -x "$DMSEC" ] || fail "p11-dmsec-driver not found at $DMSEC" \
    "build it (make check builds it) or set P11_DMSEC_DRIVER=/path/to/p11-dmsec-driver"
V=${DMSC_SRCDIR:-.}/dm-ext/vectors
for f in dm12-replace.xml dm12-replace.wbxml dm12-bootstrap.wbxml; do
    [ -f "$V/$f" ] || fail "the DM message vector $V/$f is missing"
done

SO=12345678
PIN=1234
# The vendor mechanisms and one plain one.
M_AUTH=0xC44D0100
M_HMAC=0xC44D0101
M_BOOT=0xC44D0110
M_SHA1_HMAC=0x221

CHECKS=0
APP=app1

# ------------------------------------------------------------ helpers

# drive PIN ARGS...: p11-dmsec-driver on token $APP (PIN "-": no login);
# sets DOUT (its stdout) and DRC (0 all calls succeeded, 1 one failed).
# A setup error, crash or hang fails the test.
DOUT=
DRC=0
drive() {
    local pin=$1
    shift
    DRC=0
    DOUT=$(timeout -k 5 "$P11_TIMEOUT" "$DMSEC" "$APP" "$pin" "$@" 2>"$TEST_TMP/dmsec.err" </dev/null) || DRC=$?
    if [ "$DRC" -gt 1 ]; then
        fail "p11-dmsec-driver exited $DRC (setup error, crash or hang)" \
            "command: p11-dmsec-driver $APP $pin $*" "stdout:" "$(indent <<<"$DOUT")" \
            "stderr:" "$(indent <"$TEST_TMP/dmsec.err")"
    fi
}

# expect WHAT PATTERN PIN ARGS...: the driver's output must match PATTERN
# (a glob; several lines for several commands). An expected failure is
# written "error: C_Xxx: CKR_NAME" and must make the driver exit 1; else
# it must exit 0.
expect() {
    local what=$1 want=$2 pin=$3 st=0
    shift 3
    drive "$pin" "$@"
    CHECKS=$((CHECKS + 1))
    [[ $want == *"error: "* ]] && st=1
    # shellcheck disable=SC2053 # PATTERN is a glob on purpose
    if [[ $DOUT != $want ]] || [ "$DRC" -ne "$st" ]; then
        fail "$what" "expected:" "$(indent <<<"$want")" "got (exit $DRC):" "$(indent <<<"$DOUT")" \
            "command: p11-dmsec-driver $APP $pin $*"
    fi
}

# same WHAT EXPECTED GOT
same() {
    CHECKS=$((CHECKS + 1))
    [ "$2" = "$3" ] || fail "$1" "expected: $2" "got:      $3"
}

tohex() { xxd -p | tr -d '\n'; }
rand_hex() { [ "$1" -eq 0 ] || openssl rand -hex "$1"; } # N bytes (openssl refuses 0)
unhex() { printf '%s' "$1" | xxd -r -p; }
b64md5() { openssl dgst -md5 -binary | base64 -w0; }

# The openssl values. Users and nonces as the driver takes them: the user
# as text, the secret and the nonce in hex.
auth_md5() { # USER SECRETHEX NONCEHEX
    local a
    a=$({ printf '%s:' "$1"; unhex "$2"; } | b64md5)
    { printf '%s:' "$a"; unhex "$3"; } | b64md5
}
syncml_hmac() { # USER SECRETHEX NONCEHEX FILE
    local a b
    a=$({ printf '%s:' "$1"; unhex "$2"; } | b64md5)
    b=$(b64md5 <"$4")
    { printf '%s:' "$a"; unhex "$3"; printf ':%s' "$b"; } | b64md5
}
hmac_sha1() { # KEYHEX FILE: upper-case hex, as senders write MAC=
    openssl dgst -sha1 -mac HMAC -macopt "hexkey:$1" "$2" | sed 's/.*= *//' | tr a-f A-F
}


# A Base64 or hex text with its character at INDEX changed to another
# one of the same alphabet.
change_char() { # TEXT INDEX
    local t=$1 i=$2 c
    c=${t:i:1}
    if [ "$c" = A ]; then c=B; else c=A; fi
    printf '%s' "${t:0:i}$c${t:i+1}"
}

# A copy of FILE with the byte at OFFSET xor 0x01, written to OUT.
change_byte() { # FILE OFFSET OUT
    local h b
    h=$(tohex <"$1")
    b=${h:$((2 * $2)):2}
    printf '%s%02x%s' "${h:0:$((2 * $2))}" $((0x$b ^ 1)) "${h:$((2 * $2 + 2))}" | xxd -r -p >"$3"
    ! cmp -s "$1" "$3" || fail "change_byte made no change"
}

init_app app1 "$SO" "$PIN"
: >"$TEST_TMP/empty"

# ------------------------------------------------------------ (1) auth-md5

step "syncml:auth-md5 (CKM_DMSC_SYNCML_AUTH_MD5): the SyncML example credential"
OHB=$(printf OhBehave | tohex)
NONCE=$(printf Nonce | tohex)
BRUCE=Zz6EivR3yeaaENcRN6lpAQ==
same "openssl agrees with the published credential" "$BRUCE" "$(auth_md5 Bruce2 "$OHB" "$NONCE")"
expect "import the DM credential 'bruce' (token object, sensitive)" created "$PIN" import bruce "$OHB" token
expect "auth-md5 sign Bruce2/OhBehave/Nonce" "$BRUCE" "$PIN" auth-md5 sign label:bruce Bruce2 "$NONCE"

step "auth-md5 verify: right, unpadded, changed, non-canonical, wrong lengths"
expect "verify the 24 characters" valid "$PIN" auth-md5 verify label:bruce Bruce2 "$NONCE" "$BRUCE"
expect "verify the 22 characters without ==" valid "$PIN" auth-md5 verify label:bruce Bruce2 "$NONCE" "${BRUCE%==}"
for i in 0 11 21; do
    expect "verify with character $i changed" "error: C_Verify: CKR_SIGNATURE_INVALID" "$PIN" \
        auth-md5 verify label:bruce Bruce2 "$NONCE" "$(change_char "$BRUCE" "$i")"
done
expect "verify the unpadded form, last character changed" "error: C_Verify: CKR_SIGNATURE_INVALID" "$PIN" \
    auth-md5 verify label:bruce Bruce2 "$NONCE" "$(change_char "${BRUCE%==}" 21)"
# "AR" decodes to the same bytes as "AQ" (the 4 low bits are padding):
# only the canonical spelling is accepted.
expect "verify a non-canonical Base64 spelling" "error: C_Verify: CKR_SIGNATURE_INVALID" "$PIN" \
    auth-md5 verify label:bruce Bruce2 "$NONCE" "${BRUCE%Q==}R=="
expect "verify '==' replaced by 'AA'" "error: C_Verify: CKR_SIGNATURE_INVALID" "$PIN" \
    auth-md5 verify label:bruce Bruce2 "$NONCE" "${BRUCE%==}AA"
expect "verify Bruce1's name against Bruce2's credential" "error: C_Verify: CKR_SIGNATURE_INVALID" "$PIN" \
    auth-md5 verify label:bruce Bruce1 "$NONCE" "$BRUCE"
expect "verify with the nonce as Base64 text, not bytes" "error: C_Verify: CKR_SIGNATURE_INVALID" "$PIN" \
    auth-md5 verify label:bruce Bruce2 "$(printf Tm9uY2U= | tohex)" "$BRUCE"
expect "verify the raw 16 digest bytes" "error: C_Verify: CKR_SIGNATURE_LEN_RANGE" "$PIN" \
    auth-md5 verify label:bruce Bruce2 "$NONCE" "x:$(base64 -d <<<"$BRUCE" | tohex)"
for mac in "${BRUCE:0:23}" "${BRUCE}=" "${BRUCE%==}=" "${BRUCE:0:21}"; do
    expect "verify a credential of ${#mac} characters ('$mac')" "error: C_Verify: CKR_SIGNATURE_LEN_RANGE" "$PIN" \
        auth-md5 verify label:bruce Bruce2 "$NONCE" "$mac"
done
expect "verify an empty credential" "error: C_Verify: CKR_SIGNATURE_LEN_RANGE" "$PIN" \
    auth-md5 verify label:bruce Bruce2 "$NONCE" "x:"

step "auth-md5 takes no data: CKR_DATA_LEN_RANGE"
expect "sign with one byte of data" "error: C_Sign: CKR_DATA_LEN_RANGE" "$PIN" \
    auth-md5 sign label:bruce Bruce2 "$NONCE" 00
expect "verify the right credential with data" "error: C_Verify: CKR_DATA_LEN_RANGE" "$PIN" \
    auth-md5 verify label:bruce Bruce2 "$NONCE" "$BRUCE" "$(printf 'Bruce2:OhBehave' | tohex)"
expect "multi-part: data in C_SignUpdate / C_VerifyUpdate, then none at all" \
    "error: C_Sign*: CKR_DATA_LEN_RANGE
error: C_Verify*: CKR_DATA_LEN_RANGE
$BRUCE
valid" "$PIN" \
    auth-md5 sign label:bruce Bruce2 "$NONCE" 0000 1 \
    -- auth-md5 verify label:bruce Bruce2 "$NONCE" "$BRUCE" 00 1 \
    -- auth-md5 sign label:bruce Bruce2 "$NONCE" "" 1 \
    -- auth-md5 verify label:bruce Bruce2 "$NONCE" "$BRUCE" "" 1

step "auth-md5 against openssl: random users, passwords and binary nonces (session keys)"
users=("" "u$(openssl rand -hex 3)" 'Jérôme Müller' 'a:b' 'dm@example.com' "$(openssl rand -base64 30)")
for k in 0 1 2 3 4 5 6 7; do
    user=${users[k % ${#users[@]}]}
    secret=$(rand_hex $((1 + RANDOM % 40)))
    nonce=$(rand_hex $((k == 0 ? 0 : RANDOM % 48)))
    want=$(auth_md5 "$user" "$secret" "$nonce")
    expect "auth-md5 user='$user' secret=$secret nonce=$nonce" "created
$want
valid
valid
error: C_Verify: CKR_SIGNATURE_INVALID" "$PIN" \
        import k "$secret" session -- auth-md5 sign label:k "$user" "$nonce" \
        -- auth-md5 verify label:k "$user" "$nonce" "$want" \
        -- auth-md5 verify label:k "$user" "$nonce" "${want%==}" \
        -- auth-md5 verify label:k "$user" "${nonce}00" "$want"
done
# A 512-byte password (the largest key), a 255-byte user and nonce.
secret=$(openssl rand -hex 512)
user=$(openssl rand -hex 128 | cut -c1-255)
nonce=$(openssl rand -hex 255)
expect "auth-md5 with a 512-byte password, 255-byte user and nonce" "created
$(auth_md5 "$user" "$secret" "$nonce")" "$PIN" \
    import big "$secret" session -- auth-md5 sign label:big "$user" "$nonce"

step "key and parameter limits"
expect "both SyncML mechanisms sign and verify with passwords of 1 to 512 bytes" \
    "min=1 max=512 sign=1 verify=1
min=1 max=512 sign=1 verify=1" - mechinfo $M_AUTH -- mechinfo $M_HMAC
expect "a 513-byte password: CKR_KEY_SIZE_RANGE" "created
error: C_SignInit: CKR_KEY_SIZE_RANGE
error: C_VerifyInit: CKR_KEY_SIZE_RANGE" "$PIN" \
    import huge "$(openssl rand -hex 513)" session -- auth-md5 sign label:huge u "" \
    -- hmac verify label:huge u "" "$TEST_TMP/empty" 0 "$BRUCE"
expect "a 256-byte user name" "error: C_SignInit: CKR_MECHANISM_PARAM_INVALID" "$PIN" \
    auth-md5 sign label:bruce "${user}x" "$NONCE"
expect "a 256-byte nonce" "error: C_VerifyInit: CKR_MECHANISM_PARAM_INVALID" "$PIN" \
    auth-md5 verify label:bruce Bruce2 "${nonce}00" "$BRUCE"
for m in $M_AUTH $M_HMAC; do
    expect "$m without its parameter" "error: C_SignInit: CKR_MECHANISM_PARAM_INVALID" "$PIN" \
        init sign "$m" label:bruce noparam
    expect "$m with a parameter of the wrong size" "error: C_VerifyInit: CKR_MECHANISM_PARAM_INVALID" "$PIN" \
        init verify "$m" label:bruce badlen
done

# ------------------------------------------------------------ (2) x-syncml-hmac

step "x-syncml-hmac (CKM_DMSC_SYNCML_HMAC_MD5) over a DM message, one-shot and in chunks"
SRV=$(printf 'srv-%s' "$(openssl rand -base64 12)" | tohex)
HNONCE=$(openssl rand -hex 16)
expect "import the server credential 'srv' (token object)" created "$PIN" import srv "$SRV" token
for f in "$V/dm12-replace.xml" "$V/dm12-replace.wbxml" "$TEST_TMP/empty"; do
    name=$(basename "$f")
    want=$(syncml_hmac server1 "$SRV" "$HNONCE" "$f")
    args=()
    lines=
    for chunk in 0 1 7 64 1000 65536; do
        args+=(hmac sign label:srv server1 "$HNONCE" "$f" "$chunk" --)
        lines+="$want"$'\n'
    done
    expect "hmac of $name ($(wc -c <"$f") bytes) in chunks of 0 (one C_Sign), 1, 7, 64, 1000, 65536" \
        "${lines%$'\n'}" "$PIN" "${args[@]}"
    expect "hmac verify of $name: right (one-shot, chunks of 5), unpadded" "valid
valid
valid" "$PIN" \
        hmac verify label:srv server1 "$HNONCE" "$f" 0 "$want" \
        -- hmac verify label:srv server1 "$HNONCE" "$f" 5 "$want" \
        -- hmac verify label:srv server1 "$HNONCE" "$f" 0 "${want%==}"
    expect "hmac verify of $name: changed, another nonce, another user, wrong length" \
        "error: C_Verify: CKR_SIGNATURE_INVALID
error: C_VerifyFinal: CKR_SIGNATURE_INVALID
error: C_Verify: CKR_SIGNATURE_INVALID
error: C_Verify: CKR_SIGNATURE_INVALID
error: C_Verify: CKR_SIGNATURE_LEN_RANGE" "$PIN" \
        hmac verify label:srv server1 "$HNONCE" "$f" 0 "$(change_char "$want" 7)" \
        -- hmac verify label:srv server1 "$HNONCE" "$f" 3 "$(change_char "$want" 0)" \
        -- hmac verify label:srv server1 "${HNONCE}00" "$f" 0 "$want" \
        -- hmac verify label:srv server2 "$HNONCE" "$f" 0 "$want" \
        -- hmac verify label:srv server1 "$HNONCE" "$f" 0 "${want}A"
done
for off in 0 100 $(($(wc -c <"$V/dm12-replace.wbxml") - 1)); do
    change_byte "$V/dm12-replace.wbxml" "$off" "$TEST_TMP/changed.wbxml"
    want=$(syncml_hmac server1 "$SRV" "$HNONCE" "$V/dm12-replace.wbxml")
    expect "hmac verify of dm12-replace.wbxml with byte $off changed" "error: C_Verify: CKR_SIGNATURE_INVALID" \
        "$PIN" hmac verify label:srv server1 "$HNONCE" "$TEST_TMP/changed.wbxml" 0 "$want"
done
# The XML and WBXML forms of one message have different MACs (a MAC
# covers the bytes as sent, not the canonical form).
want=$(syncml_hmac server1 "$SRV" "$HNONCE" "$V/dm12-replace.xml")
expect "the XML form's MAC does not verify the WBXML form" "error: C_Verify: CKR_SIGNATURE_INVALID" "$PIN" \
    hmac verify label:srv server1 "$HNONCE" "$V/dm12-replace.wbxml" 0 "$want"
# The same formula without a body is not auth-md5: the extra ":" B64(MD5(body)).
expect "auth-md5 of the same user/nonce is not the MAC of an empty body" \
    "error: C_Verify: CKR_SIGNATURE_INVALID" "$PIN" \
    hmac verify label:srv server1 "$HNONCE" "$TEST_TMP/empty" 0 "$(auth_md5 server1 "$SRV" "$HNONCE")"

# ------------------------------------------------------------ (3) bootstrap

step "bootstrap MAC (CKM_DMSC_BOOTSTRAP_HMAC_SHA1): the card's IMSI and NETWORKID key"
CARD=$DMSC_STORE/uicc-0.db
[ -f "$CARD" ] || fail "the card file $CARD does not exist after init_app"
IMSI=$(sqlite3 "$CARD" 'select imsi from card')
[[ $IMSI =~ ^[0-9]{6,15}$ ]] || fail "the card's IMSI is not 6 to 15 digits" "imsi: '$IMSI'"
NETKEY=$(imsi_key_hex "$IMSI")
say "the card's IMSI: $IMSI"
flags="token=1 private=0 sensitive=1 extractable=0 always_sensitive=1 never_extractable=1 sign=0 verify=1"
flags+=" modifiable=0 destroyable=0 value_len=$((${#NETKEY} / 2))"
expect "NETWORKID: public, sensitive, never extractable, verify only, fixed, $((${#NETKEY} / 2)) bytes" \
    "$flags" - flags label:NETWORKID
expect "the mechanism is verify only, for keys of 4 to 8 bytes" "min=4 max=8 sign=0 verify=1" - mechinfo $M_BOOT

B=$V/dm12-bootstrap.wbxml
MAC0=$(hmac_sha1 "$NETKEY" "$B")
MAC1=$(hmac_sha1 "$(printf 1234 | tohex)" "$B")
MAC2=$(hmac_sha1 "$NETKEY$(printf 1234 | tohex)" "$B")
lower() { tr A-F a-f <<<"$1"; }

step "bootstrap: SEC 0 (NETWPIN), 1 (USERPIN 1234), 2 (USERNETWPIN), upper and lower case"
expect "SEC 0/1/2, upper case, no login (the key is public)" "valid
valid
valid" - \
    boot-verify 0 - "$B" "$MAC0" -- boot-verify 1 1234 "$B" "$MAC1" -- boot-verify 2 1234 "$B" "$MAC2"
expect "SEC 0/1/2, lower case, logged in" "valid
valid
valid" "$PIN" \
    boot-verify 0 - "$B" "$(lower "$MAC0")" -- boot-verify 1 1234 "$B" "$(lower "$MAC1")" \
    -- boot-verify 2 1234 "$B" "$(lower "$MAC2")"
expect "SEC 0/1/2 as 20 raw bytes" "valid
valid
valid" - \
    boot-verify 0 - "$B" "x:$MAC0" -- boot-verify 1 1234 "$B" "x:$MAC1" -- boot-verify 2 1234 "$B" "x:$MAC2"
expect "SEC 0/1/2 streamed in chunks of 1, 13 and 4096 bytes" "valid
valid
valid" - \
    boot-verify 0 - "$B" "$MAC0" 1 -- boot-verify 1 1234 "$B" "$MAC1" 13 -- boot-verify 2 1234 "$B" "$MAC2" 4096
PIN64=$(openssl rand -hex 32)
expect "SEC 1 and 2 with a 64-byte PIN (the largest)" "valid
valid" - \
    boot-verify 1 "$PIN64" "$B" "$(hmac_sha1 "$(printf %s "$PIN64" | tohex)" "$B")" \
    -- boot-verify 2 "$PIN64" "$B" "$(hmac_sha1 "$NETKEY$(printf %s "$PIN64" | tohex)" "$B")"

step "bootstrap: another IMSI, PIN, method or message byte: CKR_SIGNATURE_INVALID"
last=${IMSI: -1}
OTHER=${IMSI:0:${#IMSI}-1}$(((last + 1) % 10))
SHORTER=${IMSI:0:${#IMSI}-1}
expect "MACs made for IMSI $OTHER and ${SHORTER} (one digit less)" \
    "error: C_Verify: CKR_SIGNATURE_INVALID
error: C_Verify: CKR_SIGNATURE_INVALID
error: C_Verify: CKR_SIGNATURE_INVALID" - \
    boot-verify 0 - "$B" "$(hmac_sha1 "$(imsi_key_hex "$OTHER")" "$B")" \
    -- boot-verify 0 - "$B" "$(hmac_sha1 "$(imsi_key_hex "$SHORTER")" "$B")" \
    -- boot-verify 2 1234 "$B" "$(hmac_sha1 "$(imsi_key_hex "$OTHER")$(printf 1234 | tohex)" "$B")"
expect "the ASCII IMSI as the key (the common mistake)" "error: C_Verify: CKR_SIGNATURE_INVALID" - \
    boot-verify 0 - "$B" "$(hmac_sha1 "$(printf %s "$IMSI" | tohex)" "$B")"
expect "another PIN (1235) for SEC 1 and 2" "error: C_Verify: CKR_SIGNATURE_INVALID
error: C_Verify: CKR_SIGNATURE_INVALID" - \
    boot-verify 1 1235 "$B" "$MAC1" -- boot-verify 2 1235 "$B" "$MAC2"
expect "PIN || key instead of key || PIN, and PIN \":\" key, for SEC 2" \
    "error: C_Verify: CKR_SIGNATURE_INVALID
error: C_Verify: CKR_SIGNATURE_INVALID" - \
    boot-verify 2 1234 "$B" "$(hmac_sha1 "$(printf 1234 | tohex)$NETKEY" "$B")" \
    -- boot-verify 2 1234 "$B" "$(hmac_sha1 "$(printf 1234: | tohex)$NETKEY" "$B")"
expect "each method's MAC under the two others" "error: C_Verify: CKR_SIGNATURE_INVALID
error: C_Verify: CKR_SIGNATURE_INVALID
error: C_Verify: CKR_SIGNATURE_INVALID
error: C_Verify: CKR_SIGNATURE_INVALID" - \
    boot-verify 0 - "$B" "$MAC1" -- boot-verify 0 - "$B" "$MAC2" \
    -- boot-verify 1 1234 "$B" "$MAC0" -- boot-verify 2 1234 "$B" "$MAC0"
for off in 0 $(($(wc -c <"$B") / 2)) $(($(wc -c <"$B") - 1)); do
    change_byte "$B" "$off" "$TEST_TMP/changed-boot.wbxml"
    expect "the message with byte $off changed (SEC 0, one-shot and streamed)" \
        "error: C_Verify: CKR_SIGNATURE_INVALID
error: C_VerifyFinal: CKR_SIGNATURE_INVALID" - \
        boot-verify 0 - "$TEST_TMP/changed-boot.wbxml" "$MAC0" \
        -- boot-verify 0 - "$TEST_TMP/changed-boot.wbxml" "$MAC0" 7
done
expect "the MAC with one hex digit changed" "error: C_Verify: CKR_SIGNATURE_INVALID" - \
    boot-verify 0 - "$B" "$(change_char "$MAC0" 39)"

step "bootstrap: malformed MACs"
expect "39 and 41 hex digits, 19 raw bytes, nothing" "error: C_Verify: CKR_SIGNATURE_LEN_RANGE
error: C_Verify: CKR_SIGNATURE_LEN_RANGE
error: C_Verify: CKR_SIGNATURE_LEN_RANGE
error: C_Verify: CKR_SIGNATURE_LEN_RANGE" - \
    boot-verify 0 - "$B" "${MAC0:0:39}" -- boot-verify 0 - "$B" "${MAC0}0" \
    -- boot-verify 0 - "$B" "x:${MAC0:0:38}" -- boot-verify 0 - "$B" "x:"

step "bootstrap: bad SEC / PIN combinations: CKR_MECHANISM_PARAM_INVALID"
PIN65=$(openssl rand -hex 32)x
expect "SEC 3 (USERPINMAC), SEC 4, a PIN with SEC 0, no PIN and an empty PIN with SEC 1 and 2, a 65-byte PIN" \
    "error: C_VerifyInit: CKR_MECHANISM_PARAM_INVALID
error: C_VerifyInit: CKR_MECHANISM_PARAM_INVALID
error: C_VerifyInit: CKR_MECHANISM_PARAM_INVALID
error: C_VerifyInit: CKR_MECHANISM_PARAM_INVALID
error: C_VerifyInit: CKR_MECHANISM_PARAM_INVALID
error: C_VerifyInit: CKR_MECHANISM_PARAM_INVALID
error: C_VerifyInit: CKR_MECHANISM_PARAM_INVALID
error: C_VerifyInit: CKR_MECHANISM_PARAM_INVALID
error: C_VerifyInit: CKR_MECHANISM_PARAM_INVALID" - \
    boot-verify 3 1234 "$B" "$MAC1" -- boot-verify 4 - "$B" "$MAC0" \
    -- boot-verify 0 1234 "$B" "$MAC0" \
    -- boot-verify 1 - "$B" "$MAC1" -- boot-verify 1 "" "$B" "$MAC1" \
    -- boot-verify 2 - "$B" "$MAC0" -- boot-verify 2 "" "$B" "$MAC0" \
    -- boot-verify 1 "$PIN65" "$B" "$MAC1" -- boot-verify 2 "$PIN65" "$B" "$MAC2"
expect "no parameter, a parameter of the wrong size" "error: C_VerifyInit: CKR_MECHANISM_PARAM_INVALID
error: C_VerifyInit: CKR_MECHANISM_PARAM_INVALID" - \
    init verify $M_BOOT label:NETWORKID noparam -- init verify $M_BOOT label:NETWORKID badlen
expect "the bootstrap mechanism still verifies after the refusals" valid - boot-verify 0 - "$B" "$MAC0"

step "bootstrap is verify only; the NETWORKID key serves nothing else and never shows its value"
expect "C_SignInit with the bootstrap mechanism (NETWORKID key, a credential key)" \
    "error: C_SignInit: CKR_MECHANISM_INVALID
error: C_SignInit: CKR_MECHANISM_INVALID" "$PIN" \
    init sign $M_BOOT label:NETWORKID -- init sign $M_BOOT label:bruce
# C_SignInit: the key has CKA_SIGN false and allows one mechanism; either
# refusal is right. C_VerifyInit: CKA_VERIFY is true, so only
# CKA_ALLOWED_MECHANISMS stops it.
for m in $M_AUTH $M_HMAC $M_SHA1_HMAC; do
    expect "NETWORKID refuses C_SignInit and C_VerifyInit with $m" \
        "error: C_SignInit: CKR_@(MECHANISM_INVALID|KEY_FUNCTION_NOT_PERMITTED)
error: C_VerifyInit: CKR_MECHANISM_INVALID" - \
        init sign "$m" label:NETWORKID -- init verify "$m" label:NETWORKID
done
expect "the NETWORKID key's CKA_VALUE, not logged in" "error: C_GetAttributeValue: CKR_ATTRIBUTE_SENSITIVE" - \
    value label:NETWORKID
expect "the NETWORKID key's CKA_VALUE, logged in" "error: C_GetAttributeValue: CKR_ATTRIBUTE_SENSITIVE" \
    "$PIN" value label:NETWORKID
# The mechanism takes the card's network key: a DM credential (not a
# semi-octet IMSI) is refused, not used as an HMAC key.
expect "the bootstrap mechanism with the DM credential 'bruce' as key" \
    "error: C_VerifyInit: CKR_KEY_TYPE_INCONSISTENT" "$PIN" \
    boot-verify 0 - "$B" "$(hmac_sha1 "$OHB" "$B")" 0 label:bruce

step "only the DM application (the card's first) has the NETWORKID key"
p11_ok "list app1's objects" --token-label app1 -O
out_has NETWORKID "pkcs11-tool -O on app1 (the DM application)"
init_app app2 "$SO" "$PIN"
APP=app2
expect "NETWORKID objects on app2, not logged in / logged in" 0 - find NETWORKID
expect "NETWORKID objects on app2, logged in" 0 "$PIN" find NETWORKID
p11_ok "list app2's objects" --token-label app2 -O --login --pin "$PIN"
out_lacks NETWORKID "pkcs11-tool -O on app2"
APP=app1
expect "app1 still has one NETWORKID object and it still verifies" "1
valid" - find NETWORKID -- boot-verify 0 - "$B" "$MAC0"

# ------------------------------------------------------------ (4) the secret stays in

step "the DM credential never comes out"
expect "CKA_VALUE of the sensitive token credential 'bruce'" \
    "error: C_GetAttributeValue: CKR_ATTRIBUTE_SENSITIVE" "$PIN" value label:bruce
# Imported with C_CreateObject: the card has not always kept it, so
# CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE are false (PKCS#11 4.10).
expect "the credential 'bruce' is private, sensitive and not extractable" \
    "token=1 private=1 sensitive=1 extractable=0 always_sensitive=0 never_extractable=0 sign=1 verify=1 *value_len=8" \
    "$PIN" flags label:bruce
SECRET=$(printf 'secret-%s' "$(openssl rand -hex 12)" | tohex)
expect "CKA_VALUE of a sensitive session credential" "created
error: C_GetAttributeValue: CKR_ATTRIBUTE_SENSITIVE" "$PIN" import s "$SECRET" session -- value label:s
# The control: the same command reads a value that may be read.
expect "CKA_VALUE of a non-sensitive session key (the control)" "created
$SECRET" "$PIN" import p "$SECRET" session plain -- value label:p
expect "import a sensitive token credential with a distinctive value" created "$PIN" import t "$SECRET" token
expect "its CKA_VALUE" "error: C_GetAttributeValue: CKR_ATTRIBUTE_SENSITIVE" "$PIN" value label:t
expect_fail "CKR_ATTRIBUTE_SENSITIVE|CKR_KEY_UNEXTRACTABLE" "pkcs11-tool --read-object of the credential 'bruce'" \
    --token-label app1 --login --pin "$PIN" --read-object --type secrkey --label bruce
leaks=$(grep -rlaF -e "$(unhex "$SECRET")" -e OhBehave "$DMSC_STORE" || true)
CHECKS=$((CHECKS + 1))
[ -z "$leaks" ] || fail "a DM credential is in clear in the store" "files:" "$(indent <<<"$leaks")"

# ------------------------------------------------------------ other cards

step "bootstrap on cards with other IMSIs (the card file's IMSI changed): 14 digits (filler F), 6 digits"
for imsi in 21407650123456 262019876543210 123456; do
    sqlite3 "$CARD" "update card set imsi = '$imsi'"
    key=$(imsi_key_hex "$imsi")
    expect "IMSI $imsi: NETWORKID is $((${#key} / 2)) bytes; SEC 0 and 2 verify, the old card's MAC does not" \
        "*value_len=$((${#key} / 2))
valid
valid
error: C_Verify: CKR_SIGNATURE_INVALID" - \
        flags label:NETWORKID -- boot-verify 0 - "$B" "$(hmac_sha1 "$key" "$B")" \
        -- boot-verify 2 4321 "$B" "$(lower "$(hmac_sha1 "$key$(printf 4321 | tohex)" "$B")")" \
        -- boot-verify 0 - "$B" "$MAC0"
done

step "bootstrap: a MAC of 40 characters, one of them not hex"
# The value is wrong, not its length: PKCS#11 keeps CKR_SIGNATURE_LEN_RANGE
# for a MAC invalid "solely on the basis of its length", and auth-md5's
# rule in <dmsc/pkcs11-dm.h> is the same (a wrong value of the right length
# is CKR_SIGNATURE_INVALID).
expect "40 characters ending in G" "error: C_Verify: CKR_SIGNATURE_INVALID" - \
    boot-verify 0 - "$B" "${MAC0:0:39}G"
expect "40 characters, 0x in front of 38 hex digits" "error: C_Verify: CKR_SIGNATURE_INVALID" - \
    boot-verify 0 - "$B" "0x${MAC0:0:38}"

say "PASS: $CHECKS checks"
