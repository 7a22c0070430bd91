"""Fast mode and the throughput benchmark against a scripted OpenAI-compatible endpoint (no model needed)."""
import json, subprocess, sys
from valuesim.llm import LLM, LLMConfig
from valuesim.methods import StoryModule, ValueSim
from valuesim.fast import FastValueSim
from valuesim.throughput import throughput_workload, bench_throughput, format_throughput


def test_fast_mode_through_an_endpoint(stub, tmp_cache):
    "Three scored calls per question, one story call per person, logprobs read as option probabilities."
    llm = LLM(LLMConfig(base_url=stub.url, model='stub-model', mode='cache'), cache=tmp_cache)
    person, profile, test = throughput_workload(respondents=1, questions=2, k=5)[0]
    preds = FastValueSim(StoryModule(llm), llm, llm).predict(person, profile, test)
    assert [p.code for p in preds] == [1, 1]                 # the stub leans to '1' (p .5) over '2' (p .3)
    assert abs(preds[0].probs[1] - .5 / .8) < 1e-3 and abs(preds[0].probs[2] - .3 / .8) < 1e-3   # up to the floor given to options 3, 4
    bodies = [r['body'] for r in stub.requests]
    scored = [b for b in bodies if b.get('logprobs')]
    assert len(scored) == 6 and len(bodies) == 7             # 2 questions x 3 modules, plus the backstory
    assert all(b['max_tokens'] == 1 for b in scored)
    # the three module prompts of a question share everything but their last line (the perspective)
    texts = [b['messages'][0]['content'] for b in scored[:3]]
    shared = texts[0][:texts[0].rindex('\n') + 1]
    assert all(t.startswith(shared) and '\n' not in t[len(shared):] for t in texts) and len(set(texts)) == 3
    assert 'STORY' in shared and 'OPTIONS' in shared and 'and nothing else.' in shared
    assert all(abs(p.calls - (3 + 1 / 2)) < 1e-9 for p in preds)   # 3 scored calls plus half the backstory


def test_throughput_bench_against_an_endpoint(stub):
    "The benchmark runs each method in its own process against the endpoint and reports every field."
    r = bench_throughput(respondents=1, questions=2, k=4, methods=('valuesim', 'valuesim_fast', 'no_profile'),
                         base_url=stub.url, model='stub-model', progress=False)
    ms = r['methods']
    assert set(ms) == {'valuesim', 'valuesim_fast', 'no_profile'}
    assert all(m['predictions'] == 2 and m['peak_rss_mib'] > 0 and m['endpoint'] == stub.url for m in ms.values())
    assert ms['no_profile']['calls_per_pred'] == 1 and ms['valuesim_fast']['calls_per_pred'] == 3.5
    assert ms['valuesim']['calls_per_pred'] >= 4             # the stub's replies carry no Answer line: coordinator every time
    assert 'speedup' in r['fast_vs_faithful'] and 'valuesim_fast' in format_throughput(r)
    c = r['fast_vs_faithful_intervals']                      # paired on the same (respondent, question) pairs
    assert c['respondents'] == 1 and c['pairs'] == len(ms['valuesim']['pairs']) - sum(x['correct'] is None for x in ms['valuesim']['pairs'])
    assert [(x['respondent'], x['question']) for x in ms['valuesim']['pairs']] == [(x['respondent'], x['question']) for x in ms['valuesim_fast']['pairs']]
    assert all(x['answer_s'] >= 0 for m in ms.values() for x in m['pairs'])
    # cold: nothing was answered from a cache, so every call reached the endpoint
    assert len(stub.requests) == sum(round(m['calls_per_pred'] * m['predictions']) for m in ms.values())


def test_bench_cli_json(stub):
    "`python -m valuesim.bench throughput --json` prints one JSON object."
    p = subprocess.run([sys.executable, '-m', 'valuesim.bench', 'throughput', '--respondents', '1', '--questions', '1', '--k', '2',
                        '--methods', 'no_profile', '--base-url', stub.url, '--model', 'stub-model', '--json'],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r['methods']['no_profile']['predictions'] == 1 and r['workload']['k'] == 2
