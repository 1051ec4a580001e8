"""The local web app: draw or upload an image, see the top classes, every layer's feature maps,
the first-layer filters and the run's report. FastAPI, with the page's HTML, JS and CSS served
from memory (read from the package once; no CDN, no path from a request reaches the disk). The only
files read from disk are the run's own report and summary, and only when they are regular files
inside the run directory (no symbolic links: see striate.serve.run_files). The playground (a small MLP
learning 2-D points while the page watches, striate.serve.playground) is at /playground, in this app and
alone in ``create_playground_app``.

>>> app = create_app("runs/lenet5-mnist")     # doctest: +SKIP
>>> # uvicorn.run(app, host="127.0.0.1", port=8000, **server_options())  # striate.serve.server
"""

import json
import struct
from importlib import resources
from pathlib import Path

from striate.data.images import DEFAULT_MAX_PIXELS, ImageTooLargeError, NotAnImageError, decode_image
from striate.errors import DataError
from striate.export.predictor import Predictor
from striate.serve.pictures import drawn_layers, first_layer_filters, input_picture, layer_picture
from striate.serve.playground_routes import add_playground_routes
from striate.serve.run_files import read_run_file, run_file_exists

PLAYGROUND_MAX_BODY_BYTES = 64 * 1024  # the playground app's largest request body (its settings: a few hundred bytes)
MAX_UPLOAD_BYTES = 4 * 1024 * 1024  # the largest request body /api/predict takes: the image and its form envelope
SERVE_MAX_PIXELS = 16_000_000  # 4000 x 4000; far above any drawing, far below a decompression bomb
REPORT_FILES = ("report.html", "report/index.html")
STATIC_TYPES = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
PAGE_POLICY = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
               "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'")


def _static_files() -> dict[str, bytes]:
    folder = resources.files("striate.serve") / "static"
    return {name: (folder / name).read_bytes() for name in ("index.html", *STATIC_TYPES)}


