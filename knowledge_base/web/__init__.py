"""The knowledge managers' UI under ``/kb``: articles, their history, and readers' feedback."""

from flask import Blueprint

bp = Blueprint("kb", __name__, url_prefix="/kb", template_folder="templates")

# Importing the module registers its routes on ``bp``.
from knowledge_base.web import views  # noqa: E402,F401
