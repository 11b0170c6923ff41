"""The ``klein`` command (also ``python -m klein_widget``): generate, edit, enhance, emulator.

Example:
    $ klein generate "a red fox" --width 768 --height 512 --seed 42 -o fox.png
    $ klein generate "a harbour at dawn" --model 9b --seed 7
    $ klein edit fox.png "make it night" -o night.png
    $ klein generate "a lighthouse" --aspect 16:9 --seed 7
    $ klein enhance "a fox"
    $ klein emulator --port 8765

`_parser` declares the arguments, `_codes` the exit codes every ``--help`` lists,
`_commands` what generate, edit and enhance do, `_main` the errors.
"""

from klein_widget.cli._codes import EXIT_CODES, exit_code
from klein_widget.cli._main import main
from klein_widget.cli._parser import build_parser, requested_size

__all__ = ["EXIT_CODES", "build_parser", "exit_code", "main", "requested_size"]
