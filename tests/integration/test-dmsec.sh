#!/bin/bash
# DM session security (dm-ext/dmsec.h) against the openssl command, at test
# time: every expected value below is computed here with `openssl dgst`
# and base64 from the formulas of dm-ext/DMSEC.md, never with dmsc code,
# and compared with what dm-ext/dmsec-driver prints.
#  - syncml:auth-md5   B64(MD5(B64(MD5(user ":" secret)) ":" nonce))
#  - x-syncml-hmac     B64(MD5(B64(MD5(user ":" secret)) ":" nonce ":" B64(MD5(body))))
#                      streamed in several chunk sizes
#  - bootstrap MAC     HMAC-SHA1(key, WBXML) for NETWPIN / USERPIN /
#                      USERNETWPIN, the IMSI semi-octets made here by a
#                      shell implementation of TS 24.008's coding
#  - published values: the SyncML "Bruce2" credential, a NowSMS NETWPIN MAC
#  - refusals: bad IMSIs, malformed and wrong credentials and MACs
# It needs no PKCS#11 module, only openssl and base64.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

need_cmd openssl base64 od
DRIVER=${DMSEC_DRIVER:-${DMSC_BUILDDIR:-.}/dm-ext/dmsec-driver}
[ -x "$DRIVER" ] || fail "dmsec-driver not found at $DRIVER" \
    "build it (make check builds it) or set DMSEC_DRIVER=/path/to/dmsec-driver"

TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dmsc-dmsec.XXXXXX")
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

CHECKS=0
# same WHAT EXPECTED GOT
same() {
    CHECKS=$((CHECKS + 1))
    [ "$2" = "$3" ] || fail "$1" "expected: $2" "got:      $3"
}

# The driver's exit status (0 ok, 1 mismatch, 2 refused) for a command.
status_of() {
    local rc=0
    "$@" >/dev/null 2>&1 || rc=$?
    printf '%s' "$rc"
}

# Bytes of a hex string on stdout.
unhex() {
    local h=$1 esc=''
    while [ -n "$h" ]; do
        esc+="\\x${h:0:2}"
        h=${h:2}
    done
    printf '%b' "$esc"
}

b64md5() { openssl dgst -md5 -binary | base64 -w0; }
hexsha1mac() { # KEYHEX FILE: HMAC-SHA1 in upper-case hex
    openssl dgst -sha1 -mac HMAC -macopt "hexkey:$1" "$2" | sed 's/.*= *//' | tr a-f A-F
}
tohex() { od -An -v -tx1 | tr -d ' \n' | tr a-f A-F; }


# ------------------------------------------------------------ auth-md5

step "syncml:auth-md5"
expect_auth() { # USER SECRET NONCEHEX
    local a want got
    a=$(printf '%s:%s' "$1" "$2" | b64md5)
    want=$({ printf '%s:' "$a"; unhex "$3"; } | b64md5)
    got=$("$DRIVER" auth-md5 "$1" "$2" "$3")
    same "auth-md5 user='$1' nonce=$3" "$want" "$got"
    same "auth-md5-verify of the openssl value" 0 "$(status_of "$DRIVER" auth-md5-verify "$1" "$2" "$3" "$want")"
}
# Published: SyncML Representation Protocol 1.1, the MD5 digest example.
same "the SyncML example credential" "Zz6EivR3yeaaENcRN6lpAQ==" \
    "$("$DRIVER" auth-md5 Bruce2 OhBehave "$(printf Nonce | tohex)")"
expect_auth Bruce2 OhBehave "$(printf Nonce | tohex)"
expect_auth "" "" ""
expect_auth dmclient 'p@ss:w0rd' 00FF3A0A80
expect_auth 'Robert Jordan' "$(openssl rand -hex 12)" "$(openssl rand -hex 16)"
for _ in 1 2 3; do
    expect_auth "u$(openssl rand -hex 3)" "$(openssl rand -base64 18)" "$(openssl rand -hex $((RANDOM % 40)))"
