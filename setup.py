"""Installs valuesim from `settings.ini` (nbdev 2 layout) with current setuptools: no pkg_resources."""
from configparser import ConfigParser
import setuptools, shlex

cfg = ConfigParser(delimiters=['='])
cfg.read('settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']

requirements = shlex.split(cfg.get('requirements', ''))
dev_requirements = shlex.split(cfg.get('dev_requirements', ''))
console_scripts = [s for s in cfg.get('console_scripts', '').split() if s]
# the versions CI tests (oldest and newest) and tools/find-python accepts: min_python .. max_python
lo, hi = (int(cfg[k].split('.')[1]) for k in ('min_python', 'max_python'))
classifiers = ['Programming Language :: Python :: 3', 'Programming Language :: Python :: 3 :: Only',
               *[f'Programming Language :: Python :: 3.{m}' for m in range(lo, hi + 1)],
               f"Intended Audience :: {cfg['audience']}", 'License :: OSI Approved :: Apache Software License']

setuptools.setup(
    name=cfg['lib_name'], version=cfg['version'], description=cfg['description'],
    long_description=open('README.md', encoding='utf-8').read(), long_description_content_type='text/markdown',
    author=cfg['author'], author_email=cfg['author_email'], license='Apache-2.0', url=cfg['git_url'],
    keywords=cfg['keywords'].split(), python_requires='>=' + cfg['min_python'], classifiers=classifiers,
    packages=setuptools.find_packages(include=['valuesim', 'valuesim.*']),
    include_package_data=True, package_data={'valuesim': ['data/*', 'prompts/*']},
    install_requires=requirements, extras_require={'dev': dev_requirements},
    entry_points={'console_scripts': console_scripts, 'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
    zip_safe=False)
