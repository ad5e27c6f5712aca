#!/usr/bin/python3
"""Write the DER fixtures of tokens/pcsc/test-pkcs15.c (and the seed corpus
of tests/fuzz/fuzz-pkcs15.c) with an encoder independent of libtasn1:
Python's asn1crypto (Debian: python3-asn1crypto), the PKCS#15 v1.1 types
declared below from the standard, not from tokens/pcsc/pkcs15.asn.

    /usr/bin/python3 tokens/pcsc/testdata/make-p15-fixtures.py [OUTDIR]

OUTDIR defaults to the directory of this script. The output is checked in;
run this again after changing it and commit both. The values written here
are the ones test-pkcs15.c asserts (keep the two in step).
"""
import os
import sys

from asn1crypto import core

# PKCS#15 v1.1 types, as asn1crypto classes. The module is IMPLICIT TAGS;
# a tag on a CHOICE or on a type parameter is explicit.


class Path(core.Sequence):
    _fields = [
        ('path', core.OctetString),
        ('index', core.Integer, {'optional': True}),
        ('length', core.Integer, {'implicit': 0, 'optional': True}),
    ]


class ReferencedValue(core.Choice):
    _alternatives = [('path', Path), ('url', core.PrintableString)]


class ObjectValue(core.Choice):
    _alternatives = [
        ('indirect', ReferencedValue),
        ('direct', core.Any, {'explicit': 0}),
    ]


class CommonObjectFlags(core.BitString):
    _map = {0: 'private', 1: 'modifiable'}


class CommonObjectAttributes(core.Sequence):
    _fields = [
        ('label', core.UTF8String, {'optional': True}),
        ('flags', CommonObjectFlags, {'optional': True}),
        ('authId', core.OctetString, {'optional': True}),
        # extension addition: dmsc must skip it
        ('userConsent', core.Integer, {'optional': True}),
    ]


class KeyUsageFlags(core.BitString):
    _map = {0: 'encrypt', 1: 'decrypt', 2: 'sign', 3: 'signRecover', 4: 'wrap', 5: 'unwrap',
            6: 'verify', 7: 'verifyRecover', 8: 'derive', 9: 'nonRepudiation'}


class KeyAccessFlags(core.BitString):
    _map = {0: 'sensitive', 1: 'extractable', 2: 'alwaysSensitive', 3: 'neverExtractable', 4: 'local'}


class CommonKeyAttributes(core.Sequence):
    _fields = [
        ('iD', core.OctetString),
        ('usage', KeyUsageFlags),
        ('native', core.Boolean, {'default': True}),
        ('accessFlags', KeyAccessFlags, {'optional': True}),
        ('keyReference', core.Integer, {'optional': True}),
    ]


class CommonPrivateKeyAttributes(core.Sequence):
    _fields = [('subjectName', core.Any, {'optional': True})]


class PrivateRSAKeyAttributes(core.Sequence):
    _fields = [('value', ObjectValue), ('modulusLength', core.Integer)]


class PrivateECKeyAttributes(core.Sequence):
    _fields = [('value', ObjectValue)]


def pkcs15_object(class_attrs, subclass_attrs, type_attrs):
    class Obj(core.Sequence):
        _fields = [
            ('commonObjectAttributes', CommonObjectAttributes),
            ('classAttributes', class_attrs),
            ('subClassAttributes', subclass_attrs, {'explicit': 0, 'optional': True}),
            ('typeAttributes', type_attrs, {'explicit': 1}),
        ]
    return Obj


PrivateRSAKeyObject = pkcs15_object(CommonKeyAttributes, CommonPrivateKeyAttributes, PrivateRSAKeyAttributes)
PrivateECKeyObject = pkcs15_object(CommonKeyAttributes, CommonPrivateKeyAttributes, PrivateECKeyAttributes)
# A DSA key: dmsc does not know it and skips it.
PrivateDSAKeyObject = pkcs15_object(CommonKeyAttributes, CommonPrivateKeyAttributes, PrivateECKeyAttributes)


class PrivateKeyType(core.Choice):
    _alternatives = [
        ('privateRSAKey', PrivateRSAKeyObject),
        ('privateECKey', PrivateECKeyObject, {'implicit': 0}),
        ('privateDSAKey', PrivateDSAKeyObject, {'implicit': 2}),
    ]


