"""Agent password hashes: ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>``.

scrypt from the standard library (no extra dependency); the parameters live
in the string so they can be raised later without invalidating old hashes.
Verification is constant-time and refuses parameters that would let a bad
config line burn unbounded memory or CPU.

Run ``python -m vidline.agents.passwords`` to hash a password for the config.
"""

from __future__ import annotations

import base64
import binascii
import functools
import getpass
import hashlib
import hmac
import os

N, R, P = 2**14, 8, 1
SALT_BYTES = 16
HASH_BYTES = 32
MAX_N = 2**20
MAXMEM = 256 * 1024 * 1024


class PasswordHashError(ValueError):
    """The stored hash is not in the expected format."""


def hash_password(password: str, *, n: int = N, r: int = R, p: int = P) -> str:
    salt = os.urandom(SALT_BYTES)
    digest = _scrypt(password, salt, n, r, p, HASH_BYTES)
    return "$".join(("scrypt", str(n), str(r), str(p), _b64(salt), _b64(digest)))


def parse_hash(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise PasswordHashError("expected scrypt$<n>$<r>$<p>$<salt>$<hash>")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt = base64.b64decode(parts[4], validate=True)
        digest = base64.b64decode(parts[5], validate=True)
    except (ValueError, binascii.Error):
        raise PasswordHashError("n, r, p must be integers and salt, hash base64") from None
    if not (2 <= n <= MAX_N and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        raise PasswordHashError("scrypt parameters out of range")
    if len(salt) < 8 or not 16 <= len(digest) <= 64:
        raise PasswordHashError("salt or hash too short")
    return n, r, p, salt, digest


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches; False for a wrong password or a hash
    that cannot be parsed (logged by whoever loaded the config)."""
    try:
        n, r, p, salt, digest = parse_hash(encoded)
    except PasswordHashError:
        return False
    candidate = _scrypt(password, salt, n, r, p, len(digest))
    return hmac.compare_digest(candidate, digest)


# A valid hash of a random password: verifying against it when the username
# is unknown costs the same time as a real check, so timing does not reveal
# which usernames exist.
@functools.cache
def _dummy_hash() -> str:
    return hash_password(base64.b64encode(os.urandom(12)).decode())


def dummy_verify(password: str) -> bool:
    verify_password(password, _dummy_hash())
    return False


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, size: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, n=n, r=r,
                          p=p, maxmem=MAXMEM, dklen=size)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def main() -> None:
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise SystemExit("the two passwords differ")
    print(hash_password(first))


if __name__ == "__main__":
    main()
