#!/usr/bin/env python3
"""`make docs`: the documentation site, built from the notebooks as they are, offline, into `_docs/html` (open
`_docs/html/index.html`).

Nothing is executed at build time. The library notebooks (`nbs/`) are shown as committed: nbdev_clean keeps them without
outputs, and their examples are the tests `make test` runs. Every `#| export` cell is rendered as nbdev's `show_doc`
renders it (the signature with its docments, the docstring), its source folded below. The paper notebooks (`nbs/paper/`)
are shown as the main job last executed them: `make paper` keeps each executed copy beside its outputs in `tables/` and
`figures/`, with its tables and plots. The README is the home page; a page lists every table and figure with the
notebook that made it; Sphinx's own search covers every page.

`docs/toc.yml` is the table of contents: a notebook missing from it, a name in it with no notebook, or a broken internal
link (Sphinx warnings are errors here) fails the build. A project with Quarto runs `nbdev_docs` instead."""
import argparse, ast, importlib, json, re, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIRECTIVE = re.compile(r'^\s*#\|\s*([\w-]+)(.*)$')

class DocsError(RuntimeError): "The site cannot be built as it is (a page missing from the table of contents, a broken link)."

def directives(src:str)->dict:
    "The nbdev directives at the top of a cell (`#| export`, `#| hide`, `#| default_exp llm`) as name -> argument text."
    out = {}
    for line in src.splitlines():
        m = DIRECTIVE.match(line)
        if not m: break
        out[m.group(1)] = m.group(2).strip()
    return out

def without_directives(src:str)->str:
    "A cell's source without its directive lines."
    lines = src.splitlines()
    while lines and DIRECTIVE.match(lines[0]): lines.pop(0)
    return '\n'.join(lines).strip('\n')

def load_toc(root:Path=ROOT)->dict:
    "`docs/toc.yml`, checked against the notebooks: every one listed once, in the numbered order, and nothing else."
    import yaml
    toc = yaml.safe_load((root/'docs'/'toc.yml').read_text(encoding='utf-8'))
    have = {False: sorted(p.stem for p in (root/'nbs').glob('*.ipynb')), True: sorted(p.stem for p in (root/'nbs'/'paper').glob('*.ipynb'))}
    problems = []
    for paper, where in ((False, 'nbs/'), (True, 'nbs/paper/')):
        listed = [p for s in toc['sections'] if bool(s.get('paper')) == paper for p in s['pages']]
        if missing := [n for n in have[paper] if n not in listed]: problems.append(f'{where} has notebook(s) missing from docs/toc.yml: {", ".join(missing)}')
        if extra := [n for n in listed if n not in have[paper]]: problems.append(f'docs/toc.yml lists {", ".join(extra)}, not a notebook of {where}')
        if twice := sorted({n for n in listed if listed.count(n) > 1}): problems.append(f'docs/toc.yml lists {", ".join(twice)} more than once')
        numbered = [n for n in listed if n[:2].isdigit()]
        if not paper and numbered != sorted(numbered): problems.append(f'docs/toc.yml: the notebooks of nbs/ are not in their numbered order: {numbered}')
    if problems: raise DocsError('the table of contents does not match the notebooks:\n- ' + '\n- '.join(problems))
    return toc

# ----------------------------------------------------------------------------------------------------------- show_doc
def exported_names(src:str)->list[str]:
    "The public functions and classes an export cell defines, and the methods it patches onto a class (`Class.method`)."
    names = []
    for node in ast.parse(src).body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): continue
        patched = any((isinstance(d, ast.Name) and d.id == 'patch') or (isinstance(d, ast.Call) and getattr(d.func, 'id', '') == 'patch')
                      for d in node.decorator_list)
        if patched and node.args.args and isinstance(node.args.args[0].annotation, ast.Name):
            if not node.name.startswith('_'): names.append(f'{node.args.args[0].annotation.id}.{node.name}')
        elif not node.name.startswith('_'): names.append(node.name)
    return names

