"""The ``comptoir`` command, with the garbage collector paused while the app starts.

Start-up makes a few hundred thousand objects that live as long as the process (modules,
classes, SQLAlchemy mappers, the app) and frees almost none of them: a collection in the
middle of it finds nothing, and every full collection after it, the one at exit included,
scans them all. So collection stays off until the app exists, and what start-up made is
then frozen out of the collector (``helpdesk.cli``): a quarter of the wall time of a short
command such as ``comptoir worker --once``.
"""

from __future__ import annotations

import gc


def main() -> None:
    gc.disable()
    from helpdesk.cli import main as comptoir

    comptoir()
