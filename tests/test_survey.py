"""Any survey through the installed `valuesim` command: a bank built from each kind of labelled file the test writes
(never real respondents), evaluated with the anchors, reported, and the faults a user meets (no model needed)."""
import json, subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd, pytest
from test_cli import valuesim

@pytest.fixture(scope='module')
def panel(tmp_path_factory):
    d = tmp_path_factory.mktemp('panel')
    r = valuesim('survey', 'synthetic', '--out', str(d), '--n', '1200')
    assert r.returncode == 0, r.stderr
    assert 'NOT real survey data' in r.stdout
    b = valuesim('survey', 'build', str(d/'synthetic_panel.csv'), '--codebook', str(d/'synthetic_panel_codebook.csv'), '--out', str(d/'bank.yaml'))
    assert b.returncode == 0, b.stderr
    return d, b

def test_build_report_says_what_it_decided(panel):
    d, b = panel
    for line in ('respondent id: pid; group: region; weight: wt', 'dropped, recode of another variable: 1 (abort_r)',
                 'dropped, design variable: 1 (ballot)', 'missing codes, not_asked: IAP', 'split ballot or filter: 4 item(s)'):
        assert line in b.stderr, line
    import yaml
    doc = yaml.safe_load((d/'bank.yaml').read_text())
    assert doc['synthetic'] is True and 'NOT real survey data' in doc['name']
    kept = [e for e in doc['questions'] if e['use']]
    assert len(kept) == 30 and {e['id'] for e in kept if e['demographic']} == {'sex', 'age', 'educ', 'hhsize', 'income'}

def test_evaluate_metrics_report_on_another_survey(panel, tmp_path):
    d, _ = panel
    out = tmp_path/'anchors.csv'
    args = ['evaluate', '--survey', str(d/'bank.yaml'), '--data', str(d/'synthetic_panel.csv'), '--methods', 'mode,knn,gbm',
            '--respondents', '40', '--folds', '4,5', '--out', str(out)]
    r = valuesim(*args)
    assert r.returncode == 0, r.stderr
    assert 'NOT real survey data' in r.stderr and '30 questions, 5 folds of up to 6' in r.stderr
    res = pd.read_csv(out)
    assert set(res['question']) <= set(pd.read_csv(d/'synthetic_panel.csv', nrows=1).columns)
    assert (res['excluded'] == 'not_asked').sum() > 0            # the split ballot's other half: excluded and counted
    m = valuesim('metrics', str(out), '--json')
    assert m.returncode == 0, m.stderr
    acc = {x['method']: x['accuracy'] for x in json.loads(m.stdout)}
    assert acc['gbm'] > acc['mode'] + 0.05 and acc['knn'] > acc['mode']
    rep = valuesim('report', str(out), '--by', 'country_name', '--json')   # the survey and the data come back from the meta file
    assert rep.returncode == 0, rep.stderr
    assert json.loads(rep.stdout)['groups']
    n = len(out.read_text().splitlines())
    assert valuesim(*args).returncode == 0 and len(out.read_text().splitlines()) == n   # a rerun resumes: nothing appended

def test_build_refuses_to_overwrite_an_edited_bank(panel):
    d, _ = panel
    before = (d/'bank.yaml').read_bytes()
    r = valuesim('survey', 'build', str(d/'synthetic_panel.csv'), '--codebook', str(d/'synthetic_panel_codebook.csv'), '--out', str(d/'bank.yaml'))
    assert r.returncode == 2 and '--force' in r.stderr and (d/'bank.yaml').read_bytes() == before

