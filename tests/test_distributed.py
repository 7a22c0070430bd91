"""evaluate_dask on a LocalCluster: cache entries made on workers come back to the driver; a killed driver resumes."""
import os, signal, subprocess, sys, textwrap, time
from pathlib import Path
import pandas as pd
import pytest

distributed = pytest.importorskip('distributed')
from valuesim.evaluate import respondent_table, sample_respondents, reference_pool, make_methods, evaluate, read_results, ANCHORS
from valuesim.distributed import evaluate_dask
from valuesim.cache import ResponseCache

KEY = ['method', 'model', 'fold', 'k', 'respondent', 'question']


def _norm(d):
    return d.drop(columns='seconds').sort_values(KEY).reset_index(drop=True)


@pytest.fixture(scope='module')
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, host='127.0.0.1', dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close(); cluster.close()


@pytest.fixture(scope='module')
def table():
    return respondent_table(synthetic_n=300)


def test_worker_calls_come_back_to_the_driver_cache(client, table, stub, tmp_path, monkeypatch):
    "Workers call the endpoint; their responses land in the driver's cache, so a local replay run needs no endpoint and agrees."
    monkeypatch.setenv('VALUESIM_CACHE', str(tmp_path / 'cache'))
    names, kw = ['mode', 'no_caps'], dict(respondents=3, questions_per_fold=3, history_k=(5,), progress=False)
    ep = dict(base_url=stub.url, model='stub-model')
    driver_cache = ResponseCache(recordings=[])
    assert len(driver_cache) == 0
    dist = evaluate_dask(table, names, tmp_path / 'dask.csv', client=client, llm_overrides=ep, cache=driver_cache, **kw)
    n_live = len(stub.requests)
    assert n_live > 0 and dist.attrs['cache_entries_added'] >= 3          # at least one backstory per respondent
    assert len(driver_cache) == dist.attrs['cache_entries_added']
    stub.httpd.shutdown()                                                  # the endpoint is gone
    sample = sample_respondents(table, 3)
    local = evaluate(table, make_methods(names, reference_pool(table, sample), {**ep, 'mode': 'replay'}), tmp_path / 'local.csv', **kw)
    pd.testing.assert_frame_equal(_norm(local), _norm(dist), check_dtype=False)
    assert set(dist.method) == {'mode', 'no_caps'} and len(dist) == 2 * 3 * 3


def test_every_method_gives_the_same_rows_on_dask_as_locally(client, table, stub, tmp_path, monkeypatch):
    "Every method, the hybrid (whose weights the driver learns once) included: a Dask run and a local replay of its calls agree row for row."
    from valuesim.evaluate import METHODS
    monkeypatch.setenv('VALUESIM_CACHE', str(tmp_path / 'cache'))
    names, kw = list(METHODS), dict(respondents=2, questions_per_fold=2, history_k=(4,), progress=False)
    ep = dict(base_url=stub.url, model='stub-model', kind='llamacpp')
    driver_cache = ResponseCache(recordings=[])
    dist = evaluate_dask(table, names, tmp_path / 'dask.csv', client=client, llm_overrides=ep, cache=driver_cache, **kw)
    assert set(dist.method) == set(METHODS) and len(dist) == len(METHODS) * 2 * 2
    assert dist.query("method == 'hybrid'").valid.all()          # the weights reached the workers
    stub.httpd.shutdown()
    sample = sample_respondents(table, 2)
    local = evaluate(table, make_methods(names, reference_pool(table, sample), {**ep, 'mode': 'replay'}), tmp_path / 'local.csv', **kw)
    pd.testing.assert_frame_equal(_norm(local), _norm(dist), check_dtype=False)


_DRIVER = '''
import sys
from distributed import Client, LocalCluster
from valuesim.evaluate import respondent_table, ANCHORS
from valuesim.distributed import evaluate_dask
if __name__ == '__main__':
    c = Client(LocalCluster(n_workers=2, threads_per_worker=1, host='127.0.0.1', dashboard_address=None))
    evaluate_dask(respondent_table(synthetic_n=300), list(ANCHORS), sys.argv[1], client=c, respondents=60, progress=False)
'''


def test_killed_driver_resumes_without_repeating_work(client, table, tmp_path):
    "SIGKILL the driver (and its local cluster) mid-run; the rerun runs exactly the missing tasks and ends complete."
    out, script = tmp_path / 'killed.csv', tmp_path / 'driver.py'
    script.write_text(textwrap.dedent(_DRIVER))
    p = subprocess.Popen([sys.executable, str(script), str(out)], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and p.poll() is None:
            if out.exists() and out.stat().st_size > 0 and len(out.read_text().splitlines()) > 58 * 3: break
            time.sleep(0.05)
    finally:
        if p.poll() is None: os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    before = read_results(out)
    done = before[['method', 'respondent']].drop_duplicates()
    assert 0 < before.respondent.nunique() < 60, 'the driver was not killed in the middle of the run'
    # every task in the file is whole: all 58 questions of each (method, respondent)
    assert (before.groupby(['method', 'respondent']).size() == 58).all()
    done_tasks = before.respondent.nunique()
    res = evaluate_dask(table, list(ANCHORS), out, client=client, respondents=60, progress=False)
    # tasks are per respondent, with only the missing methods: no respondent whose anchors were all done reruns
    full = before.groupby('respondent').method.nunique()
    assert res.attrs['tasks_run'] == 60 - int((full == len(ANCHORS)).sum())
    assert len(res) == len(ANCHORS) * 60 * 58 and not res.duplicated(['method', 'respondent', 'question']).any()
    pd.testing.assert_frame_equal(res.iloc[:len(before)].reset_index(drop=True), before.reset_index(drop=True))
    assert done_tasks >= 1
