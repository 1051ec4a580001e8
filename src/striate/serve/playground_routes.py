"""The playground's page and JSON API, added to a FastAPI app: the page at /playground (its HTML, JS and
CSS served from memory, by a fixed table of names, under the app's Content-Security-Policy) and

  GET    /api/playground/options                  choices, ranges and defaults of the settings
  POST   /api/playground/sessions                 start a session with the settings in the JSON body
  POST   /api/playground/sessions/{id}/steps?count=N   N more steps (0: none), then where it stands
  DELETE /api/playground/sessions/{id}            end a session (reset, or the page closing)

A setting out of its range answers 422 with one line that names it; an unknown or ended session 404.

>>> add_playground_routes(app, policy=PAGE_POLICY)     # doctest: +SKIP
"""

import json
from dataclasses import asdict
from importlib import resources

from striate.errors import ConfigError, clip
from striate.serve.playground import MAX_STEPS, SessionStore
from striate.serve.playground_settings import options, settings_from_dict

PAGE_FILES = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}


def _page_files() -> dict[str, bytes]:
    folder = resources.files("striate.serve") / "static"
    files = {"page": (folder / "playground.html").read_bytes()}
    files.update({name: (folder / f"playground.{name.split('.')[-1]}").read_bytes() for name in PAGE_FILES})
    return files


def add_playground_routes(app, policy: str, store: SessionStore | None = None) -> SessionStore:
    """Add the page and the API to ``app``, with the page served under ``policy`` (a CSP header value);
    returns the session store (a new one of playground.MAX_SESSIONS sessions unless ``store`` is given)."""
    from fastapi import HTTPException, Path, Query, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import HTMLResponse, Response

    store = store if store is not None else SessionStore()
    files = _page_files()
    ended = (f"no playground session with that id: it ended (at most {store.capacity} are kept, the least recently "
             f"used goes first) or never was; start a new one (POST /api/playground/sessions)")

    @app.get("/playground", response_class=HTMLResponse, include_in_schema=False)
    def playground_page():
        return HTMLResponse(files["page"], headers={"Content-Security-Policy": policy})

    @app.get("/playground/{name}", include_in_schema=False)
    def playground_file(name: str):
        if name not in PAGE_FILES:  # a fixed table: the name never becomes a path
            raise HTTPException(404, f"no playground file '{name}'")
        return Response(files[name], media_type=PAGE_FILES[name])

    @app.get("/api/playground/options", summary="The playground's settings: choices, ranges and defaults")
    def playground_options():
        return {**options(), "max_steps": MAX_STEPS, "max_sessions": store.capacity}

    @app.post("/api/playground/sessions", summary="Start a playground session: toy data, an MLP, SGD",
              openapi_extra={"requestBody": {"content": {"application/json": {"schema": {"type": "object"}}},
                                             "description": "the settings (GET /api/playground/options); those "
                                                            "left out keep their defaults"}})
    async def start(request: Request):
        body = await request.body()
        try:
            parsed = settings_from_dict(json.loads(body) if body.strip() else {})
        except (ValueError, UnicodeDecodeError) as error:  # json.JSONDecodeError is a ValueError
            raise HTTPException(422, f"the settings are not JSON ({clip(error, 80)}); send a JSON object") from None
        except ConfigError as error:
            raise HTTPException(422, str(error)) from None
        return await run_in_threadpool(_start, parsed)

    def _start(settings):
        key, session = store.create(settings)
        return {"session": key, "settings": asdict(settings), **session.description(), **session.train(0)}

    @app.post("/api/playground/sessions/{key}/steps", summary="Train a session N more steps")
    def steps(key: str = Path(max_length=64), count: int = Query(10, ge=0, le=MAX_STEPS, description="steps to take")):
        session = store.get(key)
        if session is None:
            raise HTTPException(404, ended)
        return session.train(count)

    @app.delete("/api/playground/sessions/{key}", status_code=204, summary="End a playground session")
    def end(key: str = Path(max_length=64)):
        if not store.delete(key):
            raise HTTPException(404, ended)
        return Response(status_code=204)

    return store