def favicon() -> bytes:
    """A 16 x 16 ICO of grey and blue stripes (32-bit BMP inside), made here rather than read from disk."""
    size = 16
    row = b"".join(bytes((0xC0, 0x6A, 0x1F, 0xFF) if (x // 2) % 2 == 0 else (0xE8, 0xE8, 0xE8, 0xFF))  # BGRA
                   for x in range(size))
    pixels = row * size  # vertical stripes: every row the same (rows are stored bottom-up)
    mask = b"\x00" * (4 * size)  # the AND mask: 1 bit per pixel, rows padded to 4 bytes; all opaque
    bitmap = struct.pack("<IiiHHIIiiII", 40, size, 2 * size, 1, 32, 0, len(pixels) + len(mask), 0, 0, 0, 0)
    image = bitmap + pixels + mask
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(image), 22) + image


def find_report(run_dir: Path) -> str | None:
    """The name of the run's HTML report written by 'striate report RUN' ('report.html' or
    'report/index.html'), if it has been made and is a regular file inside the run (not a link)."""
    return next((name for name in REPORT_FILES if run_file_exists(run_dir, name)), None)


def _model_info(predictor, run_dir: Path, max_upload_bytes: int, max_pixels: int) -> dict:
    meta = predictor.meta
    summary_text = read_run_file(run_dir, "summary.json")
    summary = json.loads(summary_text) if summary_text is not None else None
    report = find_report(run_dir)
    return {"run": run_dir.name, "name": meta["model"]["name"], "args": meta["model"]["args"],
            "class_names": predictor.class_names, "input_shape": meta["input_shape"],
            "preprocess": predictor.preprocess, "parameters": sum(p.numel() for p in predictor.model.parameters()),
            "layers": drawn_layers(predictor.layer_names()), "summary": summary,
            "report": {"available": report is not None, "url": "/report" if report else None,
                       "how": f"run 'striate report {run_dir}' to make it, then reload this page"},
            "limits": {"max_upload_bytes": max_upload_bytes, "max_pixels": max_pixels}}


def create_app(run_dir: str | Path, weights: str = "best", max_upload_bytes: int = MAX_UPLOAD_BYTES,
               max_pixels: int = SERVE_MAX_PIXELS):
    """The FastAPI app for one run. Raises RunError when the run cannot be loaded."""
    from fastapi import FastAPI

    from striate.serve.limits import BodySizeLimit, RequestHeadLimit  # lazy: imports starlette (the optional web stack)

    run_dir = Path(run_dir)
    predictor = Predictor.from_run(run_dir, weights)
    info = _model_info(predictor, run_dir, max_upload_bytes, min(max_pixels, DEFAULT_MAX_PIXELS))
    app = FastAPI(title="striate", version=str(predictor.meta.get("striate_version", "")), docs_url=None,
                  redoc_url=None, description=f"Classify images with the trained run '{run_dir.name}' "
                                              f"({info['name']}) and look inside the network.")
    app.state.predictor = predictor
    _add_page_routes(app, run_dir, info)
    _add_api_routes(app, predictor, run_dir, info)
    add_playground_routes(app, PAGE_POLICY)  # /playground: a small MLP learning 2-D points, for the course
    _add_error_handlers(app)
    # one limit, the number /api/model reports and every 413 names: the whole request body (the image and
    # the few hundred bytes of its multipart envelope)
    app.add_middleware(BodySizeLimit, max_bytes=max_upload_bytes)
    app.add_middleware(RequestHeadLimit)  # added last, so it runs first: 414 / 431 before anything else
    return app


def create_playground_app():
    """The playground alone (``striate playground``, for learners without a trained run): the page at
    /playground (/ leads there) and its API, with the same limits and one-line errors as the run's app."""
    from fastapi import FastAPI
    from fastapi.responses import RedirectResponse, Response

    from striate.serve.limits import BodySizeLimit, RequestHeadLimit  # lazy: imports starlette (the optional web stack)

    app = FastAPI(title="striate playground", docs_url=None, redoc_url=None,
                  description="Train a small MLP on a 2-D toy problem and watch its decision boundary and units.")
    icon = favicon()
    app.get("/", include_in_schema=False)(lambda: RedirectResponse("/playground"))
    app.get("/favicon.ico", include_in_schema=False)(
        lambda: Response(icon, media_type="image/x-icon", headers={"Cache-Control": "max-age=86400"}))
    add_playground_routes(app, PAGE_POLICY)
    _add_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=PLAYGROUND_MAX_BODY_BYTES,
                       remedy="send only the playground's settings")
    app.add_middleware(RequestHeadLimit)
    return app


_PLACES = {"query": "query parameter", "body": "form field", "path": "path parameter", "header": "header",
           "cookie": "cookie"}


def validation_detail(errors: list[dict]) -> str:
    """FastAPI's list of request validation errors as the one line every error body of this app has:
    which parameter or form field, what is wrong with it.

    >>> validation_detail([{"type": "greater_than_equal", "loc": ("query", "top_k"), "input": "0",
    ...                     "msg": "Input should be greater than or equal to 1"}])
    "query parameter 'top_k' is '0': Input should be greater than or equal to 1"
    """
    parts = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        place = _PLACES.get(location[0], location[0]) if location else "request"
        subject = f"{place} '{'.'.join(location[1:])}'" if len(location) > 1 else f"the {place}"
        value = error.get("input")
        if error.get("type") == "missing":
            parts.append(f"{subject} is missing" + (": send the file as multipart/form-data under that name"
                                                    if place == "form field" else ""))
        else:
            shown = f" is {str(value)[:40]!r}" if isinstance(value, (str, int, float)) and len(location) > 1 else ""
            parts.append(f"{subject}{shown}: {error.get('msg', 'not valid')}")
    return " ".join(("; ".join(parts) or "the request is not valid").split())  # one line, whatever the messages hold


