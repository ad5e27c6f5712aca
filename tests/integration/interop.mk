# The interop matrix: other PKCS#11 applications on the built module
# (GnuTLS, OpenSSL's libp11 engine, NSS, Java's SunPKCS11, Python's
# PyKCS11). Included by the top-level Makefile.am; paths are relative to the
# top directory. Every tool they drive is in scripts/bootstrap.sh: a missing
# one fails its test, naming the Debian package.

INTEROP_TESTS = \
	tests/integration/test-interop-gnutls.sh \
	tests/integration/test-interop-openssl.sh \
	tests/integration/test-interop-nss.sh \
	tests/integration/test-interop-java.sh \
	tests/integration/test-interop-python.sh

TESTS += $(INTEROP_TESTS)

EXTRA_DIST += \
	tests/integration/interop-lib.sh \
	tests/integration/pykcs11-sign.py \
	$(INTEROP_TESTS)