@pytest.mark.parametrize('args,message', [
    (['survey', 'build', '/no/such.dta', '--out', 'b.yaml'], 'no such file'),
    (['survey', 'build', 'x.csv', '--out', 'b.txt'], '--out must end in .yaml'),
    (['evaluate', '--survey', '/no/bank.yaml', '--data', 'synthetic', '--methods', 'knn', '--out', 'r.csv'], 'no such bank file'),
    (['ask', '--data', 'synthetic', '--survey', 'synthetic-panel', '--respondent', 'P000001', '--question', 'Q?', '--options', 'a;b', '--method', 'knn'], 'only an LLM method'),
    (['ask', '--data', 'synthetic', '--survey', 'synthetic-panel', '--synthetic-n', '50', '--respondent', 'nobody', '--question', 'Q?', '--options', 'a;b'], 'no such respondent'),
    (['ask', '--data', 'synthetic', '--survey', 'synthetic-panel', '--respondent', 'P0000001', '--question', 'Q?', '--options', 'just one'], 'at least two options'),
])
def test_faults_get_one_clear_line_and_write_nothing(args, message, tmp_path):
    r = subprocess.run([str(Path(sys.executable).parent/'valuesim'), *args], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 2 and message in r.stderr and 'Traceback' not in r.stderr, r.stderr
    assert not any(tmp_path.iterdir())

def test_questions_per_fold_is_checked_against_the_survey(panel):
    d, _ = panel
    r = valuesim('evaluate', '--survey', str(d/'bank.yaml'), '--data', str(d/'synthetic_panel.csv'), '--methods', 'knn',
                 '--questions-per-fold', '7', '--out', str(d/'x.csv'))
    assert r.returncode == 2 and '--questions-per-fold must be 1..6' in r.stderr

def _gss_like(path, encoding_quirk=False):
    "A small Stata file shaped like a GSS extract: extended missing values with labels, a split ballot, a weight, a year."
    import pyreadstat
    rng = np.random.default_rng(1)
    n = 120
    df = pd.DataFrame({'id': np.arange(1, n + 1), 'year': 2021, 'wtssnrps': rng.uniform(.5, 2, n).round(3),
                       **{f'q{i}': [int(v) if v < 4 else 'd' for v in rng.integers(1, 5, n)] for i in range(6)}})
    df['q5'] = [v if b else 'i' for v, b in zip(df['q5'], rng.integers(0, 2, n))]
    lab = {f'q{i}': {1: 'agree strongly', 2: 'agree', 3: 'disagree', 'd': "don't know", 'i': 'iap'} for i in range(6)}
    pyreadstat.write_dta(df, str(path), column_labels=['respondent id number', 'gss year', 'weight', *[f'item {i}' for i in range(6)]],
                         variable_value_labels=lab, missing_user_values={f'q{i}': ['d', 'i'] for i in range(6)}, version=8 if not encoding_quirk else 14)
    if encoding_quirk:   # a Stata 118 file whose text is cp1252, not the UTF-8 the format promises
        raw = path.read_bytes().replace(b'item 0', b'\xeftem 0')
        path.write_bytes(raw)
    return path

@pytest.mark.parametrize('quirk', [False, True])
def test_stata_files_build_and_load(tmp_path, quirk):
    f = _gss_like(tmp_path/'gss.dta', quirk)
    r = valuesim('survey', 'build', str(f), '--out', str(tmp_path/'bank.yaml'))
    assert r.returncode == 0, r.stderr
    assert ('cp1252' in r.stderr) == quirk
    assert 'missing codes, dont_know: d' in r.stderr and 'missing codes, not_asked: i' in r.stderr
    e = valuesim('evaluate', '--survey', str(tmp_path/'bank.yaml'), '--data', str(f), '--methods', 'mode', '--respondents', '10',
                 '--out', str(tmp_path/'r.csv'))
    assert e.returncode == 0, e.stderr
    res = pd.read_csv(tmp_path/'r.csv')
    assert set(res['excluded'].dropna()) <= {'missing', 'not_asked'}

def test_survey_params_plan_the_three_notebooks(tmp_path):
    "A parameter file that names a survey plans (and would run) the notebooks that take one, nothing called."
    r = subprocess.run([sys.executable, '-m', 'valuesim.run', '--params', 'params/panel.yaml', '--plan'], capture_output=True, text=True,
                       timeout=600, cwd=Path(__file__).parents[1], env={**__import__('os').environ, 'VALUESIM_CACHE': str(tmp_path/'cache')})
    assert r.returncode == 0, r.stderr[-2000:]
    rows = [l.split()[0] for l in r.stdout.splitlines() if l.strip() and l.split()[0] in ('table_main_results', 'table_ablation', 'figure_history_length', 'table_cost')]
    assert sorted(rows) == ['figure_history_length', 'table_ablation', 'table_main_results']

def test_dask_workers_get_the_survey(tmp_path):
    "The survey travels with the table to Dask workers (pickled as its name) and the results come back with it."
    import warnings
    from dask.distributed import Client, LocalCluster
    from valuesim.evaluate import respondent_table, read_results
    from valuesim.distributed import evaluate_dask
    from valuesim.metrics import summary
    from valuesim.survey import survey_of
    t = respondent_table('synthetic', synthetic_n=400, survey='synthetic-panel')
    with warnings.catch_warnings(), LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as c, Client(c) as cl:
        warnings.simplefilter('ignore')
        r = evaluate_dask(t, ['mode', 'knn'], tmp_path/'r.csv', client=cl, respondents=6, folds=(5,), progress=False)
    assert survey_of(r) is survey_of(t) and set(summary(r)['method']) == {'mode', 'knn'}
    assert survey_of(read_results(tmp_path/'r.csv')).name == survey_of(t).name    # from the meta file, for `valuesim metrics`

def test_results_whose_bank_is_gone_say_so(panel, tmp_path):
    d, _ = panel
    import shutil
    shutil.copy(d/'bank.yaml', tmp_path/'bank.yaml')
    r = valuesim('evaluate', '--survey', str(tmp_path/'bank.yaml'), '--data', str(d/'synthetic_panel.csv'), '--methods', 'mode',
                 '--respondents', '3', '--out', str(tmp_path/'r.csv'))
    assert r.returncode == 0, r.stderr
    (tmp_path/'bank.yaml').rename(tmp_path/'moved.yaml')
    m = valuesim('metrics', str(tmp_path/'r.csv'))
    assert m.returncode == 2 and 'not there any more' in m.stderr and 'Traceback' not in m.stderr
