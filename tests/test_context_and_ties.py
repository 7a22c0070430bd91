"""Issue 22, points 1 and 2, through stand-ins that behave as the real servers do: a context length that vLLM reports in
/v1/models and llama.cpp in /props (longer prompts refused with each server's message), and logprobs quantised as a
bf16-served model gives them (ties at the top)."""
import json, subprocess, sys
from pathlib import Path
import pandas as pd
import pytest
from valuesim.standin import StandIn
from valuesim.llm import LLM, LLMConfig
from valuesim.cache import ResponseCache

def valuesim(*args, env=None, timeout=600):
    return subprocess.run([str(Path(sys.executable).parent/'valuesim'), *args], capture_output=True, text=True, timeout=timeout, env=env)

def _env(tmp_path):
    import os
    return {**os.environ, 'VALUESIM_CACHE': str(tmp_path/'cache')}

@pytest.mark.parametrize('kind,context', [('vllm', 8192), ('llamacpp', 4096)])
def test_prompts_longer_than_the_context_are_reported_not_scored(tmp_path, kind, context):
    out = tmp_path/'r.csv'
    with StandIn(latency=0, kind=kind, context=context) as s:
        llm = LLM(LLMConfig(base_url=s.url, model=s.model, mode='live'))
        assert llm.context_length == context   # learnt from the server, as each kind reports it
        r = valuesim('evaluate', '--data', 'synthetic', '--synthetic-n', '200', '--methods', 'no_profile,full_info', '--respondents', '2',
                     '--folds', '5', '--questions-per-fold', '5', '--base-url', s.url, '--model', s.model, '--out', str(out), env=_env(tmp_path))
    assert r.returncode == 0, r.stderr
    # before the first call: the preview names the method, the count, the context and the fix
    assert f"full_info: 5 of 5 of the first respondent's prompts will not fit the {context:,}-token context" in r.stderr, r.stderr
    assert 'leave full_info out' in r.stderr and 'no_profile:' not in r.stderr.replace('no_profile,', '')
    # after the run: the results file says why each pair is missing, and the metrics count it apart from wrong answers
    res = pd.read_csv(out)
    fi = res[res.method == 'full_info']
    assert len(fi) == 10 and set(fi.excluded) == {'prompt_too_long'}
    assert "full_info: 10 of 10 pair(s) not scored: the prompt did not fit the model's context" in r.stderr
    m = valuesim('metrics', str(out), '--json')
    rows = {x['method']: x for x in json.loads(m.stdout)}
    assert (rows['full_info']['too_long'], rows['full_info']['scored']) == (10, 0)
    assert rows['no_profile']['too_long'] == 0 and rows['no_profile']['scored'] > 0

def test_bf16_ties_go_to_the_generated_option_not_the_lowest_code(tmp_path):
    with StandIn(latency=0, kind='vllm', precision='bf16', keep_bodies=True) as s:
        llm = LLM(LLMConfig(base_url=s.url, model=s.model, mode='cache'), cache=ResponseCache(tmp_path/'c.sqlite', recordings=[]))
        ties = lowest_would_differ = 0
        for i in range(80):
            q = f'You are person {i}.\nQUESTION\nHow important is work?\nOPTIONS\n1. a\n2. b\n3. c\n4. d\n5. e'
            sc = llm.score_options(q, [1, 2, 3, 4, 5])
            body = s.received[-1][1]
            generated = int(s.respond('/v1/chat/completions', body)[1]['choices'][0]['message']['content'])
            if sc.tie is None: continue
            ties += 1
            tied = [c for c, p in sc.probs.items() if abs(p - max(sc.probs.values())) < 1e-12]
            assert len(tied) > 1 and sc.best == generated and sc.tie == 'generated', (sc, generated)
            lowest_would_differ += min(tied) != generated
    assert ties >= 20, ties                  # bf16 ties are common, as on a GPU server
    assert lowest_would_differ >= 10         # and the old rule (lowest code) would have answered otherwise

def test_metrics_count_tied_predictions(tmp_path):
    counts = {}
    for precision in ('float32', 'bf16'):
        out = tmp_path/f'{precision}.csv'
        with StandIn(latency=0, kind='vllm', precision=precision) as s:
            r = valuesim('evaluate', '--data', 'synthetic', '--synthetic-n', '200', '--methods', 'no_profile,full_info', '--respondents', '3',
                         '--folds', '5', '--questions-per-fold', '10', '--base-url', s.url, '--model', s.model, '--out', str(out),
                         env=_env(tmp_path/precision))
        assert r.returncode == 0, r.stderr
        m = valuesim('metrics', str(out), '--json')
        counts[precision] = {x['method']: x['tied'] for x in json.loads(m.stdout)}
    assert counts['float32'] == {'no_profile': 0, 'full_info': 0}
    assert counts['bf16']['full_info'] > 0 and counts['bf16']['no_profile'] > 0
