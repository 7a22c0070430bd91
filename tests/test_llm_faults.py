"""Fault injection against a scripted OpenAI-compatible server on 127.0.0.1: the run finishes or fails clearly,
and nothing already cached is lost or corrupted."""
import os, signal, sqlite3, subprocess, sys, textwrap, time
import numpy as np
import pytest
from valuesim.cache import ResponseCache
from valuesim.llm import (LLM, LLMConfig, EndpointUnreachable, UnknownModel, RequestRejected, PromptTooLong, LLMError, run_pool)


def client(stub, cache, **kw):
    cfg = dict(base_url=stub.url, model='stub-model', api_key='sk-test-SECRET-0123', backoff=0.01, max_backoff=0.05,
               timeout=1.0, max_retries=3, kind='llamacpp')   # the stub continues answers as llama.cpp does
    cfg.update(kw)
    return LLM(LLMConfig(**cfg), cache=cache)


@pytest.mark.parametrize('fault', ['500', '503', '429', 'timeout', 'truncated', 'nonjson', 'noshape'])
def test_retryable_fault_then_success(stub, tmp_cache, fault):
    stub.script.extend([fault, 'ok'])
    llm = client(stub, tmp_cache)
    r = llm.chat('How important is family?')
    assert r.text == '1' and not r.cached
    assert llm.stats.retries == 1 and llm.stats.live_calls == 1
    assert len(stub.requests) == 2 and len(tmp_cache) == 1


@pytest.mark.parametrize('code', ['401', '403', '422', '501'])
def test_no_retry_on_client_errors(stub, tmp_cache, code):
    stub.script.append(code)
    with pytest.raises(RequestRejected, match=f'HTTP {code}'):
        client(stub, tmp_cache).chat('hello')
    assert len(stub.requests) == 1 and len(tmp_cache) == 0


def test_prompt_too_long_is_not_retried_and_is_its_own_error(stub, tmp_cache):
    stub.script.append('400')   # the stub's 400 says 'context length exceeded'
    with pytest.raises(PromptTooLong, match='does not fit the context'):
        client(stub, tmp_cache).chat('hello')
    assert len(stub.requests) == 1 and len(tmp_cache) == 0


def test_unknown_model(stub, tmp_cache):
    stub.script.append('404')
    with pytest.raises(UnknownModel, match="no model 'stub-model'"):
        client(stub, tmp_cache).chat('hello')
    assert len(stub.requests) == 1


def test_gives_up_after_retries_and_caches_nothing(stub, tmp_cache):
    stub.script.extend(['500'] * 10)
    llm = client(stub, tmp_cache, max_retries=2)
    with pytest.raises(LLMError, match='after 3 attempts'):
        llm.chat('hello')
    assert len(stub.requests) == 3 and len(tmp_cache) == 0 and llm.stats.errors == 1


def test_unreachable_endpoint(tmp_cache):
    import socket
    s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()  # a port nobody listens on
    llm = LLM(LLMConfig(base_url=f'http://127.0.0.1:{port}/v1', model='m', max_retries=1, backoff=0.01), cache=tmp_cache)
    with pytest.raises(EndpointUnreachable, match=f'cannot reach http://127.0.0.1:{port}/v1'):
        llm.chat('hello')                                  # already asking which kind of server it is
    llm = LLM(LLMConfig(base_url=f'http://127.0.0.1:{port}/v1', model='m', max_retries=1, backoff=0.01, kind='vllm'), cache=tmp_cache)
    with pytest.raises(EndpointUnreachable, match=f'cannot reach http://127.0.0.1:{port}/v1 after 2 attempts'):
        llm.chat('hello')


def test_option_scores_two_steps(stub, tmp_cache):
    llm = client(stub, tmp_cache)
    sc = llm.score_options('Rate 1-10. Number only.', list(range(1, 11)))
    # first token: "1" .5, "2" .3, "x" .1; after "1": "0" .6, end .4
    assert sc.requests == 2
    assert sc.raw[10] == pytest.approx(.3) and sc.raw[1] == pytest.approx(.2) and sc.raw[2] == pytest.approx(.3)
    assert sc.outside == pytest.approx(.2)
    assert sc.best in (2, 10) and sum(sc.probs.values()) == pytest.approx(1)
    assert stub.requests[1]['body']['messages'][-1] == {'role': 'assistant', 'content': '1'}
    assert stub.requests[0]['body']['max_tokens'] == 1 and stub.requests[0]['body']['logprobs'] is True
    again = llm.score_options('Rate 1-10. Number only.', list(range(1, 11)))
    assert again.cached and again.probs == sc.probs and len(stub.requests) == 2


def test_unparseable_answer_finishes_with_no_option(stub, tmp_cache):
    stub.script.append('unparseable')
    sc = client(stub, tmp_cache).score_options('Rate 1-4.', [1, 2, 3, 4])
    assert sc.best is None and sc.outside == pytest.approx(1.0) and set(sc.probs.values()) == {0.0}


def test_missing_logprobs_is_a_clear_error(stub, tmp_cache):
    stub.script.extend(['nologprobs'] * 5)
    with pytest.raises(LLMError, match='no logprobs'):
        client(stub, tmp_cache, max_retries=1).score_options('Rate 1-4.', [1, 2, 3, 4])
    assert len(tmp_cache) == 0


