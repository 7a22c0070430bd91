"""Issue 22, points 4 and 7: the paper replayed twice leaves every file byte for byte the same, the kernels raise no
TCP warning, and the terminal ends with what was written."""
import hashlib, json
from pathlib import Path
import yaml
from valuesim.run import load_params, paper_notebooks, run_paper

ONLY = ['figure_group_distributions', 'figure_section_accuracy', 'table_main_results']   # figures (one with jittered dots), a notebook that returns paths, the main table

def _digests(*dirs):
    return {f'{d.name}/{f.name}': hashlib.sha256(f.read_bytes()).hexdigest() for d in dirs for f in sorted(d.iterdir()) if not f.name.startswith('.')}   # not the git-ignored lock file

def test_a_rerun_that_computes_nothing_new_rewrites_nothing(tmp_path, monkeypatch, capfd):
    tables, figures = tmp_path/'tables', tmp_path/'figures'
    monkeypatch.setenv('VALUESIM_TABLES', str(tables)); monkeypatch.setenv('VALUESIM_FIGURES', str(figures))
    monkeypatch.setenv('VALUESIM_CACHE', str(tmp_path/'cache')); monkeypatch.setenv('VALUESIM_CACHE_MODE', 'replay')
    ps = load_params('params/smoke.yaml')
    for nb in paper_notebooks(): ps['notebooks'].setdefault(nb.stem, {})['cache_mode'] = 'replay'
    params = tmp_path/'params.yaml'; params.write_text(yaml.safe_dump(ps))
    run_paper(params, only=ONLY, plan_first=False)
    first = _digests(tables, figures)
    out, err = capfd.readouterr()
    run_paper(params, only=ONLY, plan_first=False)
    assert _digests(tables, figures) == first          # every table, figure and executed notebook, byte for byte
    out2, err2 = capfd.readouterr()
    assert len([f for f in first if f.endswith('.ipynb')]) == 3 and any(f.endswith('.png') for f in first)
    for text in (out + err, out2 + err2): assert 'without encryption' not in text and 'IPKernelApp' not in text
    assert out2.rstrip().splitlines()[-3].startswith('Wrote 3 executed notebook(s)')   # the last lines: what was written, folder by folder
    nb = json.loads((tables/'table_main_results.ipynb').read_text())
    assert {'start_time', 'end_time', 'duration'}.isdisjoint(nb['metadata']['papermill'])
    assert nb['metadata']['papermill']['parameters']['seed'] == 42 and nb['metadata']['valuesim']['version']
    assert not any('execution' in c['metadata'] for c in nb['cells'])
    for f in [*tables.glob('*.ipynb'), *figures.glob('*.ipynb')]:   # no path of this machine: a fresh clone elsewhere writes the same files
        assert str(Path.cwd()) not in f.read_text() and str(tmp_path) not in f.read_text(), f.name
    # the kernels' IPC sockets live in a folder of the run's own, not beside the notebooks in the source tree
    assert {p.suffix for p in (Path(__file__).parent.parent/'nbs'/'paper').iterdir()} == {'.ipynb'}
