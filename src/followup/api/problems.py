"""RFC 9457 problem details: every API error is `application/problem+json` naming what failed.

Handlers raise `ApiProblem`; FastAPI's own errors (validation, unknown route, wrong method)
are turned into the same shape so a client parses one format.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "urn:followup:problem:"


class FieldProblem(BaseModel):
    field: str = Field(description="Dotted path of the failing field, e.g. `body.phone`.")
    message: str


class Problem(BaseModel):
    """An error, as RFC 9457 describes it, plus the field that caused it."""

    type: str = Field("about:blank", description="URI naming the kind of problem.")
    title: str
    status: int
    detail: str | None = None
    field: str | None = Field(None, description="The request field that failed, if one did.")
    errors: list[FieldProblem] | None = None
    existing_treatment_id: int | None = Field(
        None, description="For duplicate enrollments: the treatment already enrolled."
    )


class ApiProblem(Exception):
    """Raised by a handler; answered as a problem document."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title)
        self.problem = Problem(
            type=PROBLEM_BASE + slug,
            title=title,
            status=status,
            detail=detail,
            field=field,
            **extensions,
        )
        self.headers = headers or {}


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    def _api_problem(_request: Request, exc: ApiProblem) -> JSONResponse:
        return problem_response(exc.problem, exc.headers)

    @app.exception_handler(RequestValidationError)
    def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            FieldProblem(field=_field_path(e.get("loc", ())), message=str(e.get("msg", "")))
            for e in exc.errors()
        ]
        first = errors[0] if errors else None
        return problem_response(
            Problem(
                type=PROBLEM_BASE + "validation",
                title="The request is not valid",
                status=422,
                detail=f"{first.field}: {first.message}" if first else None,
                field=first.field if first else None,
                errors=errors,
            )
        )

    @app.exception_handler(StarletteHTTPException)
    def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(
            Problem(title=str(exc.detail), status=exc.status_code), getattr(exc, "headers", None)
        )


def problem_openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with error responses declared as problem+json."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        servers=app.servers,
    )
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status[0] in "45" and "application/json" in content:
                    content[PROBLEM_JSON] = content.pop("application/json")
    app.openapi_schema = schema
    return schema
