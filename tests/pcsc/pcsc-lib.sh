# shellcheck shell=bash
# shellcheck disable=SC2034 # PCSC_* globals set here are read by the tests
# The PC/SC test services: a private pcscd with vsmartcard's virtual
# reader (vpcd) and the emulated DM smart card (dm-vicc.py, dmcard.py).
# Sourced by tests/pcsc/test-*.sh AFTER tests/integration/lib.sh and its
# setup_store (it uses TEST_TMP, say/step/fail/skip/need_cmd and the EXIT
# trap's CLEANUP_PIDS). Call the functions from the test's main shell, not
# inside $(...): the services are that shell's background jobs.
#
# Functions (stable: tests/pcsc/test-pcsc-module.sh uses them too):
#   pcsc_need            skip (77) unless pcscd, the vpcd driver, unshare,
#                        python3 with virtualsmartcard, asn1crypto and cryptography, openssl,
#                        xml2wbxml and opensc-tool are there
#   pcsc_make_card [ARGS...]
#                        builds the demo DM card image $PCSC_IMAGE: a fresh
#                        RSA-2048 key + self-signed certificate (openssl), the
#                        demo bootstrap as WBXML (xml2wbxml), the demo MOs
#                        ./DMAcc/OperatorX and ./FUMO, 3 spare EFs, PIN
#                        $PCSC_PIN, PUK $PCSC_PUK, ICCID $PCSC_ICCID, and an
#                        EC P-256 key (key reference 2, iD 02); ARGS go to
#                        make-card.py (e.g. --spares 2, --ecdsa-sig raw).
#   pcsc_start           starts pcscd (private socket, vpcd reader on a free
#                        port pair) and puts the card $PCSC_IMAGE in reader
#                        $PCSC_READER; returns once a client sees the card
#   pcsc_card_remove     takes the card out (stops the emulator); returns once
#                        the reader shows no card
#   pcsc_card_insert     puts the same card back (its state persisted)
#   pcsc_stop            stops the card and pcscd (also done by the EXIT trap)
#   pcsc_crash           kills pcscd with SIGKILL (a crash: no clean-up, its
#                        socket and pid files stay) and stops the card; a
#                        pcsc_start afterwards starts a new pcscd
#   pcsc_reap PID WHAT [SECONDS]
#                        waits for the test's background job PID (named WHAT
#                        in messages) to exit, at most SECONDS (20); then
#                        kills it (SIGKILL) and says so. Exit status of the
#                        job in PCSC_REAP_STATUS; returns 1 if it was killed.
#                        Every wait of these functions goes through it: a
#                        process that does not stop never hangs the test
#   pcsc_card_state      prints "present" or "absent" (reader $PCSC_READER)
#   pcsc_image_pin_tries REF
#                        prints the card's retry counter of PIN REF (1 user
#                        PIN, 2 PUK) from the image (the card's own memory)
#   dm ARGS... / dm_ok WHAT ARGS...
#                        the dmsc tool $DMSC on token $TOKEN (both set by the
#                        test); OUT and RC as run_p11 sets them
# Exported for clients (pkcs11-tool, opensc, the module):
#   PCSCLITE_CSOCK_NAME  the private pcscd's socket (libpcsclite honours it)
#   OPENSC_CONF          a private opensc.conf for OpenSC's tools: its default
#                        card driver on, no file cache, reset on disconnect
# Set for tests:
#   PCSC_DIR             $TEST_TMP/pcsc: everything of these services
#   PCSC_IMAGE           the card image (JSON, dmcard.py's format)
#   PCSC_READER          "DMSC test vpcd 00 00": the reader with the card
#   PCSC_READER_EMPTY    "DMSC test vpcd 00 01": vpcd's second reader, empty
#   PCSC_KEY PCSC_CERT   the card key's PEMs (private, certificate; the private
#                        key is for nothing but making the image) and
#   PCSC_PUBKEY          its public key (PEM), to verify card signatures
#   PCSC_EC_KEY PCSC_EC_PUBKEY  the card's EC P-256 key (iD 02): private
#                        (for making the image only) and public PEM
#   PCSC_MA_CERT         the trusted MA certificate on the card
#   PCSC_BOOTSTRAP       the bootstrap bytes on the card (WBXML)
#   PCSC_MO_DMACC PCSC_MO_FUMO  the MO values on the card (TNDS files)
#   PCSC_PIN PCSC_PUK PCSC_ICCID  (defaults 1234, 12345678, 8944100000000000015)
#   PCSC_TRACE           the APDU trace of the card (PIN data left out)
#   PCSC_PYTHON          the python3 used (Debian's /usr/bin/python3)
#
# Why the private mount namespace: pcsc-lite 1.9.9's pcscd ignores
# PCSCLITE_CSOCK_NAME and always uses /run/pcscd/ (and refuses to run twice);
# in its own mount namespace (unshare -m as root, unshare -rm otherwise) a
# tmpfs hides /run and $PCSC_DIR/run is mounted on /run/pcscd, so the socket
# is $PCSC_DIR/run/pcscd.comm, several suites run side by side, and no
# system reader leaks in. vpcd listens on PORT and PORT+1 (two readers), on
# all interfaces (a vpcd limit): the ports are picked free at random.

