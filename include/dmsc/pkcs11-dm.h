/*
 * <dmsc/pkcs11-dm.h> - the vendor-defined PKCS#11 mechanisms of dmsc, the
 * OMA DM smart card module.  Include it after a PKCS#11 header (p11-kit's
 * <p11-kit/pkcs11.h>, or any other that defines CK_ULONG, CKM_VENDOR_DEFINED
 * and the CK_* types).
 *
 * Two families:
 *
 * 1. Canonical-form mechanisms.  The data given to C_Sign / C_Verify /
 *    C_Digest (single- or multi-part) is a DM message: SyncML DM XML, its
 *    WBXML form, a TNDS document, or opaque bytes (a firmware package).  The
 *    module computes the canonical form (dm-ext/CANON.md: Exclusive XML C14N
 *    1.0 of the normalised message tree) and signs, verifies or digests that,
 *    so the XML and the WBXML form of one message give the same signature.
 *    Opaque input is its own canonical form and is streamed.
 *
 *    Without a parameter the whole message is covered, so
 *    `pkcs11-tool -m 0xC44D0010 --sign ...` works.  A CK_DMSC_DM_PARAMS
 *    parameter selects one atomic unit: the SyncBody or one command by CmdID.
 *
 *    An XML or WBXML message is held until the end of the operation, at most
 *    CKD_DMSC_DM_MAX_MESSAGE bytes: C_SignUpdate/C_VerifyUpdate/C_DigestUpdate
 *    past that fail with CKR_DATA_LEN_RANGE.  A message that cannot be read
 *    (not well-formed, refused constructs, the selected unit missing) fails
 *    the call that ends the operation with CKR_DATA_INVALID; opaque input
 *    with a unit selected fails as soon as it is recognised (at a
 *    C_*Update, or the call that ends the operation).  Opaque input has no
 *    size limit, except with CKM_DMSC_EDDSA: pure Ed25519 needs the whole
 *    canonical form at once, so it holds at most 64 MiB of it (then
 *    CKR_DATA_LEN_RANGE; a message of 16 MiB can canonicalise to more).
 *
 * 2. DM 1.2 session security (OMA-TS-DM_Security).  The DM credential is a
 *    secret key object on the card (CKK_GENERIC_SECRET, CKA_VALUE = the
 *    password / secret, CKA_SIGN and/or CKA_VERIFY); made CKA_SENSITIVE and
 *    not extractable, as it should be, it never leaves the card.
 *    The output is the Base64 text that goes into the DM message.
 */
#ifndef DMSC_PKCS11_DM_H
#define DMSC_PKCS11_DM_H

#define CKM_DMSC_BASE                 (CKM_VENDOR_DEFINED | 0x444D0000UL) /* "DM" */

/* ---- canonical-form mechanisms ---- */

/* SHA-256 of the canonical form (C_Digest). */
#define CKM_DMSC_SHA256               (CKM_DMSC_BASE + 0x01UL)
/* RSA PKCS#1 v1.5 with SHA-256 over the canonical form. */
#define CKM_DMSC_SHA256_RSA_PKCS      (CKM_DMSC_BASE + 0x10UL)
/* RSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt (fixed: the
 * parameter selects the unit, not PSS settings). */
#define CKM_DMSC_SHA256_RSA_PKCS_PSS  (CKM_DMSC_BASE + 0x11UL)
/* ECDSA with SHA-256 / SHA-384; signatures are r || s as for CKM_ECDSA. */
#define CKM_DMSC_ECDSA_SHA256         (CKM_DMSC_BASE + 0x20UL)
#define CKM_DMSC_ECDSA_SHA384         (CKM_DMSC_BASE + 0x21UL)
/* Ed25519 (pure EdDSA) over the canonical form. */
#define CKM_DMSC_EDDSA                (CKM_DMSC_BASE + 0x30UL)
/* HMAC-SHA-256 over the canonical form. */
#define CKM_DMSC_SHA256_HMAC          (CKM_DMSC_BASE + 0x40UL)

/* The largest XML or WBXML message the canonical-form mechanisms take. */
#define CKD_DMSC_DM_MAX_MESSAGE       (16UL * 1024UL * 1024UL)

