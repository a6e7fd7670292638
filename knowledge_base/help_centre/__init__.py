"""The public help centre under ``/help``: published public articles, by language."""

from flask import Blueprint

bp = Blueprint("help", __name__, url_prefix="/help", template_folder="templates")

# Importing the module registers its routes on ``bp``.
from knowledge_base.help_centre import views  # noqa: E402,F401