def show_doc_markdown(module, name:str)->str:
    "What nbdev's show_doc shows for `module.name`: its signature with docments and its docstring, as Markdown."
    from nbdev.showdoc import BasicMarkdownRenderer
    obj = module
    for part in name.split('.'): obj = getattr(obj, part)
    if isinstance(obj, property): obj = obj.fget
    try: md = BasicMarkdownRenderer(obj, name=name)._repr_markdown_()
    except Exception:   # an annotation that names what the module imports only inside a function ('pd.DataFrame'): the plain signature
        import inspect
        try: sig = str(inspect.signature(obj))
        except (TypeError, ValueError): sig = '(...)'
        kind = 'class' if inspect.isclass(obj) else 'def'
        md = f'### {name}\n\n```python\n{kind} {name.split(".")[-1]}{sig}\n```\n\n' + (f'*{inspect.getdoc(obj)}*' if inspect.getdoc(obj) else '')
    md = '\n'.join(l for l in md.splitlines() if not l.startswith('[source]('))   # a Quarto-styled link to a line number nbdev does not know here
    return md.strip().removeprefix('---').strip()

def library_page(nb_path:Path)->dict:
    "A library notebook as its page: directives gone, hidden cells gone, each export cell as its rendered API with the source folded."
    nb = json.loads(nb_path.read_text(encoding='utf-8'))
    module, cells = None, []
    for c in nb['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] != 'code': cells.append(c); continue
        d = directives(src)
        if 'default_exp' in d: module = importlib.import_module(f"valuesim.{d['default_exp'].split()[0]}"); continue
        if 'hide' in d: continue
        code = without_directives(src)
        if {'export', 'exporti', 'exports'} & set(d) and module is not None:
            public = set(getattr(module, '__all__', []))
            docs = [show_doc_markdown(module, n) for n in exported_names(code) if n in public or '.' in n]
            if 'exports' in d or not docs:   # shown as code: nbdev shows `exports` cells, and cells that define nothing public
                cells.append({**c, 'source': code, 'outputs': [], 'execution_count': None}); cells.extend(_md(x) for x in docs); continue
            cells.extend(_md(x) for x in docs)
            cells.append(_md(f'<details><summary>Source</summary>\n\n```python\n{code}\n```\n\n</details>'))
            continue
        if code.strip(): cells.append({**c, 'source': code, 'outputs': [], 'execution_count': None})
    nb['cells'] = [{**c, 'id': c.get('id') or f'c{i}'} for i, c in enumerate(cells)]
    for i, c in enumerate(nb['cells']): c['id'] = f'{c["id"]}-{i}'   # unique after one cell became several
    return nb

def _md(text:str)->dict: return {'cell_type': 'markdown', 'metadata': {}, 'source': text}

# ----------------------------------------------------------------------------------------------------------- pages
def executed_paper_notebook(name:str, root:Path=ROOT)->Path:
    "The executed copy `make paper` keeps beside a paper notebook's outputs, or the notebook itself when there is none yet."
    for p in (root/('figures' if name.startswith('figure_') else 'tables')/f'{name}.ipynb', root/'nbs'/'paper'/f'{name}.ipynb'):
        if p.exists(): return p
    raise DocsError(f'no paper notebook {name}')

def artefacts_page(paper:list, src:Path, root:Path=ROOT)->str:
    "The page that lists every table and figure of the paper run, each with the notebook that made it."
    def maker(stem):
        owners = [n for n in paper if stem == n or stem.startswith(n + '_')]
        if not owners: raise DocsError(f'no paper notebook made {stem} (tables/ and figures/ hold only what the paper notebooks write)')
        return max(owners, key=len)
    out = ['# Tables and figures', '',
           'Every artefact of the paper run as `make paper` last wrote it into `tables/` and `figures/`, with the notebook that '
           'made it (its executed copy, with the parameters it ran with). The committed run uses the smoke settings: the '
           "synthetic sample (not WVS data) and the embedded models, so these are not the paper's numbers; they show the pipeline working.", '']
    (src/'artefacts').mkdir(exist_ok=True)
    out += ['## Figures', '']
    for f in sorted((root/'figures').glob('*.png')):
        shutil.copy(f, src/'artefacts'/f.name)
        out += [f'### {f.stem}', '', f'Made by [{maker(f.stem)}](paper/{maker(f.stem)}.ipynb); files: '
                + ', '.join(f'`{x.relative_to(root)}`' for x in [*sorted((root/'figures').glob(f'{f.stem}.*')), *sorted((root/'tables').glob(f'{f.stem}.*'))]
                            if x.suffix != '.ipynb'), '',
                f'![{f.stem}](artefacts/{f.name})', '']
    out += ['## Tables', '']
    for t in sorted((root/'tables').glob('*.md')):
        if t.stem.startswith('figure_'): continue   # a figure's numbers: listed with the figure
        out += [f'### {t.stem}', '', f'Made by [{maker(t.stem)}](paper/{maker(t.stem)}.ipynb); files: '
                + ', '.join(f'`tables/{t.stem}{s}`' for s in ('.csv', '.md', '.tex')), '', t.read_text(encoding='utf-8').strip(), '']
    return '\n'.join(out)

def home_page(toc:dict, root:Path=ROOT)->str:
    "The README, with the site's table of contents (the sidebar) after it."
    text = (root/toc.get('home', 'README.md')).read_text(encoding='utf-8').rstrip() + '\n'
    text += ('\n## This site\n\nThe notebooks of `nbs/`, each with its API (signatures and docments as nbdev renders them) and '
             'examples, then the paper notebooks as `make paper` last executed them, and [every table and figure](artefacts.md).\n')
    for s in toc['sections']:
        pages = [f"paper/{p}" if s.get('paper') else f"nbs/{p}" for p in s['pages']] + (['artefacts'] if s.get('artefacts') else [])
        text += '\n```{toctree}\n:maxdepth: 1\n:caption: ' + s['caption'] + '\n\n' + '\n'.join(pages) + '\n```\n'
    return text

def stage(src:Path, root:Path=ROOT)->dict:
    "Write every page into `src` (replaced): what Sphinx builds. Returns the table of contents."
    toc = load_toc(root)
    if src.exists(): shutil.rmtree(src)
    (src/'nbs').mkdir(parents=True); (src/'paper').mkdir()
    shutil.copy(root/'docs'/'conf.py', src/'conf.py')
    (src/'index.md').write_text(home_page(toc, root), encoding='utf-8')
    for p in sorted((root/'nbs').glob('*.ipynb')):
        (src/'nbs'/p.name).write_text(json.dumps(library_page(p), indent=1, ensure_ascii=False), encoding='utf-8')
    paper = [p for s in toc['sections'] if s.get('paper') for p in s['pages']]
    for name in paper: shutil.copy(executed_paper_notebook(name, root), src/'paper'/f'{name}.ipynb')
    (src/'artefacts.md').write_text(artefacts_page(paper, src, root), encoding='utf-8')
    return toc

def build(out:Path=ROOT/'_docs', root:Path=ROOT, quiet:bool=True)->Path:
    "Stage the pages and build the site with Sphinx (warnings are errors); the path of its home page."
    t0 = time.time()
    src, html = Path(out)/'src', Path(out)/'html'
    stage(src, root)
    if html.exists(): shutil.rmtree(html)
    cmd = [sys.executable, '-m', 'sphinx', '-W', '--keep-going', '-b', 'html', '-d', str(Path(out)/'doctrees'), *(['-q'] if quiet else []), str(src), str(html)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode: raise DocsError(f'sphinx-build found problems (a broken link, a page outside the table of contents, a malformed page):\n{r.stderr.strip()[-4000:]}')
    print(f'docs: {len(list(html.rglob("*.html")))} pages in {html} in {time.time() - t0:.0f} s; open {html/"index.html"}', flush=True)
    return html/'index.html'

def main(argv=None):
    p = argparse.ArgumentParser(prog='tools/docs.py', description=__doc__.split('\n\n')[0])
    p.add_argument('--out', default=str(ROOT/'_docs'), help='where the staged pages (src/) and the site (html/) go (default _docs/)')
    p.add_argument('--verbose', action='store_true', help="show Sphinx's own progress")
    a = p.parse_args(argv)
    try: build(Path(a.out), quiet=not a.verbose)
    except DocsError as e: sys.exit(f'make docs: {e}')

if __name__ == '__main__': main()