/* Which atomic unit of the message is covered (CK_DMSC_DM_PARAMS.unit). */
#define CKD_DMSC_UNIT_MESSAGE         0UL /* the whole message (default) */
#define CKD_DMSC_UNIT_SYNCBODY        1UL /* the <SyncBody> of a SyncML message */
#define CKD_DMSC_UNIT_CMDID           2UL /* the command with <CmdID> pCmdID */

typedef struct CK_DMSC_DM_PARAMS {
	CK_ULONG unit;            /* CKD_DMSC_UNIT_* */
	CK_UTF8CHAR *pCmdID;      /* CKD_DMSC_UNIT_CMDID: the CmdID text; else NULL */
	CK_ULONG ulCmdIDLen;      /* 1..64 bytes */
} CK_DMSC_DM_PARAMS;

/* ---- DM 1.2 session security ---- */

/* syncml:auth-md5: B64(MD5(B64(MD5(username ":" secret)) ":" nonce)).
 * Parameter CK_DMSC_SYNCML_AUTH_PARAMS (required); the data is empty
 * (data given: CKR_DATA_LEN_RANGE).  C_Sign gives the 24 characters of the
 * credential's <Data>; C_Verify checks one (a server's credential against
 * the server secret): 24 characters, or the 22 before "==", canonical
 * Base64 only (else CKR_SIGNATURE_INVALID, or CKR_SIGNATURE_LEN_RANGE for
 * another length). */
#define CKM_DMSC_SYNCML_AUTH_MD5      (CKM_DMSC_BASE + 0x100UL)
/* x-syncml-hmac (MD5): B64(MD5(B64(MD5(username ":" secret)) ":" nonce ":"
 * B64(MD5(body)))), the data being the exact bytes of the message body as
 * sent (XML or WBXML: a MAC covers bytes, not the canonical form).  The
 * keyed digest the OMA DM security specification writes out, not RFC 2104
 * HMAC.  Parameter CK_DMSC_SYNCML_AUTH_PARAMS (required); multi-part
 * streams; C_Verify takes the mac= value as auth-md5's does. */
#define CKM_DMSC_SYNCML_HMAC_MD5      (CKM_DMSC_BASE + 0x101UL)

typedef struct CK_DMSC_SYNCML_AUTH_PARAMS {
	CK_UTF8CHAR *pUserName;   /* the DM account's user name (AAuthName) */
	CK_ULONG ulUserNameLen;   /* 0..255 */
	CK_BYTE *pNonce;          /* the nonce as bytes (NextNonce Base64-decoded) */
	CK_ULONG ulNonceLen;      /* 0..255 */
} CK_DMSC_SYNCML_AUTH_PARAMS;

/* DM bootstrap MAC (OMA-TS-DM_Bootstrap, OMA-WAP-TS-ProvBoot): HMAC-SHA1
 * over the bootstrap message (the WBXML bytes as received), verify only;
 * the signature given to C_Verify is the MAC as 40 hexadecimal characters,
 * as it is sent in the MAC= parameter (either case), or the 20 raw bytes.
 * The key handle is the card's network key object in the DM application
 * (CKO_SECRET_KEY, CKA_LABEL "NETWORKID", made by the card from its IMSI,
 * never readable, CKA_VERIFY only): its value is the IMSI coded as in
 * 3GPP TS 24.008 (EF_IMSI without its length byte; 4..8 bytes).  The
 * parameter chooses the method; with SEC=USERPIN the key's value is not
 * used, but the network key is still the key handle given.  SEC=3
 * (USERPINMAC) is not supported: CKR_MECHANISM_PARAM_INVALID. */
#define CKM_DMSC_BOOTSTRAP_HMAC_SHA1  (CKM_DMSC_BASE + 0x110UL)

#define CKD_DMSC_SEC_NETWPIN          0UL /* key: the network key */
#define CKD_DMSC_SEC_USERPIN          1UL /* key: the user PIN's bytes */
#define CKD_DMSC_SEC_USERNETWPIN      2UL /* key: network key bytes || user PIN
                                             bytes, no separator */

typedef struct CK_DMSC_BOOTSTRAP_PARAMS {
	CK_ULONG sec;             /* CKD_DMSC_SEC_* (the SEC= value) */
	CK_UTF8CHAR *pUserPin;    /* USERPIN, USERNETWPIN: 1..64 bytes;
	                             NETWPIN: NULL, 0 */
	CK_ULONG ulUserPinLen;
} CK_DMSC_BOOTSTRAP_PARAMS;

#endif /* DMSC_PKCS11_DM_H */
