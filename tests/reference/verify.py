# The reference's Python verify snippet, verbatim ("签名验证").
import hmac, hashlib  # noqa: E401


def verify(body: bytes, signature: str, secret: str) -> bool:
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", signature)
