"""API reference at /api/v1/docs, rendered on the server from the OpenAPI document.

FastAPI's Swagger UI loads its scripts from a CDN; clinics' networks and our no-CDN rule
both argue for a plain page instead. The machine-readable spec stays at /openapi.json.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

# Served by the dashboard app: the Content-Security-Policy allows no inline style.
STYLESHEET = "/static/api_docs.css"


def _parameters(operation: dict[str, Any]) -> str:
    rows = [
        f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
        f"<td>{'required' if p.get('required') else ''}</td>"
        f"<td>{escape(p.get('description', ''))}</td></tr>"
        for p in operation.get("parameters", [])
    ]
    return f"<table>{''.join(rows)}</table>" if rows else ""


def _body(operation: dict[str, Any], schemas: dict[str, Any]) -> str:
    content: dict[str, Any] = operation.get("requestBody", {}).get("content", {})
    first: dict[str, Any] = next(iter(content.values()), {})
    schema: dict[str, Any] = first.get("schema", {})
    name = schema.get("$ref", "").rsplit("/", 1)[-1]
    if not name:
        return ""
    shown = json.dumps(schemas.get(name, {}), indent=2)
    return f"<p>Body: <code>{escape(name)}</code></p><pre>{escape(shown)}</pre>"


def _responses(operation: dict[str, Any]) -> str:
    rows = [
        f"<tr><td>{escape(status)}</td><td>{escape(r.get('description', ''))}</td>"
        f"<td>{escape(', '.join(r.get('content', {})))}</td></tr>"
        for status, r in sorted(operation.get("responses", {}).items())
    ]
    return f"<table><tr><th>Status</th><th>Meaning</th><th>Type</th></tr>{''.join(rows)}</table>"


def render_docs(spec: dict[str, Any], spec_url: str) -> str:
    schemas = spec.get("components", {}).get("schemas", {})
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(spec['info']['title'])}</title>"
        f"<link rel='stylesheet' href='{STYLESHEET}'></head><body>",
        f"<h1>{escape(spec['info']['title'])}</h1>",
        f"<p>{escape(spec['info'].get('description', ''))}</p>",
        f"<p>OpenAPI document: <a href='{escape(spec_url)}'>{escape(spec_url)}</a></p>",
    ]
    for path, methods in spec.get("paths", {}).items():
        for method, operation in methods.items():
            parts.append(
                f"<h2><code>{escape(method.upper())} {escape(path)}</code></h2>"
                f"<p>{escape(operation.get('description') or operation.get('summary', ''))}</p>"
                f"{_parameters(operation)}{_body(operation, schemas)}{_responses(operation)}"
            )
    parts.append("</body></html>")
    return "".join(parts)


def install_docs(api: FastAPI, prefix: str) -> None:
    @api.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(render_docs(api.openapi(), f"{prefix}/openapi.json"))
