"""The committed recordings are real: a few of their requests, sent again to the embedded model now, get the same answers.

Select with `-m llm`; skipped only when the embedded model is not installed. Also checks, without a
model, that every recording is well-formed and was made by one of the pinned embedded models (the smoke
settings' two backbones: both are there)."""
import json, math
from pathlib import Path
import pytest
from valuesim.paths import project_root
from valuesim.embedded import is_installed, get_model_spec, MODELS

RECORDINGS = sorted((project_root()/'recordings').glob('*.jsonl'))

def entries():
    for f in RECORDINGS:
        for line in f.read_text(encoding='utf-8').splitlines():
            if line.strip(): yield json.loads(line)

def test_recordings_exist_and_are_well_formed():
    es = list(entries())
    assert RECORDINGS and es, 'no recordings committed under recordings/'
    from valuesim.embeddings import local_identity, LOCAL_EMBED_MODEL
    for e in es:
        assert {'key', 'kind', 'endpoint', 'model', 'request', 'response'} <= set(e)
        if e['kind'] == 'chat':   # made by a pinned embedded model, under its name
            assert e['endpoint'] in {'embedded:' + m.sha256 for m in MODELS.values()}
            assert e['model'] == next(m.name for m in MODELS.values() if e['endpoint'] == 'embedded:' + m.sha256)
        else:   # RAG's vectors, made by the installed offline embedder
            assert e['kind'] == 'embed' and (e['endpoint'], e['model']) == (local_identity(), LOCAL_EMBED_MODEL)
            assert len(e['response']['data'][0]['embedding']) == 384 and len(e['request']['input']) == 1
        assert 'api_key' not in json.dumps(e).lower()
    assert {e['model'] for e in es if e['kind'] == 'chat'} == set(MODELS)   # both smoke backbones were recorded

def _top(resp):
    tops = resp['choices'][0]['logprobs']['content'][0]['top_logprobs']
    return {t['token']: math.exp(t['logprob']) for t in tops}

@pytest.mark.llm
@pytest.mark.parametrize('name', list(MODELS))
def test_live_calls_agree_with_recordings(name):
    if not is_installed(name): pytest.skip(f'{name} not installed (python -m valuesim.embedded install --all)')
    from valuesim.llm import LLM, LLMConfig
    es = [e for e in entries() if e['kind'] == 'chat' and e['model'] == name]
    scored = sorted((e for e in es if e['request'].get('logprobs')), key=lambda e: len(json.dumps(e['request'])))[:3]
    short = sorted((e for e in es if not e['request'].get('logprobs') and e['request'].get('max_tokens', 0) <= 128),
                   key=lambda e: len(json.dumps(e['request'])))[:1]
    assert scored and short, 'the recordings hold no option-scoring or short generation requests'
    live = LLM(LLMConfig(mode='live', model=name))
    for e in scored:
        now, then = _top(live._call('chat', e['request'])), _top(e['response'])
        assert max(abs(now.get(t, 0) - p) for t, p in then.items() if p > 0.01) < 0.05
        # llama.cpp's sums differ slightly with thread count and prompt-cache reuse, so two options within
        # a few hundredths (seen: 0.293 vs 0.284) may swap places; a clear winner must stay the winner
        first, second = sorted(then.values(), reverse=True)[:2]
        if first - second > 0.05: assert max(now, key=now.get) == max(then, key=then.get)
    for e in short:
        now = live._call('chat', e['request'])['choices'][0]['message']['content']
        then = e['response']['choices'][0]['message']['content']
        assert now.splitlines()[0] == then.splitlines()[0]     # the answer line; long continuations may drift with thread count


def test_recorded_embeddings_are_the_offline_embedders():
    "A few recorded vectors, computed again now, point the same way (kernels differ between CPUs in the last digits)."
    import numpy as np
    from valuesim.embeddings import embed
    es = [e for e in entries() if e['kind'] == 'embed'][:6]
    assert es, 'the recordings hold no embeddings'
    for e in es:
        now = embed([e['request']['input'][0]], query=e['request']['input_type'] == 'query', mode='live')[0]
        then = np.asarray(e['response']['data'][0]['embedding']); then /= np.linalg.norm(then)
        assert float(now @ then) > 0.999