def _add_error_handlers(app) -> None:
    """Request validation errors (422) answer ``{"detail": "one line"}`` like every other error of the app,
    instead of FastAPI's list of error objects."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    @app.exception_handler(RequestValidationError)
    async def one_line(request, error: RequestValidationError):
        return JSONResponse({"detail": validation_detail(list(error.errors()))}, status_code=422)


def _add_page_routes(app, run_dir: Path, info: dict) -> None:
    """The page, its two static files and the icon (from memory, by a fixed table of names) and the run's report."""
    from fastapi import HTTPException
    from fastapi.responses import HTMLResponse, Response

    static = _static_files()
    icon = favicon()

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page():
        return HTMLResponse(static["index.html"], headers={"Content-Security-Policy": PAGE_POLICY})

    @app.get("/static/{name}", include_in_schema=False)
    def static_file(name: str):
        if name not in STATIC_TYPES:  # a fixed table: the name never becomes a path
            raise HTTPException(404, f"no static file '{name}'")
        return Response(static[name], media_type=STATIC_TYPES[name])

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon_file():
        return Response(icon, media_type="image/x-icon", headers={"Cache-Control": "max-age=86400"})

    @app.get("/report", response_class=HTMLResponse, include_in_schema=False)
    def report():
        # a fixed file of the run, never a name from the request; read only if it is a regular file
        # inside the run directory (a symbolic link, even to a file in the run, is refused)
        name = find_report(run_dir)
        content = read_run_file(run_dir, name) if name is not None else None
        if content is None:
            raise HTTPException(404, f"the report has not been made yet (or is not a regular file in the run): "
                                     f"{info['report']['how']}")
        return HTMLResponse(content)


def _add_api_routes(app, predictor, run_dir: Path, info: dict) -> None:
    from fastapi import File, HTTPException, Query, UploadFile
    from fastapi.concurrency import run_in_threadpool

    from striate.serve import schemas  # lazy: imports pydantic (the optional web stack)

    filters = first_layer_filters(predictor.model, predictor.meta["input_shape"])
    limits = info["limits"]
    errors = {code: {"model": schemas.ErrorMessage} for code in (400, 413, 415, 422)}

    @app.get("/api/model", response_model=schemas.ModelInfo, summary="The model, its classes and preprocessing")
    def model_info():
        info["report"] = _model_info(predictor, run_dir, 0, 0)["report"]  # the report may appear while serving
        return info

    @app.get("/api/filters", response_model=schemas.Picture | None, summary="The first layer's filters")
    def first_filters():
        return filters

    @app.post("/api/predict", response_model=schemas.Prediction, response_model_exclude_none=True, responses=errors,
              summary="Classify one uploaded image (PNG, JPEG, BMP, GIF, TIFF or WEBP)")
    async def predict(image: UploadFile = File(description="the image file"),
                      top_k: int = Query(3, ge=1, le=len(predictor.class_names), description="how many classes"),
                      activations: bool = Query(False, description="also return every layer's feature maps")):
        data = await image.read(limits["max_upload_bytes"] + 1)
        if len(data) > limits["max_upload_bytes"]:
            raise HTTPException(413, f"the image is larger than the limit of {limits['max_upload_bytes']:,} bytes")
        try:
            decoded = await run_in_threadpool(_decode, data, predictor.channels, limits["max_pixels"])
            if not activations:
                return {"top": (await run_in_threadpool(predictor.predict, [decoded], top_k))[0]}
            result = await run_in_threadpool(predictor.explain, decoded, top_k, info["layers"])
        except ImageTooLargeError as error:
            raise HTTPException(413, str(error)) from None
        except NotAnImageError as error:
            raise HTTPException(415, str(error)) from None
        except DataError as error:
            raise HTTPException(400, str(error)) from None
        return {"top": result["top"], "input": input_picture(result["input"]),
                "layers": [layer_picture(name, output) for name, output in result["layers"]]}


def _decode(data: bytes, channels: int, max_pixels: int):
    return decode_image(data, channels, max_pixels, name="the uploaded image")
