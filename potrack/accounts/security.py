"""Password hashing and the rules for new passwords.

Callers run these off the event loop; bcrypt itself always runs on password_work's low-priority
threads, whoever calls it.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import cache

import bcrypt

from potrack.accounts import password_work
from potrack.config import settings
from potrack.errors import InvalidInput

PASSWORD_MIN_LEN = 8
PASSWORD_MAX_BYTES = 72  # bcrypt ignores (bcrypt 5: refuses) anything longer
COMMON_PASSWORDS = frozenset(
    {
        'admin123',
        'admin1234',
        'administrator',
        'password',
        'password1',
        'password123',
        'passw0rd',
        '12345678',
        '123456789',
        '1234567890',
        '87654321',
        '11111111',
        '00000000',
        'qwertyui',
        'qwerty123',
        'qwertyuiop',
        'iloveyou',
        'welcome1',
        'welcome123',
        'letmein1',
        'changeme',
        'changeme1',
        'potrack1',
        'potrack123',
        'factory1',
        'production',
        'operator',
        'operator1',
        'abcdefgh',
        'abc12345',
        'sunshine',
        'football',
        'monkey123',
        'trustno1',
        'default1',
    }
)


def hash_password(password: str) -> str:
    """A bcrypt hash at the configured cost; the password must already be within 72 bytes."""
    rounds = settings().bcrypt_rounds
    return password_work.bcrypt_call(bcrypt.hashpw, password.encode(), bcrypt.gensalt(rounds)).decode()


def verify_password(password: str, password_hash: str | None) -> bool:
    """True when `password` matches; with no hash, spends the same time and says False."""
    data = password.encode()
    if len(data) > PASSWORD_MAX_BYTES:
        data = hashlib.sha256(data).hexdigest().encode()  # still spend a bcrypt; can never match a real hash
        password_hash = None
    target = password_hash or _dummy_hash()
    try:
        ok = password_work.bcrypt_call(bcrypt.checkpw, data, target.encode())
    except ValueError:
        return False
    return ok and password_hash is not None


@cache
def _dummy_hash() -> str:
    # Unknown users are checked against this so they cost exactly what a wrong password costs.
    return hash_password(secrets.token_urlsafe(16))


def check_new_password(password: str, *, username: str) -> None:
    """Refuse a new password that is short, too long for bcrypt, the user name or a common one."""
    if not isinstance(password, str) or len(password) < PASSWORD_MIN_LEN:
        raise InvalidInput(f'A password needs at least {PASSWORD_MIN_LEN} characters.', field='password')
    if len(password.encode()) > PASSWORD_MAX_BYTES:
        raise InvalidInput(
            f'A password can be at most {PASSWORD_MAX_BYTES} bytes long (fewer for accented letters or symbols).',
            field='password',
        )
    if password.strip().lower() == username.strip().lower():
        raise InvalidInput('The password must not be the user name.', field='password')
    if password.lower() in COMMON_PASSWORDS:
        raise InvalidInput('That password is too common; choose another.', field='password')


def generate_password() -> str:
    """A password that is easy to read out and type on a kiosk: 3 groups of 4 from an unambiguous alphabet."""
    alphabet = 'abcdefghjkmnpqrstuvwxyz23456789'
    return '-'.join(''.join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))


def token_digest(token: str) -> str:
    """What is stored for a bearer token: its SHA-256, so a stolen table grants nothing."""
    return hashlib.sha256(token.encode()).hexdigest()
