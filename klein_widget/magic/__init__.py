"""``%klein`` and ``%%klein``: parse a line (`_args`, with `_line` and the options'
one declaration in `klein_widget.ui._magic_options`), run it on the session's
client (`_run`), show what came back (`_display`).
"""
