"""Several backbones in one run: the main table gets one column group per backbone, and each backbone's rows equal those of
a run of that backbone alone; a backbone added later is the only one asked; keys come from the environment only; the plan,
the preflight check and papermill's help see every backbone."""
import subprocess, sys
import pandas as pd, pytest, yaml
from valuesim.paths import project_root
from valuesim.run import run_paper, plan_paper, preflight, load_params, paper_notebooks
from valuesim.standin import StandIn

SMALL = dict(data='synthetic', synthetic_n=300, respondents=2, folds=[5], questions_per_fold=3, profile_k=16, seed=42,
             workers=2, story_max_tokens=256, hybrid_calibration=2)

@pytest.fixture
def two():
    with StandIn(latency=0, kind='vllm', model='alpha-7b') as a, StandIn(latency=0, kind='llamacpp', model='beta-8b') as b: yield a, b

def backbone(s, name): return {'name': name, 'base_url': s.url, 'model': s.model, 'embed_model': s.model}

def params(path, backbones, **more):
    path.write_text(yaml.safe_dump({'common': {**SMALL, 'backbones': backbones, **more}})); return path

def use(monkeypatch, tmp_path, cache):
    (tmp_path / 'none.jsonl').write_text('')
    for k, v in dict(VALUESIM_CACHE=tmp_path / cache, VALUESIM_TABLES=tmp_path / cache / 't', VALUESIM_FIGURES=tmp_path / cache / 'f',
                     VALUESIM_RECORDINGS=tmp_path / 'none.jsonl').items(): monkeypatch.setenv(k, str(v))
    return tmp_path / cache / 't'


def test_two_backbones_side_by_side_equal_two_single_runs(two, tmp_path, monkeypatch):
    a, b = two
    A, B = backbone(a, 'alpha'), backbone(b, 'beta')
    # the plan names both backbones before anything is asked
    use(monkeypatch, tmp_path, 'x')
    _, notes, text = plan_paper(params(tmp_path / 'ab.yaml', [A, B]), only=['table_main_results'], progress=False)
    assert f'alpha-7b at {a.url}' in text and f'beta-8b at {b.url}' in text
    probes = [s.counts()['requests'] for s in two]
    assert all(0 < n <= 17 for n in probes)   # each was asked its speed probes only (one to open the connection, one to see it is fast, three timed five times)
    # alpha alone, then alpha and beta in the same cache: alpha is not asked again
    ta = use(monkeypatch, tmp_path, 'x')
    run_paper(params(tmp_path / 'a.yaml', [A]), only=['table_main_results'], plan_first=False)
    alone_a = pd.read_csv(ta / 'table_main_results_long.csv')
    asked_a = a.counts()['requests']
    run_paper(tmp_path / 'ab.yaml', only=['table_main_results'], plan_first=False)
    assert a.counts()['requests'] == asked_a and b.counts()['requests'] > probes[1]
    both, wide = pd.read_csv(ta / 'table_main_results_long.csv'), pd.read_csv(ta / 'table_main_results.csv')
    # beta alone, in a cache of its own
    tb = use(monkeypatch, tmp_path, 'y')
    run_paper(params(tmp_path / 'b.yaml', [B]), only=['table_main_results'], plan_first=False)
    alone_b = pd.read_csv(tb / 'table_main_results_long.csv')
    for name, alone in (('alpha', alone_a), ('beta', alone_b)):
        mine = both[both.backbone.isin([name, '-'])].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone.reset_index(drop=True))
    assert set(both[both.backbone == 'alpha'].model) == {'alpha-7b'} and set(both[both.backbone == 'beta'].model) == {'beta-8b'}
    assert set(both.backbone) == {'alpha', 'beta', '-'} and (both.backbone == '-').sum() == 5   # the five anchors (gbm_demographics beyond the paper), once
    # the paper's layout: methods as rows, a column group per backbone, the anchors in their own group
    assert list(wide.method) == ['no_profile', 'full_info', 'rag', 'valuesim', 'mode', 'country_mode', 'knn', 'gbm', 'gbm_demographics', 'valuesim_fast', 'hybrid', 'demographics']
    assert {'alpha: accuracy', 'beta: accuracy', 'no LLM (anchors): accuracy'} <= set(wide.columns)
    llm = both[both.backbone == 'beta'].set_index('method').accuracy
    assert wide.set_index('method')['beta: accuracy'].dropna().to_dict() == pytest.approx(llm.to_dict())
    gain = pd.read_csv(ta / 'table_main_results_gain.csv')
    assert list(gain.backbone) == ['alpha', 'beta']
    assert list(pd.read_csv(ta / 'table_main_results_hybrid_weights.csv').backbone) == ['alpha', 'beta']