def test_faults_do_not_touch_cached_entries(stub, tmp_cache, tmp_path):
    llm = client(stub, tmp_cache, max_retries=1)
    prompts = [f'question {i}' for i in range(6)]
    before = [r.text for r in run_pool(llm.chat, prompts, llm=llm, progress=False)]
    snapshot = {e['key']: e['response'] for e in tmp_cache.entries()}
    stub.script.extend(['500', '500', 'nonjson', 'truncated', '400', '429', '429'] * 2)
    res = run_pool(llm.chat, [f'new {i}' for i in range(6)], workers=3, llm=llm, progress=False, errors='return')
    assert any(isinstance(r, Exception) for r in res)           # some failed clearly
    after = {e['key']: e['response'] for e in tmp_cache.entries()}
    assert all(after[k] == v for k, v in snapshot.items())       # nothing cached before was changed
    con = sqlite3.connect(tmp_cache.path)
    assert con.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
    again = client(stub, ResponseCache(tmp_cache.path, recordings=[]))
    assert [again.chat(p).text for p in prompts] == before and again.stats.cache_hits == 6 and again.stats.live_calls == 0


def test_api_key_never_stored(stub, tmp_cache):
    stub.script.extend(['401'])
    llm = client(stub, tmp_cache)
    with pytest.raises(RequestRejected) as e: llm.chat('hello')
    assert 'SECRET' not in str(e.value)
    llm.chat('hello again')
    assert stub.requests[-1]['auth'] == 'Bearer sk-test-SECRET-0123'   # it was used...
    tmp_cache.close()
    for f in tmp_cache.path.parent.iterdir():                           # ...but is in no file
        assert b'SECRET' not in f.read_bytes(), f
    assert 'SECRET' not in repr(llm) + repr(llm.config)


def test_endpoint_embeddings_are_cached(stub, tmp_cache):
    llm = client(stub, tmp_cache, embed_model='stub-embed')
    E = llm.embed(['alpha', 'beta gamma'])
    assert E.shape == (2, 3) and np.allclose(np.linalg.norm(E, axis=1), 1)
    assert stub.requests[0]['path'].endswith('/embeddings') and stub.requests[0]['body']['model'] == 'stub-embed'
    n = len(stub.requests)
    assert np.allclose(llm.embed(['beta gamma']), E[1:]) and len(stub.requests) == n


def test_endpoint_embeddings_are_batched_and_kept_per_text(stub, tmp_cache):
    "Many texts go in few requests; each distinct text is stored on its own, so another mix of texts reuses them."
    llm = client(stub, tmp_cache, embed_model='stub-embed')
    texts = [f'profile item number {i}' for i in range(300)]
    E = llm.embed(texts + texts[:10])                      # repeats are embedded once
    reqs = [r for r in stub.requests if r['path'].endswith('/embeddings')]
    assert [len(r['body']['input']) for r in reqs] == [256, 44] and len(tmp_cache) == 300
    assert np.allclose(E[300:], E[:10])
    again = llm.embed(texts[5:15][::-1] + ['a new text'])  # one new text, one more request of one input
    reqs = [r for r in stub.requests if r['path'].endswith('/embeddings')]
    assert len(reqs) == 3 and reqs[-1]['body']['input'] == ['a new text'] and np.allclose(again[:10], E[5:15][::-1])

def test_endpoint_without_embedding_model_says_once_which_embedder_rag_uses(stub, tmp_cache, monkeypatch):
    import valuesim.embeddings as emb
    monkeypatch.setattr(emb, '_said', set())
    llm = client(stub, tmp_cache)
    with pytest.warns(UserWarning, match='offline multilingual-e5-small.*VALUESIM_EMBED_MODEL'): llm.embed(['alpha'])
    import warnings
    with warnings.catch_warnings(): warnings.simplefilter('error'); llm.embed(['beta'])   # once, not per call
    assert not [r for r in stub.requests if r['path'].endswith('/embeddings')]


def test_killed_run_loses_only_calls_in_flight(tmp_path):
    from stub_openai import StubOpenAI
    db = tmp_path / 'llm.sqlite'
    script = textwrap.dedent(f'''
        from valuesim.cache import ResponseCache
        from valuesim.llm import LLM, LLMConfig, run_pool
        import sys
        llm = LLM(LLMConfig(base_url=sys.argv[1], model='stub-model', kind='llamacpp'), cache=ResponseCache({str(db)!r}, recordings=[]))
        run_pool(llm.chat, [f'q{{i}}' for i in range(200)], workers=4, progress=False)
    ''')
    with StubOpenAI(delay=0.05) as stub:
        p = subprocess.Popen([sys.executable, '-c', script, stub.url])
        deadline = time.time() + 60
        while time.time() < deadline and len(stub.requests) < 30: time.sleep(0.05)
        os.kill(p.pid, signal.SIGKILL); p.wait()
        sent = len(stub.requests)
        assert 30 <= sent < 200
        cache = ResponseCache(db, recordings=[])
        con = sqlite3.connect(db)
        assert con.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
        stored = len(cache)
        assert sent - 4 - 1 <= stored <= sent    # at most the 4 calls in flight (and one being written) are lost
        llm = LLM(LLMConfig(base_url=stub.url, model='stub-model', kind='llamacpp'), cache=cache)
        run_pool(llm.chat, [f'q{i}' for i in range(200)], workers=4, progress=False)
        assert llm.stats.cache_hits == stored and llm.stats.live_calls == 200 - stored and len(cache) == 200
