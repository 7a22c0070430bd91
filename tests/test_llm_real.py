"""The real embedded model, a handful of calls (select with `-m llm`); skipped only when the model is not installed."""
import numpy as np
import pytest
from valuesim.cache import ResponseCache
from valuesim.embedded import is_installed, model_path
from valuesim.llm import LLM, LLMConfig

pytestmark = [pytest.mark.llm,
              pytest.mark.skipif(not is_installed(), reason=f'embedded model not installed at {model_path()} '
                                 '(run `python -m valuesim.embedded install`)')]

Q = ('On a scale from 1 (not at all important) to 10 (very important), how important is family in your life? '
     'Answer with the number only.')


@pytest.fixture(scope='module')
def llm(tmp_path_factory):
    return LLM(LLMConfig(), cache=ResponseCache(tmp_path_factory.mktemp('c') / 'llm.sqlite', recordings=[]))


def test_chat(llm):
    r = llm.chat('Answer with one word: what colour is the sky on a clear day?', max_tokens=5)
    assert 'blue' in r.text.lower() and r.usage['completion_tokens'] >= 1 and not r.cached


def test_option_scores(llm):
    sc = llm.score_options(Q, list(range(1, 11)))
    assert sc.best in range(1, 11) and sum(sc.probs.values()) == pytest.approx(1)
    assert 0 <= sc.outside < 0.5 and sc.requests == 2     # "1" and "10" share a first token: two steps


def test_live_call_agrees_with_recorded_one(llm):
    recorded = [llm.chat('Name one primary colour, in one word.', max_tokens=4).text,
                llm.score_options(Q, list(range(1, 11))).probs]
    live = LLM(LLMConfig(mode='live'))
    again = [live.chat('Name one primary colour, in one word.', max_tokens=4).text, live.score_options(Q, list(range(1, 11))).probs]
    assert again[0] == recorded[0]
    assert max(abs(again[1][k] - recorded[1][k]) for k in recorded[1]) < 0.02


def test_offline_embeddings(llm):
    E = llm.embed(['Family is very important in your life.', 'You never go to religious services.'])
    q = llm.embed(['How important is family in your life?'], query=True)[0]
    assert E.shape == (2, 384) and int(np.argmax(E @ q)) == 0
