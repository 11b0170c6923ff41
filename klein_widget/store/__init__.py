"""The store: every image paid for, on disk with its parameters, indexed in SQLite; and
lesson packs, read-only images that answer the requests they were made for.

- `_gallery`: the `Gallery` folder (the clients' journal) and where it lives.
- `_index`, `_entry`: the SQLite index and its rows.
- `_resume`: fetch tasks that were paid for but never downloaded.
- `_pack`, `_pack_files`: open and check a lesson pack (a zip or a folder), never extracted.
- `_attached`: the packs every gallery consults (`use_pack`, ``$KLEIN_PACKS``).
- `_make_pack`, `_notebook_images`: make a pack from a gallery or a run notebook.

Imports the client only: no UI, no session (tested).

Example:
    >>> from klein_widget.store import make_pack, open_pack
    >>> make_pack("klein-outputs", "lesson-02.zip")  # doctest: +SKIP
"""

from klein_widget.store._make_pack import make_pack
from klein_widget.store._pack import LessonPack, PackEntry, open_pack
from klein_widget.store._pack_files import PackError

__all__ = ["LessonPack", "PackEntry", "PackError", "make_pack", "open_pack"]