def test_keys_come_from_the_environment(two, tmp_path, monkeypatch):
    a, _ = two
    nbs = [nb for nb in paper_notebooks() if nb.stem == 'table_ablation']
    keyed = {**backbone(a, 'alpha'), 'api_key_env': 'VALUESIM_TEST_ALPHA_KEY'}
    monkeypatch.delenv('VALUESIM_TEST_ALPHA_KEY', raising=False)
    problems = preflight(load_params(params(tmp_path / 'k.yaml', [keyed])), nbs)
    assert any('VALUESIM_TEST_ALPHA_KEY, which is not set' in p for p in problems)
    monkeypatch.setenv('VALUESIM_TEST_ALPHA_KEY', 'sk-test')
    assert preflight(load_params(tmp_path / 'k.yaml'), nbs) == []
    problems = preflight(load_params(params(tmp_path / 'bad.yaml', [{**backbone(a, 'alpha'), 'api_key': 'sk-in-the-file'}])), nbs)
    assert any('keys never go in a parameter file' in p for p in problems)

def test_a_listed_backbone_without_base_url_is_embedded(tmp_path, monkeypatch):
    "VALUESIM_BASE_URL does not redirect a backbone the file says is embedded (the smoke settings' two models)."
    from valuesim.paper import backbones_of, backbone_config
    from valuesim.llm import LLM
    monkeypatch.setenv('VALUESIM_BASE_URL', 'http://127.0.0.1:9/v1')
    bbs = backbones_of(load_params('params/smoke.yaml')['common']['backbones'])
    llms = [LLM(mode='replay', **backbone_config(b), model=b['model']) for b in bbs]
    assert [l.base_url for l in llms] == [None, None]
    assert [l.model for l in llms] == ['qwen2.5-coder-1.5b-instruct', 'qwen2.5-coder-0.5b-instruct']
    assert llms[0].endpoint != llms[1].endpoint   # their answers are cached apart

def test_papermill_lists_the_backbones_parameter():
    for nb in paper_notebooks():
        r = subprocess.run([sys.executable, '-m', 'papermill', '--help-notebook', str(nb)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and 'backbones: list' in r.stdout, (nb.name, r.stdout[-500:], r.stderr[-500:])

def test_each_backbone_sends_its_own_key(stub, monkeypatch):
    "A backbone's requests carry the key of its own api_key_env, not VALUESIM_API_KEY or another backbone's."
    from valuesim.paper import backbones_of, backbone_config
    from valuesim.llm import LLM
    monkeypatch.setenv('VALUESIM_TEST_KEY_A', 'sk-a'); monkeypatch.setenv('VALUESIM_TEST_KEY_B', 'sk-b'); monkeypatch.setenv('VALUESIM_API_KEY', 'sk-global')
    bbs = backbones_of([{'name': n, 'base_url': stub.url, 'model': 'stub-model', 'api_key_env': f'VALUESIM_TEST_KEY_{n.upper()}'} for n in 'ab'])
    for b in bbs: LLM(mode='live', **backbone_config(b), model=b['model']).chat(f"hello from {b['name']}")
    assert [r['auth'] for r in stub.requests if r['path'].endswith('/chat/completions')] == ['Bearer sk-a', 'Bearer sk-b']