PCSC_SRC=${DMSC_SRCDIR:-.}/tests/pcsc
# no __pycache__ in the source tree
export PYTHONDONTWRITEBYTECODE=1
PCSC_PYTHON=${PCSC_PYTHON:-/usr/bin/python3}
PCSC_VPCD_LIB=${PCSC_VPCD_LIB:-/usr/lib/pcsc/drivers/serial/libifdvpcd.so}
PCSC_PIN=${PCSC_PIN:-1234}
PCSC_PUK=${PCSC_PUK:-12345678}
PCSC_ICCID=${PCSC_ICCID:-8944100000000000015}
PCSC_READER="DMSC test vpcd 00 00"
PCSC_READER_EMPTY="DMSC test vpcd 00 01"
PCSC_DIR=
PCSC_PORT=
PCSCD_PID=
VICC_PID=

pcsc_need() {
    need_cmd pcscd unshare openssl xml2wbxml opensc-tool timeout
    [ -e "$PCSC_VPCD_LIB" ] || skip "the vpcd driver $PCSC_VPCD_LIB is missing (Debian package vsmartcard-vpcd)"
    [ -x "$PCSC_PYTHON" ] || skip "$PCSC_PYTHON is missing (Debian package python3)"
    "$PCSC_PYTHON" -c 'import asn1crypto' 2>/dev/null ||
        skip "$PCSC_PYTHON cannot import asn1crypto (Debian package python3-asn1crypto)"
    "$PCSC_PYTHON" -c 'import cryptography' 2>/dev/null ||
        skip "$PCSC_PYTHON cannot import cryptography (Debian package python3-cryptography)"
    PYTHONPATH=$PCSC_SRC "$PCSC_PYTHON" -c 'import dmcard' 2>/dev/null ||
        skip "$PCSC_PYTHON cannot load the card emulator (Debian package python3-virtualsmartcard)"
    if [ "$(id -u)" -ne 0 ]; then
        unshare -rm true 2>/dev/null ||
            skip "cannot make a private mount namespace for pcscd (unshare -rm: user namespaces disabled?)"
    fi
}

pcsc_dir() {
    [ -n "$TEST_TMP" ] || fail "pcsc-lib: call setup_store before the pcsc_ functions"
    if [ -z "$PCSC_DIR" ]; then
        PCSC_DIR=$TEST_TMP/pcsc
        mkdir -p "$PCSC_DIR/run"
        PCSC_IMAGE=$PCSC_DIR/card.json
        PCSC_TRACE=$PCSC_DIR/apdu.trace
        export PCSCLITE_CSOCK_NAME=$PCSC_DIR/run/pcscd.comm
        export OPENSC_CONF=$PCSC_DIR/opensc.conf
        cat >"$OPENSC_CONF" <<'EOF'
app default {
    debug = 0;
    enable_default_driver = yes;
    reader_driver pcsc {
        # each OpenSC tool run leaves the card reset: no PIN stays verified
        disconnect_action = reset;
    }
    framework pkcs15 {
        use_file_caching = no;
        use_pin_caching = false;
    }
}
EOF
    fi
}

