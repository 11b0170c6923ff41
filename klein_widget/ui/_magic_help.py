"""What ``%klein?`` shows (`MAGIC_HELP`): usage, examples, the options (generated from
their one declaration, `klein_widget.ui._magic_options.MAGIC_OPTIONS`) and notes.

Example:
    >>> "-W/--width N" in MAGIC_HELP and "Examples:" in MAGIC_HELP
    True
"""

from __future__ import annotations

import textwrap

from klein_widget.client._models import PRICE_PER_IMAGE
from klein_widget.ui._magic_options import MAGIC_OPTIONS

__all__ = ["MAGIC_HELP"]


def _options_help(indent: str = "  ", width: int = 84) -> str:
    """The options section of ``%klein?``: each synopsis, then its help, indented.

    Example:
        >>> print(_options_help().splitlines()[0])
          -W/--width N
    """
    lines = []
    for option in MAGIC_OPTIONS:
        text = option.help if option.help.endswith(".") else option.help + "."
        if option.default:
            text += f" Default: {option.default}."
        lines.append(f"{indent}{option.synopsis}")
        lines += textwrap.wrap(text, width, initial_indent=indent * 4, subsequent_indent=indent * 4)
    return "\n".join(lines)


_PRICE = f"${PRICE_PER_IMAGE:.3f}"
_USAGE = f"""Make or edit an image with FLUX.2 [klein] from a prompt, right here (4B: {_PRICE} an
image; the status line names each model's price).

Usage:
  %klein PROMPT [options]     one image, shown here and returned as a Generation
  %%klein [options]           the rest of the cell is the prompt
  %klein                      open the panel (also: %klein PROMPT --panel)

Examples:
  %klein a red fox in snow
  fox = %klein "a fox, at dusk" -W 768 -H 512 -s 42
  fox.save("fox.png"); fox.seed
  %klein a lighthouse in a storm --aspect 16:9 -n 4     four seeds in a grid
  %klein a {{red|blue}} fox -s 1,2,3                    a labelled grid of variants
  %klein a {{animal}} in {{place}} -o {{animal}}.png        fills in your variables
  %klein a cat --enhance                               the prompt optimizer first
  %klein a harbour at dawn -s 7 --model 9b             the 9B model
  %klein --edit last "make it night"                   edit the last image made
  %klein the cat from image 2 on the sofa in image 1 --ref sofa.png --ref cat.png
  %klein a fox --lora owner/watercolour:0.8            a LoRA style (4B)

  %%klein --size 768x512 -s 7
  a watercolour of a {{animal}},
  soft morning light
"""

_NOTES = """
Prompts are sent as typed, quotes included ("OPEN" asks FLUX.2 to write it);
a prompt that is one quoted string is sent without its outer quotes, and a
JSON prompt ({"scene": ...}) exactly as written; -- ends the options.
Quote a prompt that ends in ? (IPython reads a trailing ? as a help request).
{name}, {name.attr} and {name[0]} are filled in from your variables (in the
prompt and in option values); write {{ and }} for literal braces.
Variants: {red|blue}, {2::red|blue} (weighted), {2$$red|blue|green} (two at
once) and __animal__ (a line of wildcards/animal.txt, or $KLEIN_WILDCARDS) make
a labelled grid of every combination, its cost said first; over 64 new images
it asks first. -o grid.png saves that grid as one picture.

Edits (--edit, --ref) keep the first image's size unless a size is given,
upload local files once per session (by content), and make one image.
For a grid across models: compare(..., models=["4b", "9b"]).

Defaults: %config KleinMagics.width = 768 (also height, seed, sync, out_dir),
or c.KleinMagics.width = 768 in ipython_config.py.

Every image goes to klein_widget.session().history (and the gallery), and its
cost to klein_widget.session().spend, shared with the panel.
"""

MAGIC_HELP = f"{_USAGE}\nOptions:\n{_options_help()}\n{_NOTES}"
"""What ``%klein?`` shows (the ``klein`` method's docstring)."""
