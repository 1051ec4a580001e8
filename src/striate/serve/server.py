"""How 'striate serve' starts uvicorn: one set of options, so that the tests start the server the same way.

>>> uvicorn.run(create_app("runs/x"), host="127.0.0.1", port=8000, **server_options())     # doctest: +SKIP
"""

from striate.serve.limits import H11_MAX_INCOMPLETE_EVENT_SIZE


def server_options() -> dict:
    """uvicorn options (for uvicorn.run or uvicorn.Config). The h11 parser is used (also where httptools
    is installed) with room for a request head of up to 1 MiB, so that a long URL or large headers reach
    the app's RequestHeadLimit and are answered 414 or 431, instead of h11 dropping the connection with a
    400 once a request head it has not yet seen whole passes its default 16 KiB."""
    return {"log_level": "warning", "http": "h11", "h11_max_incomplete_event_size": H11_MAX_INCOMPLETE_EVENT_SIZE}