class CommonPublicKeyAttributes(core.Sequence):
    _fields = [('subjectName', core.Any, {'optional': True})]


PublicRSAKeyObject = pkcs15_object(CommonKeyAttributes, CommonPublicKeyAttributes, PrivateRSAKeyAttributes)
PublicECKeyObject = pkcs15_object(CommonKeyAttributes, CommonPublicKeyAttributes, PrivateECKeyAttributes)


class PublicKeyType(core.Choice):
    _alternatives = [
        ('publicRSAKey', PublicRSAKeyObject),
        ('publicECKey', PublicECKeyObject, {'implicit': 0}),
    ]


class CommonCertificateAttributes(core.Sequence):
    _fields = [
        ('iD', core.OctetString),
        ('authority', core.Boolean, {'default': False}),
    ]


class X509CertificateAttributes(core.Sequence):
    _fields = [('value', ObjectValue), ('serialNumber', core.Integer, {'optional': True})]


X509CertificateObject = pkcs15_object(CommonCertificateAttributes, core.Null, X509CertificateAttributes)


class CertificateType(core.Choice):
    _alternatives = [
        ('x509Certificate', X509CertificateObject),
        # an attribute certificate: skipped by dmsc
        ('attributeCertificate', X509CertificateObject, {'implicit': 0}),
    ]


class CommonDataObjectAttributes(core.Sequence):
    _fields = [
        ('applicationName', core.UTF8String, {'optional': True}),
        ('applicationOID', core.ObjectIdentifier, {'optional': True}),
    ]


def EMPTY_CDA():
    # asn1crypto takes an empty dict for "not set": an empty SEQUENCE is loaded.
    return CommonDataObjectAttributes.load(b'\x30\x00')


OpaqueDataObject = pkcs15_object(CommonDataObjectAttributes, core.Null, ObjectValue)


class DataType(core.Choice):
    _alternatives = [
        ('opaqueDO', OpaqueDataObject),
        ('externalIDO', OpaqueDataObject, {'implicit': 0}),
    ]


class PinFlags(core.BitString):
    _map = {0: 'case-sensitive', 1: 'local', 2: 'change-disabled', 3: 'unblock-disabled',
            4: 'initialized', 5: 'needs-padding', 6: 'unblockingPin', 7: 'soPin',
            8: 'disable-allowed', 9: 'integrity-protected', 10: 'confidentiality-protected',
            11: 'exchangeRefData'}


class PinType(core.Enumerated):
    _map = {0: 'bcd', 1: 'ascii-numeric', 2: 'utf8', 3: 'half-nibble-bcd', 4: 'iso9564-1'}


class PinAttributes(core.Sequence):
    _fields = [
        ('pinFlags', PinFlags),
        ('pinType', PinType),
        ('minLength', core.Integer),
        ('storedLength', core.Integer),
        ('maxLength', core.Integer, {'optional': True}),
        ('pinReference', core.Integer, {'implicit': 0, 'default': 0}),
        ('padChar', core.OctetString, {'optional': True}),
        ('lastPinChange', core.GeneralizedTime, {'optional': True}),
        ('path', Path, {'optional': True}),
    ]


class CommonAuthenticationObjectAttributes(core.Sequence):
    _fields = [('authId', core.OctetString)]


PinObject = pkcs15_object(CommonAuthenticationObjectAttributes, core.Null, PinAttributes)


class AuthenticationType(core.Choice):
    _alternatives = [
        ('pin', PinObject),
        # a biometric template: skipped by dmsc
        ('biometricTemplate', PinObject, {'implicit': 0}),
    ]


class PathOrObjects(core.Choice):
    _alternatives = [('path', Path), ('objects', core.SequenceOf, {'implicit': 0})]


class PKCS15Objects(core.Choice):
    _alternatives = [(name, PathOrObjects, {'explicit': tag}) for tag, name in enumerate(
        ['privateKeys', 'publicKeys', 'trustedPublicKeys', 'secretKeys', 'certificates',
         'trustedCertificates', 'usefulCertificates', 'dataObjects', 'authObjects'])]


