"""``hiprom serve``: a local web page a clinic uses without a terminal.

Drop a phone video of the seated test onto a page on the clinic's computer; hiprom measures it
in a background worker, shows the report, the annotated video and the downloads, and keeps the
result in the patient's history. Modules: :mod:`.app` (pages and JSON API), :mod:`.guard`
(host/origin/token checks, security headers), :mod:`.uploads` (streamed, checked uploads),
:mod:`.jobs` (the worker pool), :mod:`.worker` (one job in a worker process), :mod:`.store`
(job folders on disk), :mod:`.pages` (templates). Needs the ``serve`` extra
(``pip install "hiprom[serve]"``); importing this package alone imports none of it.
"""
