"""Response maps for operations: the success shapes plus the error codes each can answer with."""

from trading.api.schemas import ErrorOut

# Every authenticated operation can answer these (no or bad credentials, CSRF, bad query).
COMMON_ERRORS = (401, 403, 422)


def responses(ok: dict, *errors: int, authenticated: bool = True) -> dict:
    codes = {*errors, *(COMMON_ERRORS if authenticated else ())}
    return {**ok, **{code: ErrorOut for code in sorted(codes)}}