done
same "auth-md5-verify, unpadded" 0 \
    "$(status_of "$DRIVER" auth-md5-verify Bruce2 OhBehave 4E6F6E6365 Zz6EivR3yeaaENcRN6lpAQ)"
same "auth-md5-verify, wrong" 1 \
    "$(status_of "$DRIVER" auth-md5-verify Bruce1 OhBehave 4E6F6E6365 Zz6EivR3yeaaENcRN6lpAQ==)"
same "auth-md5-verify, nonce as text" 1 \
    "$(status_of "$DRIVER" auth-md5-verify Bruce2 OhBehave "$(printf Tm9uY2U= | tohex)" Zz6EivR3yeaaENcRN6lpAQ==)"
same "auth-md5-verify, malformed" 2 \
    "$(status_of "$DRIVER" auth-md5-verify Bruce2 OhBehave 4E6F6E6365 Zz6EivR3yeaaENcRN6lpAQ=)"

# ------------------------------------------------------------ x-syncml-hmac

step "x-syncml-hmac, streamed"
expect_hmac() { # USER SECRET NONCEHEX BODYFILE
    local a b want got chunk
    a=$(printf '%s:%s' "$1" "$2" | b64md5)
    b=$(b64md5 <"$4")
    want=$({ printf '%s:' "$a"; unhex "$3"; printf ':%s' "$b"; } | b64md5)
    for chunk in 0 1 7 64 1000 4096; do
        got=$("$DRIVER" hmac "$1" "$2" "$3" "$chunk" <"$4")
        same "hmac user='$1' body=$(basename "$4") ($(wc -c <"$4") bytes) in chunks of $chunk" "$want" "$got"
    done
    same "hmac-verify of the openssl value" 0 "$(status_of "$DRIVER" hmac-verify "$1" "$2" "$3" "$want" <"$4")"
    same "hmac-verify without padding" 0 "$(status_of "$DRIVER" hmac-verify "$1" "$2" "$3" "${want%==}" <"$4")"
    same "hmac-verify, another secret" 1 "$(status_of "$DRIVER" hmac-verify "$1" "x$2" "$3" "$want" <"$4")"
}
: >"$TEST_TMP/empty"
printf '%s' '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr/><SyncBody><Final/></SyncBody></SyncML>' >"$TEST_TMP/small.xml"
openssl rand 20000 >"$TEST_TMP/random.bin"
expect_hmac 'Robert Jordan' HMACpass 000102030405060708090A0B0C0D0E0F "$TEST_TMP/small.xml"
expect_hmac 'Robert Jordan' HMACpass "" "$TEST_TMP/empty"
expect_hmac "srv$(openssl rand -hex 4)" "$(openssl rand -base64 24)" "$(openssl rand -hex 16)" "$TEST_TMP/random.bin"
for f in dm12-bootstrap.wbxml dm12-commands.xml; do
    if [ -f "${DMSC_SRCDIR:-.}/dm-ext/vectors/$f" ]; then
        expect_hmac server1 s3cret 00FF "${DMSC_SRCDIR:-.}/dm-ext/vectors/$f"
    fi
done

# ------------------------------------------------------------ IMSI keys

