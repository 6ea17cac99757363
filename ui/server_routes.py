"""Routes of the app's own server beside Streamlit's (app.py's ``st.App``): the memory the process holds
against the bytes its shared cache counts, for soaks and operators. Only loopback clients are answered."""

from __future__ import annotations

import os
import resource

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def resident_bytes() -> int:
    """This process's resident memory now (Linux), else its peak."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def memory_figures() -> dict[str, int]:
    from ui.cached import shared_cache

    cache = shared_cache()
    rss = resident_bytes()
    return {"rss_bytes": rss, "cache_bytes": cache.bytes, "cache_entries": len(cache),
            "cache_max_bytes": cache.max_bytes, "rss_minus_cache_bytes": rss - cache.bytes}


async def memory(request: Request) -> JSONResponse:
    if request.client is None or request.client.host not in LOOPBACK:
        return JSONResponse({"error": "only answered on this machine"}, status_code=403)
    return JSONResponse(memory_figures())


ROUTES = [Route("/_attnviz/memory", memory)]