class TokenFlags(core.BitString):
    _map = {0: 'readonly', 1: 'loginRequired', 2: 'prnGeneration', 3: 'eidCompliant'}


class TokenInfo(core.Sequence):
    _fields = [
        ('version', core.Integer),
        ('serialNumber', core.OctetString),
        ('manufacturerID', core.UTF8String, {'optional': True}),
        ('label', core.UTF8String, {'implicit': 0, 'optional': True}),
        ('tokenflags', TokenFlags),
        # extension additions
        ('holderId', core.UTF8String, {'implicit': 4, 'optional': True}),
        ('preferredLanguage', core.PrintableString, {'optional': True}),
    ]


class DIRRecord(core.Sequence):
    class_ = 1
    tag = 1
    _fields = [
        ('aid', core.OctetString, {'implicit': ('application', 15)}),
        ('label', core.UTF8String, {'implicit': ('application', 16), 'optional': True}),
        ('path', core.OctetString, {'implicit': ('application', 17)}),
    ]


# The values (test-pkcs15.c asserts these).
P15_AID = bytes.fromhex('A000000063504B43532D3135')
ICCID = bytes.fromhex('981013000000000000F1')
BOOTSTRAP_OID = '2.23.43.7.1'


def path(hexpath, index=None, length=None):
    p = {'path': bytes.fromhex(hexpath)}
    if index is not None:
        p['index'] = index
        p['length'] = length
    return Path(p)


def indirect(hexpath, index=None, length=None):
    return ObjectValue(name='indirect', value=ReferencedValue(name='path', value=path(hexpath, index, length)))


def dir_file():
    other = DIRRecord({'aid': bytes.fromhex('A0000000871002'), 'label': 'USIM', 'path': bytes.fromhex('7FF0')},
                      implicit=('application', 1))
    p15 = DIRRecord({'aid': P15_AID, 'label': 'DM PKCS#15', 'path': bytes.fromhex('3F005015')},
                    implicit=('application', 1))
    # Record-by-record in a transparent EF, as some cards have it.
    return other.dump() + p15.dump()


def odf():
    entries = [
        ('privateKeys', '3F0050154400'),
        ('publicKeys', '3F0050154401'),
        ('trustedPublicKeys', '3F0050154402'),
        ('secretKeys', '3F0050154403'),  # not a kind dmsc reads: skipped
        ('certificates', '3F0050154404'),
        ('trustedCertificates', '3F0050154405'),
        ('usefulCertificates', '3F0050154406'),
        ('dataObjects', '3F0050154407'),
        ('authObjects', '3F0050154408'),
    ]
    out = b''.join(PKCS15Objects(name=n, value=PathOrObjects(name='path', value=path(p))).dump()
                   for n, p in entries)
    return out + b'\x00' * 12  # the rest of the EF


def tokeninfo():
    return TokenInfo({
        'version': 0,
        'serialNumber': ICCID,
        'manufacturerID': 'dmsc test',
        'label': 'DM card',
        'tokenflags': TokenFlags({'loginRequired', 'prnGeneration'}),
        'holderId': 'holder',
        'preferredLanguage': 'en',
    }).dump()


def coa(label, private=False, modifiable=False, auth_id=None, consent=None):
    flags = set()
    if private:
        flags.add('private')
    if modifiable:
        flags.add('modifiable')
    a = {'label': label, 'flags': CommonObjectFlags(flags)}
    if auth_id is not None:
        a['authId'] = auth_id
    if consent is not None:
        a['userConsent'] = consent
    return a


def prkdf():
    rsa = PrivateKeyType(name='privateRSAKey', value={
        'commonObjectAttributes': coa('DM signing key', private=True, auth_id=b'\x01', consent=1),
        'classAttributes': {'iD': b'\x45', 'usage': KeyUsageFlags({'sign', 'nonRepudiation'}),
                            'accessFlags': KeyAccessFlags({'sensitive', 'local'}), 'keyReference': 0x81},
        'typeAttributes': {'value': indirect('3F0050154B01'), 'modulusLength': 2048},
    })
    ec = PrivateKeyType(name='privateECKey', value={
        'commonObjectAttributes': coa('EC key', private=True, auth_id=b'\x01'),
        'classAttributes': {'iD': b'\x46\x47', 'usage': KeyUsageFlags({'sign', 'derive'}), 'keyReference': 2},
        'typeAttributes': {'value': indirect('4B02')},
    })
    dsa = PrivateKeyType(name='privateDSAKey', value={
        'commonObjectAttributes': coa('DSA key'),
        'classAttributes': {'iD': b'\x48', 'usage': KeyUsageFlags({'sign'})},
        'typeAttributes': {'value': indirect('4B03')},
    })
    return rsa.dump() + dsa.dump() + ec.dump() + b'\xff' * 7


