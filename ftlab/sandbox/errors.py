"""OpenAI's error envelope: ``{"error": {"message", "type", "param", "code"}}`` with its status codes.

Routes raise :class:`APIError`; the handlers installed by :func:`install` turn it (and FastAPI's
own validation and routing errors) into the JSON the ``openai`` SDK maps to its error classes.
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
                 type: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code
        self.type = type or _TYPES.get(status, "server_error")


def envelope(message: str, type: str, param: str | None = None, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def response(err: APIError) -> JSONResponse:
    return JSONResponse(envelope(err.message, err.type, err.param, err.code), status_code=err.status)


def bad_request(message: str, param: str | None = None, code: str | None = None) -> APIError:
    return APIError(400, message, param=param, code=code)


def not_found(message: str, param: str | None = None, code: str | None = None) -> APIError:
    return APIError(404, message, param=param, code=code)


def unauthorized() -> JSONResponse:
    # Never echo the key that was sent, not even a fragment.
    return response(APIError(401, "Incorrect API key provided. The sandbox token is in the "
                                  "data dir's 'token' file; ftlab.connect() passes it for you.",
                             code="invalid_api_key"))


def _param_of(loc) -> str | None:
    # ("body", "hyperparameters", "n_epochs") -> "hyperparameters.n_epochs"
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    return ".".join(parts) or None


async def _validation_handler(request: Request, exc: RequestValidationError):
    err = exc.errors()[0] if exc.errors() else {}
    param = _param_of(err.get("loc", ()))
    if err.get("type") == "missing":
        message = f"Missing required parameter: '{param}'."
        code = "missing_required_parameter"
    else:
        message = f"Invalid value for '{param}': {err.get('msg', 'invalid value')}."
        code = "invalid_value"
    return response(APIError(400, message, param=param, code=code))


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
