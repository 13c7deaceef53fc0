#!/usr/bin/env python3
"""The check corpus of benchmarks/check.sh as a script: N distinct leaf certificates, each file leaf + root,
in tree/dXX/eY/hostI.pem under the current directory, plus root.pem. Usage: make_corpus.py N"""
import sys, os, datetime
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
n = int(sys.argv[1])
now = datetime.datetime.now(datetime.timezone.utc)
def name(cn): return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
ca_key = ec.generate_private_key(ec.SECP256R1())
ca = (x509.CertificateBuilder().subject_name(name("bench root")).issuer_name(name("bench root"))
      .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
      .not_valid_after(now + datetime.timedelta(days=3650))
      .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
      .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
      .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
      .sign(ca_key, hashes.SHA256()))
open("root.pem", "wb").write(ca.public_bytes(serialization.Encoding.PEM))
leaf_key = ec.generate_private_key(ec.SECP256R1())  # one key: generation is not what is measured
open("leaf.key", "wb").write(leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
ca_pem = ca.public_bytes(serialization.Encoding.PEM)
for i in range(n):
    cn = f"host{i}.bench.test"
    # Half a day past the whole day: a leaf of exactly 7 days is 7 days left for certs (whole seconds) but
    # 6.99999 for pyca (microseconds) when both run within the second the corpus was written.
    days = 1 + (i * 7919) % 400 + 0.5
    cert = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(ca.subject).public_key(leaf_key.public_key())
            .serial_number(1000 + i).not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    d = f"tree/d{i % 100:02d}/e{(i // 100) % 10}"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/host{i}.pem", "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM) + ca_pem)
