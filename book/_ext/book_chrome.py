"""The site's page chrome, added at build time (a local Sphinx extension).

- Every chapter page gets an *Open in Colab* badge under its title. The
  notebooks carry their own badge cell, but its image is remote and the site
  fetches nothing from outside, so that cell is hidden here and this badge
  uses a local copy of the image (``book/_static/colab-badge.svg``). The link
  comes from :func:`cnnlib.notebooks.colab_url`, like the notebooks' own.
- ``{{ repository_url }}`` in a page's source, code blocks included, becomes
  the repository's address from ``_config.yml`` (the one place it is set).
- Citations in author-year form read "(LeCun et al., 1998; He et al., 2016)": the
  ``author_year_round`` reference style, sphinxcontrib-bibtex's author-year
  style with round brackets.
- A script added twice to a page is kept once: sphinx-thebe and
  sphinx-togglebutton add their inline settings while the HTML builder is
  already set up, so Sphinx 7.4 keeps both the builder's copy and the
  registry's, and the second ``const THEBE_JS_URL`` is an error in the browser.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from sphinx.application import Sphinx
from sphinxcontrib.bibtex.plugin import register_plugin
from sphinxcontrib.bibtex.style.referencing import BracketStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle

from cnnlib.notebooks import colab_url, repository

__all__ = ["AuthorYearRound", "setup"]

BADGE = "colab-badge.svg"
TOKEN = "{{ repository_url }}"


def _round() -> BracketStyle:
    return BracketStyle(left="(", right=")")


def _round_list() -> BracketStyle:
    # "(He et al., 2016; Simonyan and Zisserman, 2015)": a comma already
    # separates each author from their year.
    return BracketStyle(left="(", right=")", sep="; ")


@dataclasses.dataclass
class AuthorYearRound(AuthorYearReferenceStyle):
    """sphinxcontrib-bibtex's author-year citations, in round brackets."""

    bracket_parenthetical: BracketStyle = dataclasses.field(default_factory=_round_list)
    bracket_textual: BracketStyle = dataclasses.field(default_factory=_round)
    bracket_author: BracketStyle = dataclasses.field(default_factory=_round)
    bracket_label: BracketStyle = dataclasses.field(default_factory=_round)
    bracket_year: BracketStyle = dataclasses.field(default_factory=_round)


def _substitute_repository(app: Sphinx, docname: str, source: list[str]) -> None:
    if TOKEN in source[0]:
        source[0] = source[0].replace(TOKEN, app.config.book_repository[0])


def _drop_repeated_scripts(context: dict) -> None:
    seen, kept = set(), []
    for script in context.get("script_files", []):
        # The builder's copy of an inline script has filename None, the
        # registry's copy "": the same script.
        filename = getattr(script, "filename", script) or ""
        key = (str(filename), tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    if "script_files" in context:
        context["script_files"][:] = kept


def _badge_html(app: Sphinx, pagename: str, context: dict) -> str | None:
    source = Path(app.env.doc2path(pagename))
    if source.suffix != ".ipynb":
        return None
    url, branch = app.config.book_repository
    href = colab_url(source.relative_to(app.srcdir).as_posix(), url, branch)
    src = context["pathto"](f"_static/{BADGE}", 1)
    return (f'<p class="colab-badge"><a class="reference external" href="{href}">'
            f'<img src="{src}" alt="Open this chapter in Google Colab" width="117" height="20"></a></p>')


def _page_context(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    _drop_repeated_scripts(context)
    badge = _badge_html(app, pagename, context) if doctree is not None else None
    if badge and "body" in context:
        context["body"] = re.sub(r"(</h1>)", r"\1" + badge.replace("\\", r"\\"), context["body"], count=1)


def _read_repository(app: Sphinx, config) -> None:
    config.book_repository = repository(Path(app.srcdir) / "_config.yml")


def setup(app: Sphinx) -> dict:
    register_plugin("sphinxcontrib.bibtex.style.referencing", "author_year_round", AuthorYearRound)
    app.add_config_value("book_repository", ("", "main"), "env")
    app.connect("config-inited", _read_repository)
    app.connect("source-read", _substitute_repository)
    app.connect("html-page-context", _page_context)
    app.add_css_file("book.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
