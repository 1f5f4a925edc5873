"""The CSV upload as a nurse makes it: the file posted from the /import page, then the
result page once the import has run."""

from __future__ import annotations

from fastapi.testclient import TestClient
from httpx import Response

from tests.webapp import csrf_from


def upload(client: TestClient, content: str | bytes, mode: str = "check") -> Response:
    """Post `content` as a CSV file; the page that shows the outcome. An import runs in the
    background: this waits for it (on the app's own job, no polling) and then opens its page."""
    token = csrf_from(client.get("/import").text)
    data = content.encode() if isinstance(content, str) else content
    response = client.post(
        "/import",
        data={"csrf_token": token, "mode": mode},
        files={"file": ("treatments.csv", data, "text/csv")},
        follow_redirects=False,
    )
    if response.status_code != 303:
        return response
    location = response.headers["location"]
    client.app.state.import_jobs.wait(location.rstrip("/").rsplit("/", 1)[-1])  # type: ignore[attr-defined]
    return client.get(location)
