"""`make install` picks its interpreter with tools/find-python: the one given, else the newest supported one found, else refuses."""
import os, shutil, subprocess
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT/'tools'/'find-python'

def fake_python(folder:Path, name:str, version:str|None):
    "An executable `name` that answers like Python `version` does to find-python's question; None: one that fails as a pyenv shim of an unselected version does."
    p = folder/name
    body = f'echo {version}' if version else f'echo "pyenv: {name}: command not found" >&2; exit 127'
    p.write_text(f'#!/bin/sh\n{body}\n'); p.chmod(0o755)
    return p

@pytest.fixture
def bin_dir(tmp_path):
    d = tmp_path/'bin'; d.mkdir()
    for tool in ('sh', 'bash', 'tr', 'sort', 'cat'):  # only what the script itself needs, no real Python
        os.symlink(shutil.which(tool), d/tool)
    return d

def find(bin_dir, *args):
    env = {'PATH': str(bin_dir), 'HOME': str(bin_dir.parent)}   # HOME: no ~/.pyenv of the developer's is seen
    return subprocess.run(['bash', str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=30)

def test_given_python_is_used(bin_dir):
    p = fake_python(bin_dir, 'mypython', '3.12.4')
    r = find(bin_dir, str(p))
    assert r.returncode == 0 and r.stdout.strip() == str(p)

def test_given_python_too_old_is_refused_with_the_accepted_versions(bin_dir):
    p = fake_python(bin_dir, 'python3.10', '3.10.13')
    r = find(bin_dir, str(p))
    assert r.returncode == 1 and '3.10.13' in r.stderr and '3.11, 3.12, 3.13' in r.stderr and not r.stdout

def test_given_python_missing_is_refused(bin_dir):
    r = find(bin_dir, 'no-such-python')
    assert r.returncode == 1 and 'no such command' in r.stderr

def test_newest_supported_on_path_wins_and_broken_shims_are_skipped(bin_dir):
    fake_python(bin_dir, 'python3.11', '3.11.7'); fake_python(bin_dir, 'python3.12', '3.12.1')
    fake_python(bin_dir, 'python3.13', None)                 # a shim that fails: not an interpreter
    r = find(bin_dir)
    assert r.returncode == 0 and r.stdout.strip() == str(bin_dir/'python3.12')

def test_python3_is_the_fallback_when_new_enough(bin_dir):
    fake_python(bin_dir, 'python3', '3.13.0')
    assert find(bin_dir).stdout.strip() == str(bin_dir/'python3')

def test_too_old_python3_alone_stops_with_a_message(bin_dir):
    fake_python(bin_dir, 'python3', '3.9.18')
    r = find(bin_dir)
    assert r.returncode == 1 and '3.11, 3.12, 3.13' in r.stderr and 'python3 is 3.9.18' in r.stderr

def test_all_lists_each_supported_version_once_oldest_first(bin_dir):
    fake_python(bin_dir, 'python3.13', '3.13.0'); fake_python(bin_dir, 'python3.11', '3.11.7'); fake_python(bin_dir, 'python3.12', None)
    r = find(bin_dir, '--all')
    assert r.stdout.splitlines() == [f'3.11.7 {bin_dir}/python3.11', f'3.13.0 {bin_dir}/python3.13']

def test_make_install_refuses_before_creating_a_virtual_environment(bin_dir, tmp_path):
    old = fake_python(bin_dir, 'python3.10', '3.10.13')
    venv = tmp_path/'venv'
    r = subprocess.run(['make', '-C', str(ROOT), 'install', f'PYTHON={old}', f'VENV={venv}'], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and '3.11, 3.12, 3.13' in r.stderr and not venv.exists()
