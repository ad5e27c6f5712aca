#!/bin/bash
# Java (openjdk-17-jdk-headless) uses the module through SunPKCS11:
#  - a SunPKCS11 configuration file (name, library, slot or
#    slotListIndex) selects one card application;
#  - keytool -list -storetype PKCS11 -providerClass
#    sun.security.pkcs11.SunPKCS11 -providerArg CFG lists its entries (the
#    keystore password is the user PIN; a wrong one is refused);
#  - keytool -genkeypair makes RSA-2048 and EC P-256 key pairs on the card
#    with self-signed certificates; pkcs11-tool finds them, generated on
#    the card (local, never extractable); openssl checks the certificates;
#  - jarsigner signs a jar with each card key; jarsigner -verify (also
#    -strict against a trust store holding the card's certificate) and
#    openssl cms (the jar's PKCS#7 signature over its .SF file) verify it,
#    and a changed jar fails.
# Java quirks, recorded here:
#  - keytool -genkeypair generates the pair with the first provider that
#    has the algorithm (SunRsaSign for RSA, in software, then imported into
#    the card with C_CreateObject) unless -providerName SunPKCS11-NAME
#    names ours: with it the pair is generated on the card.
#  - SunPKCS11 generates session keys and stores them with C_CopyObject
#    (CKA_TOKEN = TRUE); the private key gets CKA_ID = the alias bytes and
#    no label, the certificate CKA_LABEL = the alias; no public key object
#    is stored (the certificate holds it).
#  - an application's private key appears in keytool -list only with a
#    certificate of the same CKA_ID; the DM application's network key shows
#    as "NETWORKID, SecretKeyEntry".
# The tools are installed in CI: a missing one fails the test, naming its
# Debian package.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=crypto-lib.sh
. "$(dirname "$0")/crypto-lib.sh"
# shellcheck source=interop-lib.sh
. "$(dirname "$0")/interop-lib.sh"

check_module
for c in java keytool jarsigner jar; do
    need_pkg "$c" openjdk-17-jdk-headless
done
need_pkg openssl openssl
need_pkg xxd xxd

setup_store
SO=12345678
PIN=1234
D=$TEST_TMP

# The first application is the DM application (it shows the card's network
# key); Java works on the second, so the slot selection is a real one.
step "tokens: dm (the first application) and java (the second)"
init_app dm "$SO" "$PIN"
init_app java "$SO" "$PIN"
T=(--token-label java)
slot_of java
[ -n "$SLOT" ] || fail "token java not found" "output:" "$(indent <<<"$OUT")"
JSLOT=$((SLOT))
say "token java is in slot $JSLOT"

# SunPKCS11 takes the slot ID as a decimal number.
printf 'name = dmsc\nlibrary = %s\nslot = %s\n' "$DMSC_MODULE" "$JSLOT" >"$D/java.cfg"
# slotListIndex: the position in C_GetSlotList (dm, java, the spare slot).
printf 'name = dmsc\nlibrary = %s\nslotListIndex = 0\n' "$DMSC_MODULE" >"$D/java-dm.cfg"
P11=(-storetype PKCS11 -providerClass sun.security.pkcs11.SunPKCS11)
KS=("${P11[@]}" -providerArg "$D/java.cfg" -storepass "$PIN")

step "keytool -list on an empty application, on the DM application, and with a wrong PIN"
tool_ok "keytool -list (java)" keytool -list "${KS[@]}"
out_has_all "keytool -list (java)" "Keystore provider: SunPKCS11-dmsc" "Your keystore contains 0 entries"
tool_ok "keytool -list (dm, slotListIndex = 0)" keytool -list "${P11[@]}" -providerArg "$D/java-dm.cfg" -storepass "$PIN"
out_has_all "keytool -list (dm)" "Your keystore contains 1 entry" "NETWORKID, SecretKeyEntry"
tool_fails "keytool -list with a wrong PIN" keytool -list -v "${P11[@]}" -providerArg "$D/java.cfg" -storepass 9999
out_has_all "keytool -list with a wrong PIN" "FailedLoginException" "CKR_PIN_INCORRECT"
expect_flags java "after one wrong PIN from keytool" +"user PIN count low"

step "keytool -genkeypair -providerName SunPKCS11-dmsc: RSA-2048 and EC P-256 generated on the card"
tool_ok "keytool -genkeypair RSA" keytool -genkeypair "${KS[@]}" -providerName SunPKCS11-dmsc \
    -alias jrsa -keyalg RSA -keysize 2048 -sigalg SHA256withRSA -dname "CN=dmsc java rsa" -validity 30
tool_ok "keytool -genkeypair EC" keytool -genkeypair "${KS[@]}" -providerName SunPKCS11-dmsc \
    -alias jec -keyalg EC -groupname secp256r1 -sigalg SHA256withECDSA -dname "CN=dmsc java ec" -validity 30
expect_flags java "after the right PIN" -"user PIN count low"
tool_ok "keytool -list" keytool -list "${KS[@]}"
out_has_all "keytool -list" "Your keystore contains 2 entries" "jrsa, PrivateKeyEntry" "jec, PrivateKeyEntry"

