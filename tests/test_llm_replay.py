"""Replay mode with no model and no server: recordings answer, a miss names the request; the installed package's CLI."""
import json, os, subprocess, sys, textwrap
import pytest
from valuesim.cache import ResponseCache, export_recording, CacheMiss, request_key
from valuesim.llm import LLM, LLMConfig


def _run(code, env):
    full = {**os.environ, **env}
    for v in ('VALUESIM_BASE_URL', 'VALUESIM_MODEL', 'OPENAI_API_KEY', 'VALUESIM_API_KEY', 'VALUESIM_GGUF'):
        if v not in env: full.pop(v, None)
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True, text=True, env=full, timeout=120)


def test_replay_from_recording_with_endpoint_gone(stub, tmp_path):
    live = LLM(LLMConfig(base_url=stub.url, model='stub-model'), cache=ResponseCache(tmp_path / 'rec.sqlite', recordings=[]))
    text = live.chat('How important is family?').text
    sc = live.score_options('Rate 1-10. Number only.', list(range(1, 11)))
    rec = tmp_path / 'recordings' / 'smoke.jsonl'
    assert export_recording(live.cache, rec) == 4   # the chat, the two scoring steps, and which kind of server it was
    stub.httpd.shutdown()   # the endpoint is gone: replay must not need it
    code = f'''
        import json
        from valuesim.llm import LLM
        from valuesim.cache import CacheMiss
        llm = LLM()
        out = dict(text=llm.chat('How important is family?').text,
                   probs={{str(k): v for k, v in llm.score_options('Rate 1-10. Number only.', list(range(1, 11))).probs.items()}})
        try: llm.chat('a question nobody recorded'); out['miss'] = None
        except CacheMiss as e: out['miss'] = str(e)
        out['hits'] = llm.stats.cache_hits
        print(json.dumps(out))
    '''
    r = _run(code, dict(VALUESIM_CACHE_MODE='replay', VALUESIM_RECORDINGS=str(rec), VALUESIM_CACHE=str(tmp_path / 'fresh'),
                        VALUESIM_BASE_URL=stub.url, VALUESIM_MODEL='stub-model', VALUESIM_MODELS=str(tmp_path / 'no-models')))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out['text'] == text and out['hits'] == 3
    assert out['probs'] == {str(k): v for k, v in sc.probs.items()}
    assert 'a question nobody recorded' in out['miss'] and "model 'stub-model'" in out['miss']


def test_embedded_replay_needs_no_model_file(tmp_path):
    # a recording made under the embedded model's identity answers on a machine without the weights
    from valuesim.embedded import embedded_identity
    endpoint, model = embedded_identity()
    body = dict(messages=[{'role': 'user', 'content': 'Say hi'}], max_tokens=512, temperature=0., seed=0)
    c = ResponseCache(tmp_path / 'a.sqlite', recordings=[])
    c.put(request_key(endpoint, model, 'chat', body), 'chat', endpoint, model, body,
          {'choices': [{'message': {'role': 'assistant', 'content': 'hi there'}}], 'usage': {}})
    export_recording(c, tmp_path / 'r.jsonl')
    code = '''
        from valuesim.llm import LLM
        from valuesim.embedded import is_installed
        import valuesim.embedded as E
        llm = LLM()
        print(llm.chat('Say hi').text, is_installed(), E._servers == {})
    '''
    r = _run(code, dict(VALUESIM_CACHE_MODE='replay', VALUESIM_RECORDINGS=str(tmp_path / 'r.jsonl'),
                        VALUESIM_CACHE=str(tmp_path / 'fresh'), VALUESIM_MODELS=str(tmp_path / 'no-models')))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ['hi', 'there', 'False', 'True']


def test_cli_embedded_path_and_check(tmp_path):
    env = dict(VALUESIM_MODELS=str(tmp_path / 'models'))
    r = subprocess.run([sys.executable, '-m', 'valuesim.embedded', 'path'], capture_output=True, text=True,
                       env={**os.environ, **env})
    assert r.returncode == 0 and r.stdout.strip() == str(tmp_path / 'models' / 'qwen2.5-coder-1.5b-instruct-q4_k_m.gguf')
    r = subprocess.run([sys.executable, '-m', 'valuesim.embedded', 'check'], capture_output=True, text=True, env={**os.environ, **env})
    assert r.returncode == 1 and 'no model file' in r.stderr
    (tmp_path / 'models' / 'qwen2.5-coder-1.5b-instruct-q4_k_m.gguf').write_bytes(b'GGUF' + b'\0' * 1000)
    r = subprocess.run([sys.executable, '-m', 'valuesim.embedded', 'check'], capture_output=True, text=True, env={**os.environ, **env})
    assert r.returncode == 1 and 'refusing it' in r.stderr
    r = subprocess.run([sys.executable, '-m', 'valuesim.embedded', 'install', '--model', 'gpt-5'], capture_output=True,
                       text=True, env={**os.environ, **env})
    assert r.returncode == 1 and 'unknown embedded model' in r.stderr


def test_import_starts_nothing():
    r = _run('''
        import threading, valuesim.llm, valuesim.embedded, valuesim.cache, valuesim.embeddings, valuesim.llmbench
        print(valuesim.embedded._servers == {}, threading.active_count())
    ''', {})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ['True', '1']


def test_embedded_without_model_explains_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv('VALUESIM_MODELS', str(tmp_path / 'none'))
    llm = LLM(LLMConfig(mode='live'))
    with pytest.raises(FileNotFoundError, match='python -m valuesim.embedded install'):
        llm.chat('hello')
