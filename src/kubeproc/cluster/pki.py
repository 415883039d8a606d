"""The node's credentials: a CA, a serving certificate for 127.0.0.1, a bearer token.

Generated once into the data dir and reused on every start, so a kubeconfig written
earlier stays valid. Private keys and the token are readable by their owner only.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Credentials:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    token_file: Path

    @property
    def token(self) -> str:
        return self.token_file.read_text().strip()


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Whole or absent: a reader racing the first start never sees a half-written file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    tmp.chmod(mode)
    tmp.replace(path)


def _write_private(path: Path, data: bytes) -> None:
    _write_atomic(path, data, 0o600)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def ensure_credentials(pki_dir: Path) -> Credentials:
    """Create what is missing under ``pki_dir``; keep what exists."""
    pki_dir.mkdir(parents=True, exist_ok=True)
    pki_dir.chmod(0o700)
    creds = Credentials(
        pki_dir / "ca.crt", pki_dir / "server.crt", pki_dir / "server.key", pki_dir / "token"
    )
    if not creds.token_file.exists():
        _write_private(creds.token_file, (secrets.token_urlsafe(32) + "\n").encode())
    if creds.ca_cert.exists() and creds.server_cert.exists() and creds.server_key.exists():
        # Kept from an earlier start, perhaps copied or restored with looser modes.
        for private in (pki_dir / "ca.key", creds.server_key, creds.token_file):
            if private.exists():
                private.chmod(0o600)
        return creds
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubeproc-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName(
        [
            x509.DNSName("localhost"),
            x509.DNSName("kubernetes"),
            x509.DNSName("kubernetes.default.svc"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(san, critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(pki_dir / "ca.key", _key_pem(ca_key))
    _write_private(creds.server_key, _key_pem(key))
    _write_atomic(creds.server_cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    # Last: its presence is what clients wait for.
    _write_atomic(creds.ca_cert, ca.public_bytes(serialization.Encoding.PEM), 0o644)
    return creds


def kubeconfig(server: str, ca_cert: Path, token: str, *, name: str = "kubeproc") -> str:
    """A kubeconfig for this node; the CA is embedded so the file stands alone."""
    ca = base64.b64encode(ca_cert.read_bytes()).decode()
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: {name}\n  cluster:\n    server: {server}\n"
        f"    certificate-authority-data: {ca}\n"
        f"users:\n- name: {name}\n  user:\n    token: {token}\n"
        f"contexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n"
        f"    namespace: default\ncurrent-context: {name}\npreferences: {{}}\n"
    )
