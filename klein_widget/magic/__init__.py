"""``%klein`` and ``%%klein``: parse a line (`_args`, `_options`, `_words`, `_expand`),
run it on the session's client (`_run`), show what came back (`_display`).
"""