pcsc_make_card() {
    pcsc_dir
    local demo=${DMSC_SRCDIR:-.}/examples/demo-card
    PCSC_KEY=$PCSC_DIR/card-key.pem
    PCSC_CERT=$PCSC_DIR/card-cert.pem
    PCSC_PUBKEY=$PCSC_DIR/card-pub.pem
    PCSC_EC_KEY=$PCSC_DIR/card-ec-key.pem
    PCSC_EC_PUBKEY=$PCSC_DIR/card-ec-pub.pem
    PCSC_MA_CERT=$demo/ma.cert.pem
    PCSC_BOOTSTRAP=$PCSC_DIR/bootstrap.wbxml
    PCSC_MO_DMACC=$demo/mo/dmacc-operatorx.xml
    PCSC_MO_FUMO=$demo/mo/fumo.xml
    if [ ! -s "$PCSC_KEY" ]; then
        openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PCSC_KEY" -out "$PCSC_CERT" \
            -subj "/CN=dmsc test card $PCSC_ICCID" -days 7 >"$PCSC_DIR/openssl.log" 2>&1 ||
            fail "openssl could not make the card key" "$(indent <"$PCSC_DIR/openssl.log")"
        openssl pkey -in "$PCSC_KEY" -pubout -out "$PCSC_PUBKEY" 2>>"$PCSC_DIR/openssl.log" ||
            fail "openssl could not write the card's public key"
    fi
    if [ ! -s "$PCSC_EC_KEY" ]; then
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PCSC_EC_KEY" \
            2>>"$PCSC_DIR/openssl.log" &&
            openssl pkey -in "$PCSC_EC_KEY" -pubout -out "$PCSC_EC_PUBKEY" 2>>"$PCSC_DIR/openssl.log" ||
            fail "openssl could not make the card's EC key" "$(indent <"$PCSC_DIR/openssl.log")"
    fi
    xml2wbxml -o "$PCSC_BOOTSTRAP" "$demo/bootstrap.xml" >/dev/null 2>&1 ||
        fail "xml2wbxml could not encode $demo/bootstrap.xml"
    "$PCSC_PYTHON" "$PCSC_SRC/make-card.py" --out "$PCSC_IMAGE" --key "$PCSC_KEY" \
        --cert "$PCSC_CERT" --ma-cert "$PCSC_MA_CERT" --bootstrap "$PCSC_BOOTSTRAP" \
        --mo "./DMAcc/OperatorX=$PCSC_MO_DMACC" --mo "./FUMO=$PCSC_MO_FUMO" \
        --ec-key "$PCSC_EC_KEY" --pin "$PCSC_PIN" --puk "$PCSC_PUK" --iccid "$PCSC_ICCID" "$@" ||
        fail "make-card.py could not build the card image"
}

# A port P with P and P+1 free (vpcd opens both), from the kernel's pick.
pcsc_free_port_pair() {
    "$PCSC_PYTHON" - <<'EOF'
import socket
for _ in range(50):
    a = socket.socket()
    a.bind(("", 0))
    p = a.getsockname()[1]
    b = socket.socket()
    try:
        b.bind(("", p + 1))
    except OSError:
        continue
    finally:
        a.close()
        b.close()
    print(p)
    break
EOF
}

# The "Card" column of opensc-tool -l for reader NAME: Yes/No/"" (no reader).
pcsc_reader_card_column() {
    timeout 20 opensc-tool -l 2>/dev/null |
        awk -v r="$1" '$1 ~ /^[0-9]+$/ && substr($0, length($0) - length(r) + 1) == r { print $2 }'
}

pcsc_card_state() {
    case $(pcsc_reader_card_column "$PCSC_READER") in
    Yes) echo present ;;
    *) echo absent ;;
    esac
}

# pcsc_wait_state present|absent: up to 20 s (a readiness wait, not a
# timing assertion: vpcd polls the card every few hundred ms).
pcsc_wait_state() {
    local i
    for i in $(seq 1 100); do
        [ "$(pcsc_card_state)" = "$1" ] && return 0
        sleep 0.2
    done
    fail "the card in '$PCSC_READER' did not become $1" "pcscd log:" \
        "$(tail -20 "$PCSC_DIR/pcscd.log" | indent)" "card log:" "$(tail -20 "$PCSC_DIR/vicc.log" 2>/dev/null | indent)"
}

pcsc_start() {
    pcsc_dir
    [ -s "${PCSC_IMAGE:-}" ] || fail "pcsc_start: no card image (call pcsc_make_card first)"
    PCSC_PORT=$(pcsc_free_port_pair)
    [ -n "$PCSC_PORT" ] || fail "no free TCP port pair for vpcd"
    cat >"$PCSC_DIR/reader.conf" <<EOF
FRIENDLYNAME "DMSC test vpcd"
DEVICENAME /dev/null:$PCSC_PORT
LIBPATH $PCSC_VPCD_LIB
CHANNELID $PCSC_PORT
EOF
    local ns=(unshare -m --propagation private)
    [ "$(id -u)" -eq 0 ] || ns=(unshare -rm --propagation private)
    # exec: the job's PID is pcscd's own.
    "${ns[@]}" sh -c 'mount -t tmpfs pcsc-test-run /run && mkdir /run/pcscd &&
        mount --bind "$1" /run/pcscd && exec pcscd -f -c "$2"' \
        sh "$PCSC_DIR/run" "$PCSC_DIR/reader.conf" >"$PCSC_DIR/pcscd.log" 2>&1 &
    PCSCD_PID=$!
    CLEANUP_PIDS+=("$PCSCD_PID")
    local i
    for i in $(seq 1 100); do
        kill -0 "$PCSCD_PID" 2>/dev/null ||
            fail "pcscd exited at start" "$(tail -20 "$PCSC_DIR/pcscd.log" | indent)"
        [ -n "$(pcsc_reader_card_column "$PCSC_READER")" ] && break
        sleep 0.2
    done
    [ -n "$(pcsc_reader_card_column "$PCSC_READER")" ] ||
        fail "pcscd did not show the reader '$PCSC_READER'" "$(tail -20 "$PCSC_DIR/pcscd.log" | indent)"
    pcsc_card_insert
}

