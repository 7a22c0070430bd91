"""Batch runs: `valuesim batch export` writes what a run still needs as an OpenAI batch file, a stand-in plays the batch
job, `valuesim batch import` stores its answers, and `valuesim evaluate` finishes from the cache alone, with the same
table as a live run against the same stand-in."""
import json
import pytest
from valuesim.cli import main
from valuesim.standin import StandIn
from valuesim.evaluate import read_results

ARGS = ['--data', 'synthetic', '--synthetic-n', '300', '--respondents', '2', '--folds', '5', '--questions-per-fold', '3', '--seed', '42',
        '--model', 'standin-7b', '--workers', '2', '--hybrid-calibration', '2', '--hybrid-prior', 'knn']
METHODS = 'valuesim,valuesim_fast,no_profile,full_info,rag,hybrid'

def args(s, *more): return [*ARGS, '--base-url', s.url, '--methods', METHODS, *more]

def lines(p): return [json.loads(l) for l in p.read_text().splitlines() if l.strip()]

@pytest.fixture
def standin(monkeypatch):
    monkeypatch.setenv('VALUESIM_EMBED_MODEL', 'standin-7b')   # RAG's embeddings go into the batch too
    with StandIn(latency=0, kind='vllm') as s: yield s

def test_round_trip_equals_a_live_run(standin, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('VALUESIM_CACHE', str(tmp_path / 'live'))
    assert main(['evaluate', *args(standin, '--out', str(tmp_path / 'live.csv'))]) == 0
    monkeypatch.setenv('VALUESIM_CACHE', str(tmp_path / 'batch'))
    rounds = []
    for _ in range(8):
        assert main(['batch', 'export', *args(standin, '--out', str(tmp_path / 'in.jsonl'))]) == 0
        sent = lines(tmp_path / 'in.jsonl')
        if not sent: break
        assert len({l['custom_id'] for l in sent}) == len(sent)   # each request once
        standin.run_batch(tmp_path / 'in.jsonl', tmp_path / 'out.jsonl')
        assert main(['batch', 'import', str(tmp_path / 'out.jsonl')]) == 0
        rounds.append(len(sent))
    assert 2 <= len(rounds) <= 6 and not sent                     # backstory, modules, coordinator, second steps: a few rounds
    assert 'nothing to export' in capsys.readouterr().out
    before = standin.counts()['requests']
    assert main(['evaluate', *args(standin, '--out', str(tmp_path / 'batch.csv'))]) == 0
    assert standin.counts()['requests'] == before                 # finished from the cache alone
    key, live, done = ['method', 'respondent', 'question'], read_results(tmp_path / 'live.csv'), read_results(tmp_path / 'batch.csv')
    cols = [c for c in live.columns if c != 'seconds']            # a batch answer carries no call duration
    assert live[cols].sort_values(key).reset_index(drop=True).equals(done[cols].sort_values(key).reset_index(drop=True))

def test_identical_requests_appear_once(standin, tmp_path, monkeypatch):
    monkeypatch.setenv('VALUESIM_CACHE', str(tmp_path / 'c'))
    main(['batch', 'export', *ARGS, '--base-url', standin.url, '--methods', 'no_profile', '--out', str(tmp_path / 'in.jsonl')])
    assert len(lines(tmp_path / 'in.jsonl')) == 3                 # two respondents, the same three questions
    assert standin.counts()['requests'] == 0                     # nothing was called

def test_failed_and_malformed_lines_are_reported_and_stored_nowhere(standin, tmp_path, monkeypatch, capsys):
    from valuesim.cache import ResponseCache
    monkeypatch.setenv('VALUESIM_CACHE', str(tmp_path / 'c'))
    out = ['batch', 'export', *ARGS, '--base-url', standin.url, '--methods', 'no_profile', '--out', str(tmp_path / 'in.jsonl')]
    main(out)
    standin.run_batch(tmp_path / 'in.jsonl', tmp_path / 'out.jsonl')
    good, failed, *_ = (tmp_path / 'out.jsonl').read_text().splitlines()
    f = json.loads(failed); f['response'] = {'status_code': 500, 'body': {'error': {'message': 'server overloaded'}}}
    (tmp_path / 'out.jsonl').write_text('\n'.join([good, json.dumps(f), '{"custom_id": "x", "respo', json.dumps({'custom_id': 'f' * 64, 'response': {}})]) + '\n')
    assert main(['batch', 'import', str(tmp_path / 'out.jsonl')]) == 1
    err = capsys.readouterr().err
    assert 'line 2: request' in err and 'server overloaded' in err
    assert 'line 3: not a batch output line' in err and 'line 4: custom_id ffff' in err and 'not exported from this cache' in err
    assert len(ResponseCache(tmp_path / 'c' / 'llm.sqlite', recordings=[], log=False)) == 2   # the good line and the endpoint's kind
    main(out)
    assert len(lines(tmp_path / 'in.jsonl')) == 2                 # the failed request and the one never answered are exported again

def test_export_needs_a_cache(standin, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('VALUESIM_CACHE', str(tmp_path / 'c'))
    assert main(['batch', 'export', *args(standin, '--cache', 'live', '--out', str(tmp_path / 'in.jsonl'))]) == 2
    assert 'one response cache' in capsys.readouterr().err
    assert main(['batch', 'export', *args(standin, '--out', str(tmp_path / 'in.csv'))]) == 2

def test_the_main_job_in_batch_rounds(standin, tmp_path, monkeypatch):
    "`make paper` with VALUESIM_BATCH_EXPORT: rounds of export, batch, import, until nothing is left; then the run asks nothing."
    from valuesim.run import export_paper, run_paper
    from valuesim.batch import import_batch
    (tmp_path / 'none.jsonl').write_text('')
    for k, v in dict(VALUESIM_CACHE=tmp_path / 'c', VALUESIM_RECORDINGS=tmp_path / 'none.jsonl', VALUESIM_BASE_URL=standin.url,
                     VALUESIM_MODEL='standin-7b', VALUESIM_TABLES=tmp_path / 't', VALUESIM_FIGURES=tmp_path / 'f').items():
        monkeypatch.setenv(k, str(v))
    import yaml
    from valuesim.paths import project_root
    smoke = yaml.safe_load(open(project_root() / 'params' / 'smoke.yaml'))
    smoke['common'].pop('backbones')   # one backbone: the stand-in named by VALUESIM_BASE_URL (the smoke file lists embedded ones)
    params = tmp_path / 'params.yaml'; params.write_text(yaml.safe_dump(smoke))
    sizes, asked = [], lambda: standin.counts()['requests']   # the batch job's answers count too: only changes during an export matter
    while True:
        before = asked(); r = export_paper(params, tmp_path / 'in.jsonl', only=['table_ablation'], progress=False)
        assert not r['failed'] and asked() == before             # an export calls nothing
        if not r['requests']: break
        standin.run_batch(tmp_path / 'in.jsonl', tmp_path / 'out.jsonl'); import_batch(tmp_path / 'out.jsonl')
        sizes.append(r['requests']); assert len(sizes) < 8
    assert len(sizes) >= 2 and not any((tmp_path / 't').glob('*.csv'))   # rounds write no table
    before = asked()
    run_paper(params, only=['table_ablation'], check_first=False, plan_first=False)
    assert (tmp_path / 't' / 'table_ablation.csv').exists() and asked() == before