def pukdf(trusted=False):
    if trusted:
        return PublicKeyType(name='publicECKey', value={
            'commonObjectAttributes': coa('Trusted EC key'),
            'classAttributes': {'iD': b'\x50', 'usage': KeyUsageFlags({'verify'})},
            'typeAttributes': {'value': indirect('3F0050155502')},
        }).dump()
    return PublicKeyType(name='publicRSAKey', value={
        'commonObjectAttributes': coa('DM signing key', modifiable=True),
        'classAttributes': {'iD': b'\x45', 'usage': KeyUsageFlags({'verify'})},
        'typeAttributes': {'value': indirect('3F0050155501'), 'modulusLength': 2048},
    }).dump()


def cdf(kind):
    if kind == 'own':
        own = CertificateType(name='x509Certificate', value={
            'commonObjectAttributes': coa('DM client certificate'),
            'classAttributes': {'iD': b'\x45'},
            'typeAttributes': {'value': indirect('3F0050154331'), 'serialNumber': 7},
        })
        attr = CertificateType(name='attributeCertificate', value={
            'commonObjectAttributes': coa('attribute cert'),
            'classAttributes': {'iD': b'\x49'},
            'typeAttributes': {'value': indirect('4339')},
        })
        return own.dump() + attr.dump()
    if kind == 'trusted':
        return CertificateType(name='x509Certificate', value={
            'commonObjectAttributes': coa('MA certificate'),
            'classAttributes': {'iD': b'\x4d\x41', 'authority': True},
            'typeAttributes': {'value': indirect('3F0050154332')},
        }).dump() + b'\x00\x00'
    return CertificateType(name='x509Certificate', value={
        'commonObjectAttributes': coa('Intermediate'),
        'classAttributes': {'iD': b'\x4d\x42', 'authority': True},
        'typeAttributes': {'value': indirect('3F0050154333', 0, 512)},
    }).dump()


def data_object(label, app_name=None, app_oid=None, value_path='', index=None, length=None,
                modifiable=True, private=False, auth_id=None):
    cda = {}
    if app_name is not None:
        cda['applicationName'] = app_name
    if app_oid is not None:
        cda['applicationOID'] = app_oid
    return DataType(name='opaqueDO', value={
        'commonObjectAttributes': coa(label, private=private, modifiable=modifiable, auth_id=auth_id),
        'classAttributes': CommonDataObjectAttributes(cda) if cda else EMPTY_CDA(),
        'typeAttributes': indirect(value_path, index, length),
    })


def dodf():
    objs = [
        data_object('DM bootstrap', app_oid=BOOTSTRAP_OID, value_path='3F0050156001', modifiable=False),
        data_object('./DMAcc/OperatorX', app_name='OMA-DM:MO', value_path='3F0050156002',
                    index=0, length=300, private=True, auth_id=b'\x01'),
        data_object('', app_name='OMA-DM:SPARE', value_path='3F0050156003'),
        DataType(name='externalIDO', value={
            'commonObjectAttributes': coa('external'),
            'classAttributes': EMPTY_CDA(),
            'typeAttributes': indirect('6009'),
        }),
    ]
    return b''.join(o.dump() for o in objs) + b'\xff' * 40