pcsc_card_insert() {
    [ -z "$VICC_PID" ] || fail "pcsc_card_insert: the card is in the reader already"
    PYTHONPATH=$PCSC_SRC "$PCSC_PYTHON" "$PCSC_SRC/dm-vicc.py" --trace "$PCSC_TRACE" \
        "$PCSC_IMAGE" "$PCSC_PORT" >>"$PCSC_DIR/vicc.log" 2>&1 &
    VICC_PID=$!
    CLEANUP_PIDS+=("$VICC_PID")
    pcsc_wait_state present
}

pcsc_card_remove() {
    [ -n "$VICC_PID" ] || fail "pcsc_card_remove: no card in the reader"
    kill -TERM "$VICC_PID" 2>/dev/null || true
    pcsc_reap "$VICC_PID" "the card emulator" || true
    VICC_PID=
    pcsc_wait_state absent
}

pcsc_stop() {
    if [ -n "$VICC_PID" ]; then
        kill -TERM "$VICC_PID" 2>/dev/null || true
        pcsc_reap "$VICC_PID" "the card emulator" || true
        VICC_PID=
    fi
    if [ -n "$PCSCD_PID" ]; then
        kill -TERM "$PCSCD_PID" 2>/dev/null || true
        pcsc_reap "$PCSCD_PID" pcscd || true
        PCSCD_PID=
    fi
}

pcsc_crash() {
    [ -n "$PCSCD_PID" ] || fail "pcsc_crash: pcscd is not running"
    # Quiet: bash would report the job it reaps as "Killed".
    {
        kill -KILL "$PCSCD_PID" || true
        pcsc_reap "$PCSCD_PID" pcscd || true
    } 2>/dev/null
    PCSCD_PID=
    pcsc_stop
}

# pcsc_running PID: PID is one of this shell's background jobs and has not
# exited (a child that exited is a zombie, state Z, until bash reaps it;
# once reaped its PID may be another process's: never touch that one).
pcsc_running() {
    local stat
    [[ " $(jobs -p | tr '\n' ' ') " == *" $1 "* ]] || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

PCSC_REAP_STATUS=
pcsc_reap() {
    local pid=$1 what=$2 secs=${3:-20} i killed=0
    for i in $(seq 1 $((secs * 5))); do
        pcsc_running "$pid" || break
        sleep 0.2
    done
    if pcsc_running "$pid"; then
        say "$what (pid $pid) did not exit within $secs s: killed"
        kill -KILL "$pid" 2>/dev/null || true
        killed=1
    fi
    PCSC_REAP_STATUS=0
    { wait "$pid"; } 2>/dev/null || PCSC_REAP_STATUS=$?
    return "$killed"
}

pcsc_image_pin_tries() {
    "$PCSC_PYTHON" -c 'import json, sys
print(json.load(open(sys.argv[1]))["pins"][sys.argv[2]]["tries_left"])' "$PCSC_IMAGE" "$1"
}

# dm ARGS...: the dmsc tool ($DMSC) on the card's token ($TOKEN), bounded by
# P11_TIMEOUT; sets OUT (stdout and stderr) and RC.
dm() {
    RC=0
    OUT=$(timeout -k 5 "$P11_TIMEOUT" "$DMSC" --module "$DMSC_MODULE" --token "$TOKEN" "$@" 2>&1 </dev/null) || RC=$?
}
# dm_ok WHAT ARGS...: dm, failing the test with WHAT unless dmsc exited 0.
dm_ok() {
    local what=$1
    shift
    dm "$@"
    [ "$RC" -eq 0 ] || fail "$what: dmsc $* exited $RC" "$(indent <<<"$OUT")"
}
