"""The knowledge managers' UI under ``/kb``: articles, their history, readers' feedback and
the content gaps."""

from flask import Blueprint

bp = Blueprint("kb", __name__, url_prefix="/kb", template_folder="templates")

# Importing the modules registers their routes on ``bp``.
from knowledge_base.web import gap_views, views  # noqa: E402,F401
