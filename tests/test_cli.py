"""The installed `valuesim` console command, end to end on the synthetic sample (anchors only: no model needed)."""
import json, shutil, subprocess, sys
from pathlib import Path
import pytest

def valuesim(*args, timeout=300):
    here = Path(sys.executable).parent/'valuesim'   # the venv's script, even when its bin/ is not on PATH
    exe = str(here) if here.exists() else shutil.which('valuesim')
    assert exe, 'the valuesim console script is not installed'
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout)

def test_help_lists_the_commands():
    r = valuesim('--help')
    assert r.returncode == 0 and 'evaluate' in r.stdout and 'metrics' in r.stdout

def test_evaluate_then_metrics(tmp_path):
    out = tmp_path/'results.csv'
    r = valuesim('evaluate', '--data', 'synthetic', '--synthetic-n', '300', '--methods', 'mode,country_mode,knn',
                 '--respondents', '4', '--folds', '4,5', '--questions-per-fold', '8', '--out', str(out))
    assert r.returncode == 0, r.stderr
    assert 'NOT WVS data' in r.stderr
    m = valuesim('metrics', str(out), '--json')
    assert m.returncode == 0, m.stderr
    rows = {x['method']: x for x in json.loads(m.stdout)}
    assert set(rows) == {'mode', 'country_mode', 'knn'}
    assert all(x['folds'] == 2 and x['respondents'] == 4 for x in rows.values())
    # running the same command again resumes: nothing new is appended
    n = len(out.read_text().splitlines())
    assert valuesim('evaluate', '--data', 'synthetic', '--synthetic-n', '300', '--methods', 'mode,country_mode,knn',
                    '--respondents', '4', '--folds', '4,5', '--questions-per-fold', '8', '--out', str(out)).returncode == 0
    assert len(out.read_text().splitlines()) == n

@pytest.mark.parametrize('args,message', [
    (['evaluate', '--data', '/no/such/file.csv', '--methods', 'knn', '--out', 'r.csv'], 'no such file'),
    (['evaluate', '--data', 'synthetic', '--methods', 'knn,psychic', '--out', 'r.csv'], 'unknown method(s) psychic'),
    (['evaluate', '--data', 'synthetic', '--methods', 'knn', '--history-k', '300', '--out', 'r.csv'], 'between 0 and 232'),
    (['evaluate', '--data', 'synthetic', '--methods', 'knn', '--out', 'r.txt'], '.csv or .parquet'),
    (['metrics', '/no/such/results.csv'], 'not found'),
])
def test_bad_arguments_get_one_clear_line(args, message):
    r = valuesim(*args)
    assert r.returncode == 2 and message in r.stderr and 'Traceback' not in r.stderr
