"""The endpoint path, without any real endpoint: stand-ins on 127.0.0.1 that behave as OpenAI, vLLM, DeepSeek and
llama.cpp's server do (parameters, assistant continuation, how "10" is tokenised, error answers) plant a known
distribution, and valuesim must read back exactly that distribution, or stop with a message naming what to fix."""
import json, threading, warnings
import pytest
from stub_openai import KindStandIn, SPLIT_DIGITS, WHOLE_NUMBERS
from valuesim.llm import LLM, LLMConfig, RequestRejected, UnknownModel, PromptTooLong, RunError

SCALE = list(range(1, 11))   # a 10-point scale: 1 and 10 share their first character
SPLIT = {1: .85 * .70, 10: .85 * .30, 2: .10, 3: .05}           # what SPLIT_DIGITS plants
WHOLE = {1: .60, 10: .25, 2: .10, 3: .05}                       # what WHOLE_NUMBERS plants

def client(s, tmp_cache, **kw):
    return LLM(LLMConfig(base_url=s.url, model=kw.pop('model', 'm'), api_key='sk-test', max_retries=kw.pop('max_retries', 1),
                         backoff=0.01, max_backoff=0.02, timeout=5, **kw), cache=tmp_cache)

def assert_probs(scores, planted):
    for code in SCALE: assert scores.probs[code] == pytest.approx(planted.get(code, 0.), abs=1e-6), (code, scores.probs)

def posts(s): return [r for r in s.requests if r['method'] == 'POST']

@pytest.mark.parametrize('kind,planted', [('llamacpp', SPLIT), ('vllm', SPLIT), ('deepseek', SPLIT), ('openai', WHOLE)])
def test_option_probabilities_match_the_planted_distribution(tmp_cache, kind, planted):
    with KindStandIn(kind) as s:
        llm = client(s, tmp_cache)
        assert llm.kind == kind                     # detected from /models (owned_by)
        scores = llm.score_options('How justifiable is it? 1 never ... 10 always', SCALE)
    assert_probs(scores, planted)
    assert scores.best == 1

def test_vllm_is_continued_with_its_two_fields(tmp_cache):
    with KindStandIn('vllm') as s:
        client(s, tmp_cache).score_options('q', SCALE)
    first, second = posts(s)
    assert 'continue_final_message' not in first['body'] and second['body']['messages'][-1] == {'role': 'assistant', 'content': '1'}
    assert second['body']['continue_final_message'] is True and second['body']['add_generation_prompt'] is False

def test_deepseek_is_continued_with_a_prefix_on_its_beta_url(tmp_cache):
    with KindStandIn('deepseek') as s:
        client(s, tmp_cache).score_options('q', SCALE)
    first, second = posts(s)
    assert first['path'] == '/v1/chat/completions' and second['path'] == '/beta/chat/completions'
    assert second['body']['messages'][-1] == {'role': 'assistant', 'content': '1', 'prefix': True}

def test_openai_reads_a_whole_first_token_and_asks_once(tmp_cache):
    with KindStandIn('openai') as s:
        llm = client(s, tmp_cache, model='gpt-4o-mini')
        scores = llm.score_options('q', SCALE)
    assert scores.requests == 1 and len(posts(s)) == 1
    body = posts(s)[0]['body']
    assert 'max_tokens' not in body and body['max_completion_tokens'] == 1 and body['temperature'] == 0

def test_without_the_continuation_fields_a_vllm_answer_would_be_wrong(tmp_cache):
    "The stand-in is strict: treated as llama.cpp (a bare trailing message), vLLM answers afresh and the split is lost."
    with KindStandIn('vllm') as s:
        scores = client(s, tmp_cache, kind='llamacpp').score_options('q', SCALE)
    assert scores.probs[10] == pytest.approx(0.) and scores.best == 2   # the bug this client had on vLLM

def test_kind_set_by_hand_wins_over_detection(tmp_cache, monkeypatch):
    with KindStandIn('generic') as s:   # a proxy in front of vLLM says nothing about the server
        monkeypatch.setenv('VALUESIM_ENDPOINT_KIND', 'openai')
        llm = LLM(base_url=s.url, model='m', cache=tmp_cache)
        assert llm.kind == 'openai' and not [r for r in s.requests if r['method'] == 'GET']

def test_generic_endpoint_with_split_digits_warns_once(tmp_cache):
    with KindStandIn('generic') as s:
        llm = client(s, tmp_cache)
        with pytest.warns(UserWarning, match='1 and 10 cannot be told apart.*VALUESIM_ENDPOINT_KIND'):
            scores = llm.score_options('q', SCALE)
        with warnings.catch_warnings(): warnings.simplefilter('error'); llm.score_options('q2', SCALE)
    assert scores.requests == 1 and scores.probs[1] == pytest.approx(.85)   # never split in a way the endpoint cannot support

