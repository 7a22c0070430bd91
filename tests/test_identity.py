"""A result's identity includes everything that determines it: another endpoint, model, role model or prompt set never
resumes into rows made by the old one (stand-in endpoints on 127.0.0.1, the synthetic sample)."""
import pytest
from stub_openai import KindStandIn
from valuesim.evaluate import respondent_table, sample_respondents, reference_pool, make_methods, evaluate

@pytest.fixture(scope='module')
def table(): return respondent_table(synthetic_n=200)

def run(table, out, url, model, **kw):
    ms = make_methods(['no_profile'], None, dict(base_url=url, model=model, kind='vllm', mode='cache'))
    return evaluate(table, ms, out, respondents=1, questions_per_fold=2, progress=False, **kw)

def test_results_of_another_model_are_not_resumed(table, tmp_path, monkeypatch):
    monkeypatch.setenv('VALUESIM_CACHE', str(tmp_path / 'cache'))
    with KindStandIn('vllm') as s:
        first = run(table, tmp_path / 'r.csv', s.url, 'model-a')
        assert len(first) == 2
        again = run(table, tmp_path / 'r.csv', s.url, 'model-a')     # the same setup resumes: nothing asked again
        assert len(again) == 2
        with pytest.raises(ValueError, match='made with other settings'): run(table, tmp_path / 'r.csv', s.url, 'model-b')

def test_paper_results_file_follows_the_role_models_from_the_environment(table, tmp_path, monkeypatch):
    from valuesim import paper
    monkeypatch.setenv('VALUESIM_CACHE', str(tmp_path / 'cache'))
    results = tmp_path / 'cache' / 'results'
    with KindStandIn('vllm') as s:
        monkeypatch.setenv('VALUESIM_MODEL', 'm')
        kw = dict(data='synthetic', synthetic_n=200, respondents=1, folds=[5], questions_per_fold=1, base_url=s.url, progress=False)
        paper.run_methods(['no_profile'], **kw)
        n = len(list(results.glob('*.csv')))
        paper.run_methods(['no_profile'], **kw)                       # same settings: same file
        assert len(list(results.glob('*.csv'))) == n
        monkeypatch.setenv('VALUESIM_MODEL_BASELINES', 'another-model')
        r = paper.run_methods(['no_profile'], **kw)
    assert len(list(results.glob('*.csv'))) == n + 1 and set(r.model) == {'another-model'}
