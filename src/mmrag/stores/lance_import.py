"""Import lancedb without paying up front for its REST namespace client.

lancedb 0.40 imports ``lance_namespace``, which imports models from
``lance_namespace_urllib3_client``. Python runs that package's ``__init__``
first, and it imports every REST API class of the client: 366 methods wrapped
by pydantic's ``validate_call``, each building its schema at import. That is
0.7 s of a 2.2 s cold ``mmrag search`` (``python -X importtime -c "import
lancedb"``), for a client mmrag never calls: it opens local folders.

``import_lancedb`` registers the package without running its ``__init__``:
its submodules (the models lancedb needs) import as usual through its
``__path__``. The first attribute asked of the package itself (``from
lance_namespace_urllib3_client import ApiClient``) runs the real ``__init__``
then (a module ``__getattr__``, PEP 562), so code that does use the REST client
gets all of it. If the package is missing, or already imported, nothing changes.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from types import ModuleType
from typing import Any

REST_CLIENT = "lance_namespace_urllib3_client"
_lock = threading.RLock()


def defer_package_init(name: str) -> bool:
    """Register package ``name`` in ``sys.modules`` with its ``__init__`` not yet run: submodules import
    through its ``__path__``; the first attribute read from the package runs ``__init__``. Returns whether
    it was deferred (``False``: already imported, not installed, or not a package)."""
    with _lock:
        if name in sys.modules:
            return False
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not spec.submodule_search_locations:
            return False
        module = importlib.util.module_from_spec(spec)
        loaded = False

        def __getattr__(attr: str) -> Any:
            nonlocal loaded
            # any name the package itself defines, __version__ and __all__ too (``from ... import *``), runs it
            with _lock:
                if not loaded:
                    loaded = True
                    del module.__dict__["__getattr__"]
                    try:
                        spec.loader.exec_module(module)  # type: ignore[union-attr]
                    except BaseException:
                        sys.modules.pop(name, None)  # a broken install fails here, and again on the next import
                        raise
            try:
                return module.__dict__[attr]
            except KeyError:
                raise AttributeError(f"module {name!r} has no attribute {attr!r}") from None

        module.__dict__["__getattr__"] = __getattr__  # PEP 562: read from the module's namespace
        sys.modules[name] = module
        return True


def import_lancedb() -> ModuleType:
    """``lancedb``, imported with its REST namespace client's package init deferred."""
    defer_package_init(REST_CLIENT)
    import lancedb

    return lancedb


__all__ = ["REST_CLIENT", "defer_package_init", "import_lancedb"]
