# shellcheck shell=bash
# The approval set-up shared by tests/integration/test-approve.sh and
# bench/run-bench-approve.sh: the MA's token (SoftHSM, made on the spot),
# a card whose DM application holds the MA certificate as trust anchor,
# and a FUMO message that names a package (dm-ext/APPROVAL.md).
#
# Needs: softhsm2-util, pkcs11-tool, openssl, and the p11-driver test
# program (it sets CKA_TRUSTED as the SO, which pkcs11-tool cannot).

SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
MA_PIN=1234
MA_SO_PIN=12345678
CARD_PIN=1234
CARD_SO_PIN=87654321

# ma_token DIR: a SoftHSM token "MA" under DIR (SOFTHSM2_CONF exported)
# with no key yet.
ma_token() {
    local dir=$1
    mkdir -p "$dir/softhsm-tokens"
    printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
        "$dir/softhsm-tokens" >"$dir/softhsm2.conf"
    export SOFTHSM2_CONF="$dir/softhsm2.conf"
    softhsm2-util --init-token --free --label MA --so-pin "$MA_SO_PIN" \
        --pin "$MA_PIN" >/dev/null
}

# ma_key DIR NAME ID [NEWKEY [OPENSSL-REQ-ARGS...]]: a key (openssl req's
# -newkey NEWKEY, default rsa:2048) and a self-signed certificate
# (DIR/NAME.key, NAME.pem, NAME.der, NAME.pub), the key imported into the
# MA token with label NAME and id ID.
ma_key() {
    local dir=$1 name=$2 id=$3 newkey=${4:-rsa:2048}
    shift 3
    [ $# -gt 0 ] && shift
    openssl req -x509 -newkey "$newkey" -nodes -subj "/CN=$name" -days 365 \
        -keyout "$dir/$name.key" -out "$dir/$name.pem" "$@" 2>/dev/null
    openssl x509 -in "$dir/$name.pem" -outform DER -out "$dir/$name.der"
    openssl x509 -in "$dir/$name.pem" -pubkey -noout >"$dir/$name.pub"
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label MA --login \
        --pin "$MA_PIN" --write-object "$dir/$name.key" --type privkey \
        --label "$name" --id "$id" >/dev/null 2>&1
}

# card STORE CERT.der trusted|untrusted: a new card in the store directory
# STORE whose DM application (token "DM") holds CERT, as trust anchor
# (CKA_TRUSTED, set by the SO) or as a plain certificate.
card() {
    local store=$1 der=$2 how=$3 module=${DMSC_MODULE:?} extra=""
    local driver=${P11_DRIVER:-${DMSC_BUILDDIR:-.}/tests/integration/p11-driver}
    [ "$how" = trusted ] && extra=" trusted"
    DMSC_STORE=$store pkcs11-tool --module "$module" --init-token --slot 0 \
        --label DM --so-pin "$CARD_SO_PIN" >/dev/null
    DMSC_STORE=$store pkcs11-tool --module "$module" --token-label DM --login \
        --login-type so --so-pin "$CARD_SO_PIN" --init-pin --new-pin "$CARD_PIN" >/dev/null
    printf 'init\nopen DM\nsologin %s\ncert MA 01 %s%s\nquit\n' \
        "$CARD_SO_PIN" "$der" "$extra" |
        DMSC_STORE=$store DMSC_MODULE=$module "$driver" | grep -v '^ok$' && return 1
    return 0
}

# fumo_message FILE DIGEST [NODE [NAME]]: a SyncML DM 1.2 message telling
# the device to download and update firmware: Replace of NODE/PkgName and
# NODE/Ext/PkgDigest (DIGEST, 64 hex digits), Exec of
# NODE/DownloadAndUpdate.  NODE defaults to ./FUMO/fw1.
fumo_message() {
    local file=$1 digest=$2 node=${3:-./FUMO/fw1} name=${4:-Firmware 2.0}
    cat >"$file" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<SyncML xmlns="SYNCML:SYNCML1.2">
  <SyncHdr>
    <VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>
    <SessionID>1</SessionID><MsgID>2</MsgID>
    <Target><LocURI>IMEI:493005100592800</LocURI></Target>
    <Source><LocURI>https://dm.example.com/ma</LocURI></Source>
  </SyncHdr>
  <SyncBody>
    <Replace>
      <CmdID>3</CmdID>
      <Item>
        <Target><LocURI>$node/PkgName</LocURI></Target>
        <Meta><Format xmlns="syncml:metinf">chr</Format></Meta>
        <Data>$name</Data>
      </Item>
      <Item>
        <Target><LocURI>$node/Ext/PkgDigest</LocURI></Target>
        <Meta><Format xmlns="syncml:metinf">chr</Format></Meta>
        <Data>$digest</Data>
      </Item>
    </Replace>
    <Exec>
      <CmdID>4</CmdID>
      <Item><Target><LocURI>$node/DownloadAndUpdate</LocURI></Target></Item>
    </Exec>
    <Final/>
  </SyncBody>
</SyncML>
EOF
}
