"""`make paper` finds what would stop the run before any notebook starts: a missing WVS file, an endpoint that is
down or refuses the key (stand-ins on 127.0.0.1)."""
import socket, subprocess, sys
import pytest, yaml
from stub_openai import KindStandIn
from valuesim.run import preflight, paper_notebooks

def params(**common): return {'common': {'data': 'synthetic', **common}, 'notebooks': {}, 'description': ''}

def test_missing_wvs_file_is_found_first(tmp_path):
    ps = preflight(params(data=str(tmp_path / 'WVS_Cross-National_Wave_7_csv_v6_0.csv')), paper_notebooks()[:1])
    assert len(ps) == 1 and 'WVS_Cross-National_Wave_7_csv_v6_0.csv not found' in ps[0]

def test_refused_key_is_found_first(monkeypatch):
    monkeypatch.setenv('VALUESIM_MODEL', 'm')
    with KindStandIn('vllm') as s:                 # a working endpoint: nothing to say
        assert preflight(params(base_url=s.url), paper_notebooks()[:1]) == []
    with KindStandIn('openai', status=401) as s:   # OpenAI refuses a bad key at /models already
        s.httpd.RequestHandlerClass.do_GET = lambda h: h._send(401, {'error': {'message': 'Incorrect API key provided', 'code': 'invalid_api_key'}})
        ps = preflight(params(base_url=s.url), paper_notebooks()[:1])
    assert ps and all('refused the key' in p for p in ps)

def test_unreachable_endpoint_is_found_first(monkeypatch):
    monkeypatch.setenv('VALUESIM_MODEL', 'm')
    so = socket.socket(); so.bind(('127.0.0.1', 0)); port = so.getsockname()[1]; so.close()
    ps = preflight(params(base_url=f'http://127.0.0.1:{port}/v1'), paper_notebooks()[:1])
    assert ps and 'cannot reach' in ps[0]

def test_replay_needs_no_endpoint():
    assert preflight(params(base_url='http://127.0.0.1:9/v1', cache_mode='replay'), paper_notebooks()) == []

def test_main_job_stops_before_any_notebook(tmp_path):
    p = tmp_path / 'p.yaml'; p.write_text(yaml.safe_dump(params(data=str(tmp_path / 'missing.csv'))))
    r = subprocess.run([sys.executable, '-m', 'valuesim.run', '--params', str(p)], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and 'nothing was started' in r.stderr and 'missing.csv not found' in r.stderr
    assert 'paper notebooks' not in r.stderr   # not one notebook began
