"""The pytest plugin: YAML scenario files become pytest items, one per scenario per driver.

* ``options``: every option, once (command line, ini, ``--help``, the README's table);
* ``settings``: the options read and checked once, kept in ``config.stash``;
* ``hooks``: the hooks (the ``pytest11`` entry point);
* ``items``: the file and its items (scenario runs, parity, sessions, invalid files);
* ``targets``: which app each scenario runs against, launched or waited for once;
* ``tally``: what pytest reported of each item, for the HTML report;
* ``sharding``, ``xdist``: keeping a scenario whole across shards and workers;
* ``fixtures``: the browser fixtures over pytest-playwright's.

The options are documented in ``options.OPTIONS`` and in ``pytest --help`` under "chat-harness".
"""
