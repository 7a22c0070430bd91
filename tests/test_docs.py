"""The documentation site (`make docs`): built from the notebooks as they are, then opened in a real headless Chromium
(Debian's chromium and chromium-driver) and checked for what a reader sees: the title, a rendered table, figures that
load, the search box and search results, an API entry with its signature and docments."""
import functools, http.server, importlib.util, json, os, shutil, sys, threading
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location('docs_tool', ROOT/'tools'/'docs.py'); docs = importlib.util.module_from_spec(spec); spec.loader.exec_module(docs)

def _browser():
    chromium, driver = shutil.which('chromium'), shutil.which('chromedriver')
    if not (chromium and driver):
        if os.environ.get('CI'): pytest.fail('CI needs Debian chromium and chromium-driver for the docs browser test (make install runs tools/install-browser as root)')
        pytest.skip('no chromium/chromedriver here: as root, apt-get install chromium chromium-driver (make install does)')
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions(); o.binary_location = chromium
    for a in ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
              '--disable-component-update', '--disable-sync', '--window-size=1400,1800'): o.add_argument(a)
    return webdriver.Chrome(service=Service(driver), options=o)

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp('docs')
    index = docs.build(out)
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(index.parent)))
    t = threading.Thread(target=httpd.serve_forever, daemon=True); t.start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}', index.parent, out
    httpd.shutdown(); httpd.server_close()

@pytest.fixture(scope='module')
def browser():
    b = _browser(); b.set_page_load_timeout(60)
    yield b
    b.quit()

def _shot(browser, out, name):
    d = Path(os.environ.get('VALUESIM_DOCS_SHOTS') or out/'screenshots'); d.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(d/f'{name}.png'))

def test_every_notebook_is_a_page_in_order(site):
    url, html, out = site
    pages = {p.relative_to(html).as_posix() for p in html.rglob('*.html')}
    for nb in (ROOT/'nbs').glob('*.ipynb'): assert f'nbs/{nb.stem}.html' in pages
    for nb in (ROOT/'nbs'/'paper').glob('*.ipynb'): assert f'paper/{nb.stem}.html' in pages
    assert {'index.html', 'artefacts.html', 'search.html'} <= pages

def test_home_page_as_a_reader_sees_it(site, browser):
    from selenium.webdriver.common.by import By
    url, html, out = site
    browser.get(url + '/index.html')
    assert 'valuesim' in browser.title
    assert browser.find_element(By.CSS_SELECTOR, 'h1').text.startswith('valuesim')
    box = browser.find_element(By.CSS_SELECTOR, 'input[name="q"]')
    assert box.is_displayed()
    nav = [a.text for a in browser.find_elements(By.CSS_SELECTOR, '.sidebar-tree a')]
    assert 'The LLM client' in nav and 'Main results' in nav and 'Tables and figures' in nav
    # the numbered order: the loader before the LLM client before the evaluator
    assert nav.index('Loading a WVS-7 file') < nav.index('The LLM client') < nav.index('The evaluator')
    _shot(browser, out, 'home')

def test_api_page_renders_signatures_docments_and_tables(site, browser):
    from selenium.webdriver.common.by import By
    url, html, out = site
    browser.get(url + '/nbs/08_llm.html')
    assert browser.find_element(By.CSS_SELECTOR, 'h1').text.startswith('The LLM client')
    body = browser.find_element(By.CSS_SELECTOR, 'article').text
    assert 'def pick_top(' in body and 'option -> probability' in body        # the signature with its docments, as show_doc renders it
    assert 'The most probable option and how a tie at the top was broken' in body   # the docstring
    tables = browser.find_elements(By.CSS_SELECTOR, 'article table')
    assert tables and 'VALUESIM_BASE_URL' in tables[0].text                 # the configuration table, rendered
    assert browser.find_elements(By.XPATH, "//summary[text()='Source']")      # the exported source, folded
    _shot(browser, out, 'api_08_llm')

def test_paper_pages_show_their_tables_and_figures(site, browser):
    from selenium.webdriver.common.by import By
    url, html, out = site
    browser.get(url + '/artefacts.html')
    imgs = browser.find_elements(By.CSS_SELECTOR, 'article img')
    assert len(imgs) == len(list((ROOT/'figures').glob('*.png')))
    assert browser.execute_script('return [...document.images].filter(i => i.closest("article")).every(i => i.complete && i.naturalWidth > 100)')
    assert any('accuracy' in t.text for t in browser.find_elements(By.CSS_SELECTOR, 'article table'))
    link = browser.find_element(By.LINK_TEXT, 'table_main_results')
    browser.get(link.get_attribute('href'))   # the link a reader follows (a click may land on the sticky header)
    assert browser.find_element(By.CSS_SELECTOR, 'h1').text.startswith('Main results')
    assert any('qwen2.5-coder' in t.text for t in browser.find_elements(By.CSS_SELECTOR, 'article table'))   # the executed notebook's table
    _shot(browser, out, 'paper_main_results')

def test_search_finds_a_function(site, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    url, html, out = site
    browser.get(url + '/search.html?q=context_length')
    WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, 'ul.search li'))
    hits = [li.text for li in browser.find_elements(By.CSS_SELECTOR, 'ul.search li')]
    assert any('LLM client' in h for h in hits), hits
    _shot(browser, out, 'search')

def test_a_notebook_missing_from_the_toc_fails_the_build(tmp_path):
    root = tmp_path/'proj'
    for d in ('nbs', 'docs'): shutil.copytree(ROOT/d, root/d)
    (root/'nbs'/'17_new.ipynb').write_text((ROOT/'nbs'/'00_paths.ipynb').read_text())
    with pytest.raises(docs.DocsError, match='missing from docs/toc.yml: 17_new'): docs.load_toc(root)
    (root/'nbs'/'17_new.ipynb').unlink()
    toc = (root/'docs'/'toc.yml').read_text()
    (root/'docs'/'toc.yml').write_text(toc.replace('pages: [00_paths, 01_questions', 'pages: [01_questions, 00_paths'))
    with pytest.raises(docs.DocsError, match='numbered order'): docs.load_toc(root)

def test_a_broken_link_fails_the_build(tmp_path, monkeypatch):
    "A link to a page that does not exist is a Sphinx warning, and warnings fail `make docs`."
    real = docs.artefacts_page
    monkeypatch.setattr(docs, 'artefacts_page', lambda *a, **k: real(*a, **k) + '\n\nSee [the missing page](paper/no_such_notebook.ipynb).\n')
    with pytest.raises(docs.DocsError, match='no_such_notebook'): docs.build(tmp_path/'site')
