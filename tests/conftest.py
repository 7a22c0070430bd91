import os, sys
from pathlib import Path
import pytest

sys.path.insert(0, str(Path(__file__).parent))


def pytest_configure(config):
    config.addinivalue_line('markers', 'llm: runs the real embedded model (select with -m llm, skip with -m "not llm")')


@pytest.fixture
def stub():
    from stub_openai import StubOpenAI
    with StubOpenAI() as s: yield s


@pytest.fixture
def tmp_cache(tmp_path):
    from valuesim.cache import ResponseCache
    return ResponseCache(tmp_path / 'llm.sqlite', recordings=[])


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    "No developer setting leaks into a test."
    for v in ('VALUESIM_BASE_URL', 'VALUESIM_MODEL', 'VALUESIM_API_KEY', 'OPENAI_API_KEY', 'VALUESIM_EMBED_MODEL',
              'VALUESIM_CACHE_MODE', 'VALUESIM_RECORDINGS', 'VALUESIM_GGUF', 'VALUESIM_ENDPOINT_KIND'):
        monkeypatch.delenv(v, raising=False)
