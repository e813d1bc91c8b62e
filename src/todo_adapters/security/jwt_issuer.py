"""Access tokens as HS256 JWTs (PyJWT). Verification pins the algorithm, requires the
time and subject claims, checks issuer and audience, and allows a small clock skew."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

import jwt

from todo_core.domain import DEVICE_TOKEN_TTL
from todo_core.errors import InvalidTokenError
from todo_core.ports import AccessToken, Clock, Principal, TokenIssuer

_ALGORITHM = "HS256"
VERIFIED_CACHE_SIZE = 4096
_Times = tuple[float, float, float]  # exp, iat, nbf
_LEEWAY = timedelta(seconds=30)

_REASONS: list[tuple[type[jwt.PyJWTError], str]] = [
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.ImmatureSignatureError, "token not yet valid"),
    (jwt.InvalidAudienceError, "invalid audience"),
    (jwt.InvalidIssuerError, "invalid issuer"),
    (jwt.MissingRequiredClaimError, "missing required claim"),
    (jwt.InvalidSignatureError, "invalid signature"),
    (jwt.InvalidAlgorithmError, "algorithm not allowed"),
    (jwt.DecodeError, "malformed token"),
]


class JwtTokenIssuer(TokenIssuer):
    def __init__(
        self, secret: str, ttl_seconds: int, issuer: str, audience: str, clock: Clock
    ) -> None:
        self._secret = secret
        self._ttl = ttl_seconds
        self._issuer = issuer
        self._audience = audience
        self._clock = clock
        # A client sends the same token with every call until it expires: the signature
        # and claim checks (about 75 µs, a tenth of a GET's CPU) run once per token and
        # worker. Only verified tokens enter, so forged ones cannot fill it; the times are
        # checked on every use, so an expired token fails as before.
        self._verified = functools.lru_cache(maxsize=VERIFIED_CACHE_SIZE)(self._verify_signed)

    def issue(self, user_id: UUID, session_id: UUID) -> AccessToken:
        now = self._clock.now()
        claims = {
            "sub": str(user_id),
            "sid": str(session_id),
            "iat": now,
            "exp": now + timedelta(seconds=self._ttl),
            "jti": uuid.uuid4().hex,
            "iss": self._issuer,
            "aud": self._audience,
        }
        return AccessToken(jwt.encode(claims, self._secret, algorithm=_ALGORITHM), self._ttl)

    def device_token(self, email_key: str) -> str:
        now = self._clock.now()
        claims = {
            "sub": email_key,
            "iat": now,
            "exp": now + DEVICE_TOKEN_TTL,
            "iss": self._issuer,
            # An audience of its own: a device token is no access token, nor the reverse.
            "aud": self._device_audience,
        }
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def device_email_key(self, token: str) -> str | None:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                audience=self._device_audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"], "verify_exp": False},
            )
            self._check_times((claims["exp"], claims["iat"], claims.get("nbf", 0)))
        except (jwt.PyJWTError, InvalidTokenError, TypeError):
            return None
        subject = claims["sub"]
        return subject if isinstance(subject, str) else None

    @property
    def _device_audience(self) -> str:
        return f"{self._audience}:device"

    def verify(self, token: str) -> Principal:
        principal, times = self._verified(token)
        self._check_times(times)
        return principal

    def _verify_signed(self, token: str) -> tuple[Principal, _Times]:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                # Times are checked below against our clock, the one that issued them.
                options={
                    "require": ["exp", "iat", "sub", "iss", "aud"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(_reason(exc)) from None
        times = (claims["exp"], claims["iat"], claims.get("nbf", 0))
        if not all(isinstance(t, int | float) and not isinstance(t, bool) for t in times):
            raise InvalidTokenError("malformed time claim")
        try:
            user_id = UUID(claims["sub"])
        except (TypeError, ValueError, AttributeError):
            raise InvalidTokenError("invalid subject") from None
        try:
            # Tokens issued before sessions had ids carry none; they run out as before.
            session_id = UUID(claims["sid"]) if "sid" in claims else None
        except (TypeError, ValueError, AttributeError):
            raise InvalidTokenError("invalid session") from None
        expires_at = datetime.fromtimestamp(times[0], UTC)
        return Principal(user_id, session_id, expires_at), times

    def _check_times(self, times: _Times) -> None:
        now = self._clock.now().timestamp()
        leeway = _LEEWAY.total_seconds()
        expires, issued, not_before = times
        if expires <= now - leeway:
            raise InvalidTokenError("token expired")
        if issued > now + leeway or not_before > now + leeway:
            raise InvalidTokenError("token not yet valid")


def _reason(exc: jwt.PyJWTError) -> str:
    for kind, reason in _REASONS:
        if isinstance(exc, kind):
            return reason
    return "invalid token"
