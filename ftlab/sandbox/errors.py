"""OpenAI's error envelope: ``{"error": {"message", "type", "param", "code"}}`` with its status codes.

Routes raise :class:`APIError`; the handlers installed by :func:`install` turn it, FastAPI's
routing errors and the request models' validation errors (``types``: the first error, with its
field's path as ``param``) into the JSON the ``openai`` SDK maps to its error classes.
"""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

# status -> OpenAI's error "type"
_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "invalid_request_error",
          404: "invalid_request_error", 405: "invalid_request_error", 409: "invalid_request_error",
          413: "invalid_request_error", 429: "rate_limit_exceeded"}


class APIError(Exception):
    """An error the API returns to the client, in OpenAI's shape."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 type: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code
        self.headers = headers   # e.g. retry-after on a 429
        self.type = type or _TYPES.get(status, "server_error")


def envelope(message: str, type: str, param: str | None = None, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def response(err: APIError) -> JSONResponse:
    return JSONResponse(envelope(err.message, err.type, err.param, err.code), status_code=err.status,
                        headers=err.headers)


def bad_request(message: str, param: str | None = None, code: str | None = None) -> APIError:
    return APIError(400, message, param=param, code=code)


def not_found(message: str, param: str | None = None, code: str | None = None) -> APIError:
    return APIError(404, message, param=param, code=code)


def unauthorized(class_mode: bool = False) -> APIError:
    # Never echo the key that was sent, not even a fragment.
    if class_mode:
        return APIError(401, "Incorrect API key provided. On the class server each student has their own "
                             "key (FTLAB_API_KEY); a revoked key stops working: ask the instructor.",
                        code="invalid_api_key")
    return APIError(401, "Incorrect API key provided. The sandbox token is in the "
                         "data dir's 'token' file; ftlab.connect() passes it for you.", code="invalid_api_key")


def too_large(max_bytes: int) -> APIError:
    return APIError(413, f"File is too large: the limit is {max_bytes // 2**20} MB.", param="file",
                    code="file_too_large")


# codes the request models raise themselves (``types.invalid``), with OpenAI's message
_OWN_CODES = {"missing_required_parameter", "invalid_value", "invalid_type", "unknown_parameter",
              "model_not_available", "unsupported_value", "integer_below_min_value",
              "array_above_max_length"}


def _param_of(err: dict) -> str | None:
    """The field's path as OpenAI writes it: ("body", "messages", 0, "role") -> "messages[0].role"."""
    ctx = err.get("ctx") or {}
    if ctx.get("param"):
        return ctx["param"]
    path = ""
    for part in [*err.get("loc", ()), *([ctx["field"]] if ctx.get("field") else [])]:
        if part in ("body", "query", "path", "form"):
            continue
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path or None


def validation_error(err: dict) -> APIError:
    """One pydantic/FastAPI validation error as OpenAI's 400."""
    param, kind = _param_of(err), err.get("type", "")
    if kind in _OWN_CODES:
        return bad_request(err.get("msg", "").replace("{param}", param or ""), param, kind)
    if kind == "json_invalid" or (param is None and kind == "missing"):   # loc: ("body", offset)
        return bad_request("The request body is not valid JSON.", None, "invalid_json")
    if param is None:   # the body as a whole
        return bad_request("The request body must be a JSON object.", None, "invalid_value")
    if kind == "missing":
        return bad_request(f"Missing required parameter: '{param}'.", param, "missing_required_parameter")
    if kind == "extra_forbidden":
        return bad_request(f"Unknown parameter: '{param}'.", param, "unknown_parameter")
    if kind.endswith(("_type", "_parsing")):
        return bad_request(f"Invalid type for '{param}': {err.get('msg', 'invalid type')}.", param, "invalid_type")
    return bad_request(f"Invalid value for '{param}': {err.get('msg', 'invalid value')}.", param, "invalid_value")


async def _validation_handler(request: Request, exc: RequestValidationError):
    errors = exc.errors()
    return response(validation_error(errors[0] if errors else {}))


async def _http_handler(request: Request, exc: StarletteHTTPException):
    if exc.status_code == 404:
        message = f"Invalid URL ({request.method} {request.url.path})"
    elif exc.status_code == 405:
        message = f"Method {request.method} not allowed for {request.url.path}"
    else:
        message = str(exc.detail)
    return response(APIError(exc.status_code, message))


async def _api_handler(request: Request, exc: APIError):
    return response(exc)


async def _crash_handler(request: Request, exc: Exception):
    return response(APIError(500, f"The sandbox server had an error: {type(exc).__name__}: {exc}",
                             type="server_error"))


def install(app: FastAPI) -> None:
    """Register the handlers that render every error in OpenAI's envelope."""
    app.add_exception_handler(APIError, _api_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(Exception, _crash_handler)
