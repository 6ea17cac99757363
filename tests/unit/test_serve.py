"""`attnviz serve` wiring and the torch_threads setting (the proxy itself is tested in tests/server)."""

from __future__ import annotations

import pytest

from attnviz.cli import main
from attnviz.serve import find_nginx
from attnviz.settings import load_settings


def test_torch_threads_follows_the_load_by_default_and_is_settable(tmp_path):
    none = tmp_path / "none.toml"
    assert load_settings(False, config=none, environ={}).torch_threads == 0  # 0: follow the load
    assert load_settings(False, config=none, environ={"ATTNVIZ_TORCH_THREADS": "2"}).torch_threads == 2


@pytest.mark.skipif(find_nginx() is None, reason="needs nginx to reach the workers check")
def test_serve_refuses_zero_workers_before_starting_anything(capsys, tmp_path):
    assert main(["serve", "--workers", "0", "--port", "1", "--dir", str(tmp_path)]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err
    assert not (tmp_path / "nginx.conf").exists()


def test_the_thread_policy_gives_a_lone_run_every_core_and_overlapping_runs_one_each():
    import threading

    import torch

    from attnviz.threads import ThreadPolicy

    policy = ThreadPolicy(cores=2)
    with policy.run() as alone:
        assert alone == 2 and torch.get_num_threads() == 2
    started, release, seen = threading.Event(), threading.Event(), []

    def other_run():
        with policy.run() as threads:
            seen.append((threads, torch.get_num_threads()))  # this thread's runs use what it was given
            started.set()
            release.wait(5)

    with policy.run():
        worker = threading.Thread(target=other_run)
        worker.start()
        started.wait(5)
        assert seen == [(1, 1)] and policy.active == 2
        release.set()
        worker.join()
        assert policy.active == 1 and policy.threads_for(policy.active) == 2  # the run going on gets the cores back
    assert ThreadPolicy(fixed=1, cores=8).threads_for(1) == 1
