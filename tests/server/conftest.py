"""Two app processes behind the shipped nginx configuration, on loopback (``attnviz serve``'s Cluster)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from attnviz.serve import Cluster, find_nginx, free_port

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    if find_nginx() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is missing (apt-get install -y nginx): the proxy tests must run in CI")
        pytest.skip("the proxy tests need nginx (apt-get install -y nginx)")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    cluster = Cluster(workers=2, port=free_port(), address="127.0.0.1", prefix=tmp_path_factory.mktemp("nginx"),
                      log=open(os.devnull, "w"))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
