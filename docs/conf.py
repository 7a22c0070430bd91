# Sphinx settings of the documentation site; `make docs` (tools/docs.py) stages the pages next to a copy of this file.
project = 'valuesim'
author = 'The valuesim team'
copyright = '2026 onwards, The valuesim team'
extensions = ['myst_nb']
html_theme = 'furo'
html_title = 'valuesim'
nb_execution_mode = 'off'          # the notebooks are shown as committed (nbs/) or as the main job executed them (tables/, figures/)
nb_merge_streams = True
myst_heading_anchors = 3
myst_enable_extensions = ['colon_fence', 'html_image']
exclude_patterns = ['_build', '**.ipynb_checkpoints']
html_show_sourcelink = False
html_copy_source = False
suppress_warnings = ['mystnb.unknown_mime_type',   # widget outputs of progress bars, kept out of the pages anyway
                    'myst.header']               # nbdev renders an API entry as an H3 wherever it stands, as its own sites do
