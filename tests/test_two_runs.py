"""Two runs on one results file (issue 22, point 3): two real `valuesim evaluate` processes, a second `make paper` in one folder."""
import os, subprocess, sys, time
from pathlib import Path
import pandas as pd
import pytest
from test_cli import valuesim
from valuesim.standin import StandIn

def _cmd(url, out):
    here = Path(sys.executable).parent/'valuesim'
    return [str(here), 'evaluate', '--data', 'synthetic', '--synthetic-n', '200', '--methods', 'full_info', '--respondents', '5',
            '--folds', '5', '--questions-per-fold', '3', '--base-url', url, '--model', 'standin-7b', '--workers', '1', '--out', str(out)]

def _wait_for(path:Path, timeout=60.):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if path.exists() and path.read_text().startswith('pid '): return path.read_text()
        time.sleep(.05)
    raise AssertionError(f'{path} was never written')

def test_second_evaluate_on_the_same_file_is_refused(tmp_path):
    out, env = tmp_path/'results.csv', {**os.environ, 'VALUESIM_CACHE': str(tmp_path/'cache')}
    with StandIn(latency=.6, kind='vllm') as s:   # 15 calls one at a time: the first run holds the file for about 9 s
        first = subprocess.Popen(_cmd(s.url, out), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        held = _wait_for(tmp_path/'.results.csv.lock')
        second = subprocess.run(_cmd(s.url, out), env=env, capture_output=True, text=True, timeout=120)
        assert first.poll() is None, 'the first run ended before the second started: the test proves nothing'
        fo, fe = first.communicate(timeout=300)
    assert first.returncode == 0, fe
    assert second.returncode == 4, second.stderr
    assert f'pid {first.pid}' in second.stderr and 'being written by another valuesim run' in second.stderr, second.stderr
    assert held.startswith(f'pid {first.pid}')
    r = pd.read_csv(out)
    assert len(r) == 15 and not r.duplicated(['method', 'model', 'fold', 'k', 'respondent', 'question']).any()
    # once the first has finished, the same command resumes and writes nothing twice
    again = subprocess.run(_cmd(s.url, out), env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert len(pd.read_csv(out)) == 15

def test_metrics_refuses_a_file_that_holds_a_task_twice(tmp_path):
    out = tmp_path/'r.csv'
    assert valuesim('evaluate', '--data', 'synthetic', '--synthetic-n', '200', '--methods', 'mode', '--respondents', '2',
                    '--questions-per-fold', '3', '--out', str(out)).returncode == 0
    lines = out.read_text().splitlines()
    out.write_text('\n'.join(lines + lines[1:]) + '\n')   # what two unlocked runs used to leave
    m = valuesim('metrics', str(out))
    assert m.returncode == 2 and 'holds 6 row(s) twice' in m.stderr, m.stderr

def test_second_make_paper_in_one_folder_is_refused(tmp_path, monkeypatch):
    "`run_paper` holds the tables folder: a second main job there stops before its first notebook, naming the first."
    from valuesim.evaluate import results_lock, ResultsBusy
    from valuesim.run import run_paper, main
    monkeypatch.setenv('VALUESIM_TABLES', str(tmp_path/'tables'))
    holder = subprocess.Popen([sys.executable, '-c', 'import time, sys\nfrom valuesim.evaluate import results_lock\n'
                               f'with results_lock({str(tmp_path/"tables"/"paper")!r}):\n    print("held", flush=True); time.sleep(30)'],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'held'
        with pytest.raises(ResultsBusy, match=f'pid {holder.pid}'): run_paper('params/smoke.yaml', check_first=False, plan_first=False)
        with pytest.raises(SystemExit, match='being written by another valuesim run'): main(['--params', 'params/smoke.yaml', '--no-plan'])
    finally: holder.kill(); holder.wait()
