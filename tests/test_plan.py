"""The plan counts what a run will ask before it asks: against stand-in endpoints on 127.0.0.1, the planned calls equal
the calls a cold run then makes where nothing is uncertain (one-call methods on an OpenAI-like server), bound them
from above where something is (ValueSim's coordinator, second scoring steps), and drop to zero once the run is cached."""
import json, os, subprocess, sys
from pathlib import Path
import pytest, yaml
import pandas as pd
from valuesim.standin import StandIn
from valuesim.evaluate import respondent_table, make_methods, evaluate, _done_tasks
from valuesim.plan import plan_evaluation, plan_table

RUN = dict(respondents=3, folds=(5,), questions_per_fold=4, seed=42)

@pytest.fixture(scope='module')
def table(): return respondent_table('synthetic', synthetic_n=300)

def methods(table, url, names, cache_dir, monkeypatch):
    monkeypatch.setenv('VALUESIM_CACHE', str(cache_dir))
    return make_methods(names, table, dict(base_url=url, model='standin-7b', mode='cache'))

def calls(plan): return sum(c['calls'] for c in plan['clients'])

def test_one_call_methods_plan_exactly_what_a_cold_run_asks(table, tmp_path, monkeypatch):
    with StandIn(latency=0, kind='openai') as s:   # whole-number tokens: no second step, nothing left to chance
        ms = methods(table, s.url, ['no_profile', 'full_info', 'mode'], tmp_path / 'cache', monkeypatch)
        plan = plan_evaluation(table, ms, **RUN, progress=False)
        assert s.counts()['requests'] == 0                     # planning asked nothing
        evaluate(table, ms, tmp_path / 'r.csv', **RUN, workers=2, progress=False)
        asked = s.counts()['requests']
    # no_profile asks every respondent the same questions: planned once each, as the single-flight run asks them
    assert calls(plan) == asked == 4 + 3 * 4
    assert plan['tasks'] == 9 and plan['llm_tasks'] == 6

def test_valuesim_plan_bounds_the_run_and_a_cached_run_plans_nothing(table, tmp_path, monkeypatch):
    with StandIn(latency=0, kind='vllm') as s:
        ms = methods(table, s.url, ['valuesim', 'no_caps'], tmp_path / 'cache', monkeypatch)
        before = plan_evaluation(table, ms, **RUN, progress=False)
        evaluate(table, ms, tmp_path / 'r.csv', **RUN, workers=2, progress=False)
        asked = s.counts()['requests']
        after = plan_evaluation(table, ms, **RUN, progress=False)                              # everything is cached now
        resumed = plan_evaluation(table, ms, **RUN, done=_done_tasks(tmp_path / 'r.csv'), progress=False)
    assert asked <= calls(before) <= 1.6 * asked               # an upper bound, and not a wild one
    story_and_modules = 3 + 3 * 3 * 4 + 3                      # a story each, three modules per question, no_caps's one call each (x4 below)
    assert calls(before) >= story_and_modules
    assert calls(after) == 0 and sum(c['cached'] for c in after['clients']) > 0
    assert resumed['tasks_done'] == resumed['tasks'] == 6 and resumed['llm_tasks'] == 0

def test_plan_table_estimates_time_from_the_measured_speed(table, tmp_path, monkeypatch):
    from valuesim.llm import LLM
    from valuesim.plan import measure_speed
    with StandIn(latency=0.03, kind='openai') as s:
        ms = methods(table, s.url, ['no_profile', 'full_info'], tmp_path / 'cache', monkeypatch)
        plan = plan_evaluation(table, ms, **RUN, workers=4, progress=False)
        speed = measure_speed(LLM(base_url=s.url, model='standin-7b', mode='live'))
        t = plan_table([{**plan, 'notebook': 'nb'}], {c['endpoint']: speed for c in plan['clients']})
    est = t.time_s.iloc[0]
    assert calls(plan) * 0.03 / 4 <= est <= calls(plan) * 0.3 / 4   # the stand-in's latency is the floor; four calls at once
    assert t.cost_usd.iloc[0] is None or t.cost_usd.isna().iloc[0]   # a self-hosted model has no price: no made-up cost