for spec in jrsa:RSA jec:EC; do
    alias=${spec%%:*}
    kind=${spec#*:}
    id=$(printf '%s' "$alias" | xxd -p)
    p11_ok "pkcs11-tool lists the private key of $alias" "${T[@]}" --login --pin "$PIN" -O --type privkey
    block=$(awk -v want="$id" '/^[A-Z][a-z]+ .*Object/ { if (b != "" && hit) print b; b = ""; hit = 0 }
        { b = b $0 "\n" } /^  ID: / && $2 == want { hit = 1 } END { if (hit) print b }' <<<"$OUT")
    grep -qF "Private Key Object; $kind" <<<"$block" ||
        fail "no $kind private key with ID $id ($alias) on the card" "output:" "$(indent <<<"$OUT")"
    grep -qF "always sensitive, never extractable, local" <<<"$block" ||
        fail "the private key of $alias was not generated on the card" "key:" "$(indent <<<"$block")"
    p11_ok "pkcs11-tool lists the certificate of $alias" "${T[@]}" -O --type cert --label "$alias"
    out_has "DN: CN=dmsc java ${alias#j}" "the certificate of $alias on the card"
    tool_ok "keytool -exportcert $alias" keytool -exportcert "${KS[@]}" -alias "$alias" -rfc -file "$D/$alias.pem"
    cert_self_signed_ok "keytool's certificate ($alias)" "$D/$alias.pem"
done

step "jarsigner signs a jar with each card key; jarsigner and openssl verify"
mkdir "$D/content"
head -c 4096 /dev/urandom >"$D/content/payload.bin"
printf 'dmsc interop\n' >"$D/content/hello.txt"
tool_ok "jar cf" jar cf "$D/app.jar" -C "$D/content" hello.txt -C "$D/content" payload.bin
tool_ok "keytool -importcert (trust store)" keytool -importcert -noprompt -alias jrsa -file "$D/jrsa.pem" \
    -keystore "$D/trust.p12" -storetype PKCS12 -storepass changeit
tool_ok "keytool -importcert (trust store)" keytool -importcert -noprompt -alias jec -file "$D/jec.pem" \
    -keystore "$D/trust.p12" -storetype PKCS12 -storepass changeit
for spec in jrsa:RSA jec:EC; do
    alias=${spec%%:*}
    ext=${spec#*:}
    upper=$(tr '[:lower:]' '[:upper:]' <<<"$alias")
    tool_ok "jarsigner ($alias)" jarsigner -keystore NONE "${KS[@]}" -signedjar "$D/signed-$alias.jar" \
        "$D/app.jar" "$alias"
    out_has_all "jarsigner ($alias)" "jar signed."
    tool_ok "jarsigner -verify ($alias)" jarsigner -verify -verbose -certs "$D/signed-$alias.jar"
    out_has_all "jarsigner -verify ($alias)" "jar verified." "Signed by \"CN=dmsc java ${alias#j}\""
    tool_ok "jarsigner -verify -strict ($alias)" jarsigner -verify -strict -keystore "$D/trust.p12" \
        -storetype PKCS12 -storepass changeit "$D/signed-$alias.jar"
    out_has_all "jarsigner -verify -strict ($alias)" "jar verified."
    # openssl, independently: the PKCS#7 signature the card made over the
    # signature file, checked with the card's certificate.
    rm -rf "$D/x-$alias"
    mkdir "$D/x-$alias"
    (cd "$D/x-$alias" && jar xf "$D/signed-$alias.jar")
    sf="$D/x-$alias/META-INF/$upper.SF"
    p7="$D/x-$alias/META-INF/$upper.$ext"
    if [ ! -f "$sf" ] || [ ! -f "$p7" ]; then
        fail "signed jar ($alias): no META-INF/$upper.SF and .$ext" "$(ls -R "$D/x-$alias")"
    fi
    tool_ok "openssl cms -verify ($alias)" openssl cms -verify -binary -inform DER -in "$p7" -content "$sf" \
        -CAfile "$D/$alias.pem" -purpose any -out /dev/null
    out_has_all "openssl cms -verify ($alias)" "Verification successful"
    printf '\n' >>"$sf"
    tool_fails "openssl cms -verify of a changed .SF ($alias)" openssl cms -verify -binary -inform DER -in "$p7" \
        -content "$sf" -CAfile "$D/$alias.pem" -purpose any -out /dev/null
done

step "jarsigner -verify refuses a signed jar whose content changed"
cp "$D/signed-jrsa.jar" "$D/changed.jar"
mkdir "$D/evil"
printf 'changed\n' >"$D/evil/hello.txt"
tool_ok "jar uf" jar uf "$D/changed.jar" -C "$D/evil" hello.txt
tool_fails "jarsigner -verify of a changed jar" jarsigner -verify "$D/changed.jar"
out_has_all "jarsigner -verify of a changed jar" "digest error for hello.txt"

say "PASS"