def aodf():
    user = AuthenticationType(name='pin', value={
        'commonObjectAttributes': coa('User PIN', modifiable=True),
        'classAttributes': {'authId': b'\x01'},
        'typeAttributes': {
            'pinFlags': PinFlags({'local', 'initialized', 'needs-padding'}),
            'pinType': 'ascii-numeric', 'minLength': 4, 'storedLength': 8, 'maxLength': 8,
            'pinReference': 1, 'padChar': b'\xff', 'path': path('3F005015'),
        },
    })
    bio = AuthenticationType(name='biometricTemplate', value={
        'commonObjectAttributes': coa('finger'),
        'classAttributes': {'authId': b'\x03'},
        'typeAttributes': {'pinFlags': PinFlags(set()), 'pinType': 'bcd', 'minLength': 4,
                           'storedLength': 8},
    })
    puk = AuthenticationType(name='pin', value={
        'commonObjectAttributes': coa('PUK'),
        'classAttributes': {'authId': b'\x02'},
        'typeAttributes': {
            'pinFlags': PinFlags({'local', 'initialized', 'unblockingPin', 'soPin', 'unblock-disabled'}),
            'pinType': 'bcd', 'minLength': 8, 'storedLength': 8,
            'pinReference': 2,
        },
    })
    # pinReference 0 is the DEFAULT: asn1crypto leaves it out.
    so = AuthenticationType(name='pin', value={
        'commonObjectAttributes': coa('SO PIN'),
        'classAttributes': {'authId': b'\x03'},
        'typeAttributes': {
            'pinFlags': PinFlags({'case-sensitive', 'initialized', 'soPin'}),
            'pinType': 'utf8', 'minLength': 6, 'storedLength': 16, 'maxLength': 16,
            'pinReference': 0,
        },
    })
    return user.dump() + bio.dump() + puk.dump() + so.dump()


def bad_fixtures():
    """Well-formed DER whose values dmsc must refuse (test-pkcs15.c)."""
    long_label = data_object('L' * 300, app_name='OMA-DM:MO', value_path='3F0050156002').dump()
    long_path = data_object('p', app_name='OMA-DM:MO', value_path='3F00' * 10).dump()
    long_id = PrivateKeyType(name='privateRSAKey', value={
        'commonObjectAttributes': coa('k'),
        'classAttributes': {'iD': b'\x11' * 65, 'usage': KeyUsageFlags({'sign'})},
        'typeAttributes': {'value': indirect('4B01'), 'modulusLength': 2048},
    }).dump()
    big_keyref = PrivateKeyType(name='privateRSAKey', value={
        'commonObjectAttributes': coa('k'),
        'classAttributes': {'iD': b'\x11', 'usage': KeyUsageFlags({'sign'}), 'keyReference': 256},
        'typeAttributes': {'value': indirect('4B01'), 'modulusLength': 2048},
    }).dump()
    odd_path = data_object('o', app_name='OMA-DM:MO', value_path='3F0050').dump()
    half_range = DataType(name='opaqueDO', value={
        'commonObjectAttributes': coa('h'),
        'classAttributes': EMPTY_CDA(),
        'typeAttributes': ObjectValue(name='indirect', value=ReferencedValue(
            name='path', value=Path({'path': bytes.fromhex('6002'), 'index': 4}))),
    }).dump()
    nul_label = data_object('a\x00b', value_path='6002').dump()
    bad_utf8 = bytearray(data_object('abc', value_path='6002').dump())
    bad_utf8[bad_utf8.index(b'abc')] = 0xC3  # a lead byte with no continuation
    return {
        'bad-label-long.der': long_label,
        'bad-path-long.der': long_path,
        'bad-id-long.der': long_id,
        'bad-keyref-big.der': big_keyref,
        'bad-path-odd.der': odd_path,
        'bad-path-half-range.der': half_range,
        'bad-label-nul.der': nul_label,
        'bad-label-utf8.der': bytes(bad_utf8),
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    files = {
        'dir.der': dir_file(),
        'odf.der': odf(),
        'tokeninfo.der': tokeninfo(),
        'prkdf.der': prkdf(),
        'pukdf.der': pukdf(),
        'pukdf-trusted.der': pukdf(trusted=True),
        'cdf.der': cdf('own'),
        'cdf-trusted.der': cdf('trusted'),
        'cdf-useful.der': cdf('useful'),
        'dodf.der': dodf(),
        'aodf.der': aodf(),
    }
    files.update(bad_fixtures())
    for name, der in sorted(files.items()):
        with open(os.path.join(out, name), 'wb') as f:
            f.write(der)
        print('%s: %d bytes' % (name, len(der)))


if __name__ == '__main__':
    main()
