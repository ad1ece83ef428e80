"""The console commands, each a thin shell over the library: parse the command line, call
one function, print its errors as one line (``<command>: error: ...``, exit code 2).

``seqexp`` (:mod:`seqexp.cli.run`), ``seqexp-report``, ``seqexp-book``, ``seqexp-ui``,
``seqexp-generate``, ``seqexp-flush`` and ``seqexp-cache`` (see ``[project.scripts]``).
"""
