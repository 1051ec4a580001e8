"""striate.serve: the local web app (FastAPI + uvicorn, imported only when it is used).

>>> from striate.serve.app import create_app      # doctest: +SKIP
"""
