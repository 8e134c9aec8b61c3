"""A throwaway certificate so the stand-in speaks HTTPS, as every AWS endpoint does.

The workshop bucket denies requests that do not use TLS (``aws:SecureTransport``). For
the stand-in to enforce that policy honestly, requests must be able to arrive over TLS,
so it serves HTTPS with a self-signed certificate for 127.0.0.1 made at start-up; clients
trust it through ``AWS_CA_BUNDLE``, which boto3 reads from the environment.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERT_NAME = "standin-cert.pem"
KEY_NAME = "standin-key.pem"


def make_certificate(directory: Path, days: int = 7) -> tuple[Path, Path]:
    """Write a self-signed certificate and key for 127.0.0.1 and localhost; returns both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "workshop local stand-in")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / CERT_NAME, directory / KEY_NAME
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def client_context(cert_path: str | Path) -> ssl.SSLContext:
    """An SSL context that trusts the stand-in's certificate (for urllib calls)."""
    return ssl.create_default_context(cafile=str(cert_path))
