"""The installed package: imports without side effects, command lines answer with clear errors."""
import importlib, subprocess, sys, threading
import pytest

MODULES = ['valuesim.paths', 'valuesim.questions', 'valuesim.encoder', 'valuesim.protocol', 'valuesim.run', 'valuesim.bench']

@pytest.mark.parametrize('name', MODULES)
def test_import_has_no_side_effects(name):
    "Importing a module starts no thread and spawns no server."
    before = threading.active_count()
    importlib.import_module(name)
    assert threading.active_count() == before

def test_question_bank_ships_with_the_package():
    from valuesim.questions import question_bank
    bank = question_bank()
    assert len(bank) == 290 and all(q.statements for q in bank.values() if q.closed)

def run(*args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120)

def test_main_job_names_a_missing_parameter_file():
    r = run('-m', 'valuesim.run', '--params', 'params/does-not-exist.yaml')
    assert r.returncode != 0 and 'does-not-exist.yaml' in r.stderr and 'not found' in r.stderr

def test_bench_rejects_unknown_benchmark():
    r = run('-m', 'valuesim.bench', 'nope')
    assert r.returncode == 2 and 'invalid choice' in r.stderr
