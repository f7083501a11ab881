"""``mmrag serve``: the HTTP API (``app.py``), its access rules (``auth.py``),
uploads (``uploads.py``), how the CLI finds a running server
(``discovery.py``, ``client.py``) and the web page (``static/``).

Importing this package imports nothing heavy; FastAPI loads with ``app.py``.
"""