# --- parameters newer OpenAI models take ----------------------------------------------------------------------------
def test_reasoning_model_gets_no_temperature_and_max_completion_tokens(tmp_cache):
    with KindStandIn('openai') as s:
        r = client(s, tmp_cache, model='o3-mini').chat('hello', max_tokens=20)
    body = posts(s)[0]['body']
    assert r.text and 'temperature' not in body and 'max_tokens' not in body and body['max_completion_tokens'] == 20

def test_unsupported_parameter_is_not_an_unknown_model(tmp_cache):
    with KindStandIn('openai') as s:   # told it is some other server, the client sends max_tokens, which o3 refuses
        with pytest.raises(RequestRejected, match="does not take a parameter.*max_tokens.*VALUESIM_ENDPOINT_KIND") as e:
            client(s, tmp_cache, model='o3-mini', kind='generic').chat('hello')
    assert not isinstance(e.value, UnknownModel)

# --- refusals: the run's problems stop the run, a prompt too long is one question's --------------------------------
@pytest.mark.parametrize('status,error,needle', [
    (401, {'code': 'invalid_api_key'}, 'refused the key'), (403, {}, 'does not let this key use'),
    (429, {'code': 'insufficient_quota', 'message': 'You exceeded your current quota'}, 'quota of this key is used up'),
    (404, {'message': 'The model `m` does not exist'}, "has no model 'm'")])
def test_run_errors_stop_at_once(tmp_cache, status, error, needle):
    with KindStandIn('vllm', status=status, error=error) as s:
        llm = client(s, tmp_cache, max_retries=3)
        with pytest.raises(RunError, match=needle): llm.score_options('q', SCALE)
    assert len(posts(s)) == 1 and not [e for e in tmp_cache.entries() if e['kind'] == 'chat']   # no retry, no answer stored

def test_rate_limit_is_retried_not_fatal(tmp_cache):
    with KindStandIn('vllm', status=429, error={'code': 'rate_limit_exceeded', 'message': 'Rate limit reached'}) as s:
        llm = client(s, tmp_cache, max_retries=2)
        with pytest.raises(Exception) as e: llm.chat('q')
    assert len(posts(s)) == 3 and not isinstance(e.value, RunError)

def test_prompt_too_long_is_a_result_for_that_question(tmp_cache):
    with KindStandIn('vllm', status=400, error={'message': "This model's maximum context length is 32768 tokens"}) as s:
        with pytest.raises(PromptTooLong): client(s, tmp_cache).chat('q')

def test_refused_key_writes_no_rows_and_a_rerun_asks_again(tmp_path, tmp_cache):
    "`valuesim evaluate` against an endpoint answering 401 stops, writes nothing, and the rerun with a working endpoint does the tasks."
    import subprocess, sys, os
    out = tmp_path/'r.csv'
    from pathlib import Path
    args = [str(Path(sys.executable).parent/'valuesim'), 'evaluate', '--data', 'synthetic', '--methods', 'no_profile', '--respondents', '2',
            '--folds', '5', '--questions-per-fold', '3', '--out', str(out)]
    env = {**os.environ, 'VALUESIM_CACHE': str(tmp_path/'cache'), 'VALUESIM_MODEL': 'm', 'VALUESIM_RECORDINGS': ''}
    with KindStandIn('vllm', status=401, error={'code': 'invalid_api_key'}) as s:
        r = subprocess.run(args, env={**env, 'VALUESIM_BASE_URL': s.url}, capture_output=True, text=True, timeout=120)
    assert r.returncode == 3 and 'refused the key' in r.stderr and 'VALUESIM_API_KEY' in r.stderr
    assert not out.exists() or len(out.read_text().splitlines()) <= 1
    with KindStandIn('vllm') as s:
        r = subprocess.run(args, env={**env, 'VALUESIM_BASE_URL': s.url}, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    import pandas as pd
    rows = pd.read_csv(out)
    assert len(rows) == 6 and rows.valid.all()

# --- one live call per request key ------------------------------------------------------------------------------
def test_identical_requests_in_flight_make_one_call(tmp_cache):
    with KindStandIn('llamacpp', delay=0.3) as s:
        llm = client(s, tmp_cache)
        out, threads = [], [threading.Thread(target=lambda: out.append(llm.chat('same question').text)) for _ in range(6)]
        for t in threads: t.start()
        for t in threads: t.join()
    assert len(posts(s)) == 1 and len(out) == 6 and len(set(out)) == 1
    assert llm.stats.live_calls == 1 and llm.stats.cache_hits == 5

def test_detected_kind_is_cached_so_a_replay_needs_no_endpoint(tmp_cache):
    with KindStandIn('vllm') as s:
        live = client(s, tmp_cache)
        first = live.score_options('q', SCALE)
    replay = client(s, tmp_cache, mode='replay')   # the server is gone
    assert replay.kind == 'vllm' and replay.score_options('q', SCALE).probs == first.probs
