"""`attnviz serve` wiring and the torch_threads setting (the proxy itself is tested in tests/server)."""

from __future__ import annotations

import pytest

from attnviz.__main__ import main
from attnviz.serve import find_nginx
from attnviz.settings import load_settings


def test_torch_threads_is_one_by_default_and_settable(tmp_path):
    none = tmp_path / "none.toml"
    assert load_settings(False, config=none, environ={}).torch_threads == 1
    assert load_settings(False, config=none, environ={"ATTNVIZ_TORCH_THREADS": "2"}).torch_threads == 2


@pytest.mark.skipif(find_nginx() is None, reason="needs nginx to reach the workers check")
def test_serve_refuses_zero_workers_before_starting_anything(capsys, tmp_path):
    assert main(["serve", "--workers", "0", "--port", "1", "--dir", str(tmp_path)]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err
    assert not (tmp_path / "nginx.conf").exists()