def test_plan_command_stops_on_a_missing_wvs_file(tmp_path):
    p = tmp_path / 'p.yaml'
    p.write_text(yaml.safe_dump({'common': {'data': str(tmp_path / 'missing.csv')}}))
    r = subprocess.run([sys.executable, '-m', 'valuesim.run', '--params', str(p), '--plan'], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and 'missing.csv not found' in r.stderr and 'planning' not in r.stderr

def test_valuesim_plan_is_the_same_check(tmp_path):
    p = tmp_path / 'p.yaml'
    p.write_text(yaml.safe_dump({'common': {'data': str(tmp_path / 'missing.csv')}}))
    r = subprocess.run([sys.executable, '-c', 'import sys; from valuesim.cli import main; sys.exit(main())', 'plan', '--params', str(p)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and 'missing.csv not found' in r.stderr

def test_placeholder_backstories_keep_people_apart(table, tmp_path, monkeypatch):
    "Each person's planned backstory is their own, so their module requests are never counted as one (six people, one question)."
    with StandIn(latency=0, kind='openai') as s:
        ms = methods(table, s.url, ['valuesim'], tmp_path / 'cache', monkeypatch)
        plan = plan_evaluation(table, ms, respondents=6, folds=(5,), questions_per_fold=1, seed=42, progress=False)
    c = plan['clients'][0]
    assert c['repeats'] == 0 and c['calls'] == 6 * (1 + 3 + 1)   # story, three modules, the coordinator: per person

def test_plan_paper_runs_the_notebooks_dry(tmp_path, monkeypatch):
    "`make plan` on the smoke settings: the committed recordings answer every call, and no table, figure or result is written."
    from valuesim.run import plan_paper
    from valuesim.paths import tables_dir, figures_dir
    monkeypatch.setenv('VALUESIM_CACHE', str(tmp_path / 'cache'))
    before = {p: p.stat().st_mtime for d in (tables_dir(), figures_dir()) for p in d.iterdir()}
    table, notes, text = plan_paper('params/smoke.yaml', only=['table_ablation', 'table_data_sample'], progress=False)
    row = table.set_index('notebook').loc['table_ablation']
    assert row.calls == 0 and row.cached > 0 and row.tasks == 12   # 6 per backbone: the smoke settings compare two
    assert 'table_ablation' in text and 'not the paper' in text
    assert {p: p.stat().st_mtime for d in (tables_dir(), figures_dir()) for p in d.iterdir()} == before
    assert not (tmp_path / 'cache' / 'results').exists() or not any((tmp_path / 'cache' / 'results').iterdir())

def test_a_plan_leaves_no_placeholder_behind(table, tmp_path, monkeypatch):
    "Planning with the same method objects first changes nothing in the run that follows (no planned backstory is remembered)."
    with StandIn(latency=0, kind='vllm') as s:
        ms = methods(table, s.url, ['valuesim'], tmp_path / 'a', monkeypatch)
        plan_evaluation(table, ms, **RUN, progress=False)
        planned_first = evaluate(table, ms, tmp_path / 'a.csv', **RUN, progress=False)
        fresh = evaluate(table, methods(table, s.url, ['valuesim'], tmp_path / 'b', monkeypatch), tmp_path / 'b.csv', **RUN, progress=False)
    key = ['respondent', 'question']
    cols = ['respondent', 'question', 'predicted_code', 'probs', 'calls']
    assert planned_first[cols].sort_values(key).reset_index(drop=True).equals(fresh[cols].sort_values(key).reset_index(drop=True))

def test_fast_mode_and_hybrid_plans_bound_the_run(table, tmp_path, monkeypatch):
    "Fast mode asks its coordinator only where the modules disagree, which placeholders cannot tell: the plan counts it on every question."
    with StandIn(latency=0, kind='vllm') as s:   # its modules disagree one prompt in four; digits split: second scoring steps
        monkeypatch.setenv('VALUESIM_CACHE', str(tmp_path / 'cache'))
        ms = make_methods(['valuesim_fast', 'hybrid'], table, dict(base_url=s.url, model='standin-7b', mode='cache'), hybrid_calibration=3, hybrid_prior='knn')
        plan = plan_evaluation(table, ms, respondents=4, folds=(5,), questions_per_fold=12, seed=42, progress=False)
        assert s.counts()['requests'] == 0
        evaluate(table, ms, tmp_path / 'r.csv', respondents=4, folds=(5,), questions_per_fold=12, seed=42, workers=2, progress=False)
        asked = s.counts()['requests']
        # once the modules' real scores are cached, the plan knows where they agree: a cached run plans no coordinator call
        again = plan_evaluation(table, ms, respondents=4, folds=(5,), questions_per_fold=12, seed=42, progress=False)
    assert asked <= calls(plan), (asked, calls(plan))
    assert calls(again) == 0

def test_plan_json_predicts_the_whole_run_in_parts(tmp_path):
    "`valuesim plan --json` on a user's own settings (synthetic data, a few respondents, one fold) against an endpoint: the whole run's estimate is the sum of its timed parts."
    p = tmp_path / 'mine.yaml'
    p.write_text(yaml.safe_dump({'common': {'data': 'synthetic', 'synthetic_n': 400, 'respondents': 4, 'folds': [5], 'questions_per_fold': 4, 'workers': 4}}))
    with StandIn(latency=0.02, kind='vllm') as s:
        env = {**os.environ, 'VALUESIM_BASE_URL': s.url, 'VALUESIM_MODEL': 'standin-7b', 'VALUESIM_CACHE': str(tmp_path / 'cache')}
        r = subprocess.run([str(Path(sys.executable).parent / 'valuesim'), 'plan', '--params', str(p), '--json', '--only', 'table_main_results', 'table_ablation'],
                           capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    j = json.loads(r.stdout)
    parts = j['parts']
    assert set(parts) == {'endpoint', 'own_work', 'anchors', 'embeddings', 'notebooks', 'beside'}
    assert abs(j['estimated_seconds'] - sum(parts.values())) < 0.5
    assert -parts['beside'] <= min(parts['anchors'], parts['endpoint'] + parts['own_work'] + parts['embeddings']) + 0.5   # what runs beside is taken off once
    assert parts['endpoint'] > 0 and parts['anchors'] > 0 and parts['notebooks'] > 0   # the gbm's models are timed; so is each notebook's other work
    assert {n['notebook'] for n in j['notebooks']} == {'table_main_results', 'table_ablation'}
    assert any("valuesim's own pace" in n for n in j['notes'])

def test_a_notebook_plans_only_the_tasks_no_earlier_one_lends(tmp_path, monkeypatch):
    "The group-distributions figure asks for the calibration figure's methods and three more: its plan holds only the three's tasks, and the run computes only those."
    from valuesim.run import plan_paper, run_paper
    p = tmp_path / 'mine.yaml'
    p.write_text(yaml.safe_dump({'common': {'data': 'synthetic', 'synthetic_n': 400, 'respondents': 3, 'folds': [5], 'questions_per_fold': 2, 'workers': 2}}))
    with StandIn(latency=0, kind='vllm') as s:
        for k, v in dict(VALUESIM_BASE_URL=s.url, VALUESIM_MODEL='standin-7b', VALUESIM_CACHE=str(tmp_path / 'cache'),
                         VALUESIM_TABLES=str(tmp_path / 'tables'), VALUESIM_FIGURES=str(tmp_path / 'figures')).items(): monkeypatch.setenv(k, v)
        only = ['figure_calibration', 'figure_group_distributions']
        table, _, _ = plan_paper(p, only=only, progress=False)
        t = table.set_index('notebook')
        todo = t.tasks - t.tasks_done
        assert (todo['figure_calibration'], todo['figure_group_distributions']) == (7 * 3, 3 * 3)   # demographics, gbm, gbm_demographics
        run_paper(p, only=only, plan_first=False)
    files = {f: pd.read_csv(f) for f in (tmp_path / 'cache' / 'results').glob('*.csv')}
    assert sorted(len(d) for d in files.values()) == [2 * 3 * 3, 2 * 3 * 4, 2 * 3 * 5, 2 * 3 * 5]   # each notebook's LLM and anchor files
    llm = sorted((d for d in files.values() if 'rag' in set(d.method)), key=len)
    rows = lambda d: d[d.method.isin(llm[0].method)].sort_values(['method', 'respondent', 'question']).reset_index(drop=True)
    assert rows(llm[0]).equals(rows(llm[1]))
    metas = [json.loads(Path(f'{f}.meta.json').read_text()) for f in files]
    copied = {m['copied'] for m in metas if 'demographics' in m['methods'] or 'gbm' in m['methods']}
    assert copied == {4 * 3, 3 * 3}   # the group figure's LLM and anchor files: from the calibration figure's, not computed again