step "IMSI semi-octets"
digits=$(openssl rand -hex 32 | tr -dc 0-9)
for imsi in 123456789012345 21407650123456 404020506708200 001010000000001 123456 1234567 \
    "$(printf '%06d' $((RANDOM % 1000000)))" "${digits:0:$((6 + RANDOM % 10))}"; do
    [ ${#imsi} -ge 6 ] || continue
    same "imsi-key $imsi" "$(imsi_key_hex "$imsi")" "$("$DRIVER" imsi-key "$imsi")"
done
same "a 15-digit IMSI as NowSMS codes it" 1932547698103254 "$("$DRIVER" imsi-key 123456789012345)"
for bad in 12345 1234567890123456 12345a7890 "123 456" +12345678 ""; do
    same "imsi-key '$bad' refused" 2 "$(status_of "$DRIVER" imsi-key "$bad")"
done

# ------------------------------------------------------------ bootstrap MAC

step "bootstrap MAC (HMAC-SHA1)"
# A NowSMS OMA CP document and the MAC NowSMS sent with it (SEC=NETWPIN,
# IMSI 123456789012345), from its support forum (see dm-ext/DMSEC.md).
unhex 030B6A0674657374310045C6560187070683000101C655018707068300018711060374657374315F4E415049440001871006AB0187080603746573743200018709068901871401C65A01870C069A01870D060367707273757365726E616D650001870E06036770727370617373776F72640001010101 \
    >"$TEST_TMP/nowsms.wbxml"
same "the NowSMS NETWPIN MAC" C483EC25F7E3E0CF100380DA5F6714CF204A5EC5 \
    "$("$DRIVER" boot NETWPIN 123456789012345 - 0 <"$TEST_TMP/nowsms.wbxml")"

expect_boot() { # SEC IMSI PIN FILE
    local key want got chunk
    case $1 in
    NETWPIN) key=$(imsi_key_hex "$2") ;;
    USERPIN) key=$(printf '%s' "$3" | tohex) ;;
    USERNETWPIN) key=$(imsi_key_hex "$2")$(printf '%s' "$3" | tohex) ;;
    esac
    want=$(hexsha1mac "$key" "$4")
    for chunk in 0 1 13 64 4096; do
        got=$("$DRIVER" boot "$1" "$2" "$3" "$chunk" <"$4")
        same "boot $1 imsi=$2 pin=$3 $(basename "$4") in chunks of $chunk" "$want" "$got"
    done
    same "boot-verify, upper case" 0 "$(status_of "$DRIVER" boot-verify "$1" "$2" "$3" "$want" <"$4")"
    same "boot-verify, lower case" 0 \
        "$(status_of "$DRIVER" boot-verify "$1" "$2" "$3" "$(tr A-F a-f <<<"$want")" <"$4")"
    same "boot-verify, last digit changed" 1 \
        "$(status_of "$DRIVER" boot-verify "$1" "$2" "$3" "${want:0:39}$([ "${want:39}" = 0 ] && echo 1 || echo 0)" <"$4")"
    same "boot-verify, 39 digits" 2 "$(status_of "$DRIVER" boot-verify "$1" "$2" "$3" "${want:0:39}" <"$4")"
    same "boot-verify, not hex" 2 "$(status_of "$DRIVER" boot-verify "$1" "$2" "$3" "${want:0:39}G" <"$4")"
}
openssl rand 3000 >"$TEST_TMP/boot.bin"
for f in "$TEST_TMP/nowsms.wbxml" "$TEST_TMP/boot.bin" "${DMSC_SRCDIR:-.}/dm-ext/vectors/dm12-bootstrap.wbxml"; do
    [ -f "$f" ] || continue
    for imsi in 123456789012345 21407650123456 262019876543; do
        expect_boot NETWPIN "$imsi" - "$f"
        expect_boot USERNETWPIN "$imsi" 1234 "$f"
    done
    expect_boot USERPIN - 1234 "$f"
    expect_boot USERPIN - "$(openssl rand -hex 32)" "$f"   # 64 bytes, the largest
    expect_boot USERNETWPIN 310150123456789 "$(openssl rand -base64 12)" "$f"
done
same "USERPIN without a PIN refused" 2 "$(status_of "$DRIVER" boot USERPIN - - 0 <"$TEST_TMP/boot.bin")"
same "USERPIN of 65 bytes refused" 2 \
    "$(status_of "$DRIVER" boot USERPIN - "$(openssl rand -hex 32)x" 0 <"$TEST_TMP/boot.bin")"
same "NETWPIN without an IMSI refused" 2 "$(status_of "$DRIVER" boot NETWPIN - - 0 <"$TEST_TMP/boot.bin")"
same "NETWPIN with a bad IMSI refused" 2 "$(status_of "$DRIVER" boot NETWPIN 12345 - 0 <"$TEST_TMP/boot.bin")"

say "$CHECKS checks passed"
