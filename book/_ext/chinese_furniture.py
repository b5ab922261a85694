"""The Chinese edition's page furniture in mainland Chinese, and Chinese emphasis without italics.

A Chinese page showed English, or Taiwanese usage, wherever the text came from the themes and
extensions rather than from the book's catalogues. On the Chinese edition's pages (``language``
zh_CN) only, this extension:

- puts the book's own translations of the themes' strings first, before the themes' catalogues:
  ``locale/zh_CN/LC_MESSAGES/booktheme.po`` for sphinx-book-theme's (its zh_CN catalogue has only
  lowercase variants of "Suggest edit", "Open issue", "Repository", and says 列印 for "print") and
  ``sphinx.po`` for Sphinx's and pydata-sphinx-theme's (tooltips, colour mode, "Link to this
  heading"). A string the book does not translate falls back to the theme's own translation;
- translates the sidebar's captions ("Getting started", "Chapters", "Field guide", "Back
  matter") with the front page's catalogue: sphinx-external-toc inserts the toctrees (transform
  priority 100) after
  Sphinx's Locale transform (20) has translated the page, so the captions were left in English;
- translates the strings that the themes and extensions write without a catalogue: the search
  field's placeholder, the launch and download buttons' tooltips, the sidebar toggles' tooltips
  and the navigation's label (templates ``templates/toggle-*-sidebar.html``,
  ``templates/sbt-sidebar-nav.html``), myst-nb's "Show code cell source" summaries and their
  label, and sphinx-togglebutton's hints and buttons' label;
- gives sphinx-proof's index page (``prf-prf.html``) a Chinese title, its entries grouped under
  their kind in Chinese (命题) with their pages' titles (:func:`chinese_proof_index`);
- writes "作者：" without the space the theme's template puts after it (``templates/author.html``);
- sets emphasis in Chinese upright with emphasis dots (着重号) instead of the browser's synthetic
  italics, which CJK fonts do not have: a post-transform marks each emphasis that holds Chinese
  characters (class ``cjk``), and ``static/chinese_typography.css`` styles it. Emphasis in Latin
  script (a paper's title in the references) keeps its italics; caption numbers ("图 5.1"), which
  Sphinx sets in italics, are set upright.

The footer's licence line is the Chinese edition's own ``extra_footer`` (scripts/build_zh.py).
tests/browser/test_pages.py looks for English furniture on every Chinese page;
tests/test_chinese_furniture.py checks the catalogues and the mechanisms here.
"""

from __future__ import annotations

import gettext
import json
import re
from pathlib import Path

from babel.messages.pofile import read_po
from docutils import nodes
from language_switch import is_chinese
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.locale import init as init_locale
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.i18n import docname_to_domain

HERE = Path(__file__).resolve().parent
LOCALE = HERE / "locale"
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
CSS = "chinese_typography.css"
#: The message domains the book translates first: sphinx-book-theme's, and Sphinx's own (which
#: pydata-sphinx-theme's strings join).
DOMAINS = ("booktheme", "sphinx")
CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
#: myst-nb's summaries of collapsed cells ("Show code cell {type}"), by the word for {type}.
CELL_PARTS = {"source": "代码", "output": "输出", "outputs": "输出", "content": "单元格"}


def read_catalogue(path: Path) -> dict[str, str]:
    """The translated, non-fuzzy messages of a .po file."""
    with path.open("rb") as handle:
        catalogue = read_po(handle)
    return {message.id: message.string for message in catalogue
            if message.id and isinstance(message.id, str) and message.string
            and not message.fuzzy}


class BookFirst(gettext.NullTranslations):
    """The book's translations, then (as a fallback) the catalogue they are put in front of."""

    def __init__(self, messages: dict[str, str], fallback: gettext.NullTranslations | None):
        super().__init__()
        self.messages = messages
        if fallback is not None:
            self.add_fallback(fallback)

    def gettext(self, message: str) -> str:
        if message in self.messages:
            return self.messages[message]
        return super().gettext(message)


def catalogue_file(language: str, domain: str) -> Path:
    return LOCALE / language.replace("-", "_") / "LC_MESSAGES" / f"{domain}.po"


def install_catalogues(language: str) -> dict[str, BookFirst]:
    """Put the book's catalogues in front of the themes' for `language`; returns them by domain."""
    import sphinx.locale

    installed = {}
    for domain in DOMAINS:
        path = catalogue_file(language, domain)
        if not path.is_file():
            continue
        current = sphinx.locale.translators.get(("general", domain))
        if isinstance(current, BookFirst):  # a second build in the same process
            current = current._fallback
        installed[domain] = BookFirst(read_catalogue(path), current)
        sphinx.locale.translators["general", domain] = installed[domain]
    return installed


def _booktheme(message: str) -> str:
    from sphinx.locale import get_translation

    return get_translation("booktheme")(message)


#: sphinx-togglebutton's script writes its buttons' aria-label in English; on a Chinese page an
#: inline script after it gives them the catalogue's label.
_TOGGLE_LABEL_JS = """document.addEventListener("DOMContentLoaded", () => {{
  document.querySelectorAll('button.toggle-button[aria-label="{english}"]')
    .forEach((button) => button.setAttribute("aria-label", {chinese}));
}});"""


def _configure(app: Sphinx, config) -> None:
    # Our templates come before the theme's components (sphinx-book-theme appends its folder).
    if str(TEMPLATES) in config.templates_path:
        config.templates_path.remove(str(TEMPLATES))
    config.templates_path.insert(0, str(TEMPLATES))
    if str(STATIC) not in config.html_static_path:
        config.html_static_path.append(str(STATIC))
    if not is_chinese(config.language):
        return
    strings = read_catalogue(catalogue_file(config.language, "booktheme"))
    for name in ("togglebutton_hint", "togglebutton_hint_hide"):
        if name in config and config[name] in strings:
            config[name] = strings[config[name]]
    label = "Toggle hidden content"
    if label in strings:
        app.add_js_file(None, body=_TOGGLE_LABEL_JS.format(
            english=label, chinese=json.dumps(strings[label], ensure_ascii=False)), priority=900)


def _install(app: Sphinx) -> None:
    """After the themes have registered their catalogues (they do at setup and builder init).

    Python code looks its strings up in ``sphinx.locale.translators`` at each call; the HTML
    templates' ``_()`` and ``{% trans %}`` use the translator that Sphinx handed to Jinja when the
    builder was made, which is given the book's catalogue in front of it here.
    """
    if not is_chinese(app.config.language):
        return
    installed = install_catalogues(app.config.language)
    if "sphinx" in installed:
        app.translator = installed["sphinx"]
        environment = getattr(getattr(app.builder, "templates", None), "environment", None)
        if environment is not None and hasattr(environment, "install_gettext_translations"):
            environment.install_gettext_translations(installed["sphinx"])


class TranslatedToctreeCaptions(SphinxTransform):
    """The sidebar's captions, translated with the catalogue of the page that holds the toctree."""

    default_priority = 101  # after sphinx-external-toc's InsertToctrees (100)

    def apply(self, **kwargs) -> None:
        if not is_chinese(self.config.language):
            return
        toctrees = [t for t in self.document.findall(addnodes.toctree) if t.get("caption")]
        if not toctrees:
            return
        domain = docname_to_domain(self.env.docname, self.config.gettext_compact)
        dirs = [str(Path(self.env.srcdir, d)) for d in self.config.locale_dirs]
        catalogue, found = init_locale(dirs, self.config.language, domain)
        if not found:
            return
        for toctree in toctrees:
            original = toctree.get("rawcaption") or toctree["caption"]
            toctree["rawcaption"] = original
            toctree["caption"] = catalogue.gettext(original)


class ChineseEmphasis(SphinxPostTransform):
    """Marks each emphasis that holds Chinese characters (class ``cjk``: upright, with dots)."""

    default_priority = 900
    formats = ("html",)

    def run(self, **kwargs) -> None:
        if not is_chinese(self.config.language):
            return
        for node in self.document.findall(nodes.emphasis):
            if CJK.search(node.astext()):
                node["classes"].append("cjk")


class ChineseCellSummaries(SphinxPostTransform):
    """myst-nb's summaries of collapsed cells in Chinese: "显示代码" for "Show code cell source"."""

    default_priority = 200  # after myst-nb's HideInputCells (199), which writes them
    formats = ("html",)

    def run(self, **kwargs) -> None:
        if not is_chinese(self.config.language):
            return
        from myst_nb.sphinx_ import HideCodeCellNode

        for node in self.document.findall(HideCodeCellNode):
            for key, verb in (("prompt_show", "显示"), ("prompt_hide", "隐藏")):
                match = re.fullmatch(r"(?:Show|Hide) code cell (\w+)", node.get(key, ""))
                if match and match.group(1) in CELL_PARTS:
                    node[key] = verb + CELL_PARTS[match.group(1)]


#: Strings the templates and extensions write into a page without a catalogue.
_SUMMARY_LABEL = '<summary aria-label="Toggle hidden content">'


def _page_strings(app: Sphinx, pagename, templatename, context, doctree) -> None:
    if not is_chinese(app.config.language):
        return
    if context.get("theme_search_bar_text"):
        context["theme_search_bar_text"] = _booktheme(context["theme_search_bar_text"])
    launch_on = _booktheme("Launch on")
    for group in context.get("header_buttons") or []:
        for button in [group, *(group.get("buttons") or [])]:
            text = button.get("text") or ""
            if button.get("tooltip") in (f"Launch on {text}", f"{launch_on} {text}"):
                button["tooltip"] = f"在 {text} 中打开本页的笔记本"
            elif button.get("tooltip"):  # set by an extension after the theme (reader_notebooks)
                button["tooltip"] = _booktheme(button["tooltip"])
    if "body" in context:
        context["body"] = context["body"].replace(
            _SUMMARY_LABEL, f'<summary aria-label="{_booktheme("Toggle hidden content")}">')


#: sphinx-proof's index page (``prf-prf.html``) in Chinese: its title and the blocks' kinds.
PROOF_INDEX_TITLE = "命题索引"
PROOF_KINDS = {"proposition": "命题", "theorem": "定理", "lemma": "引理", "definition": "定义",
               "corollary": "推论", "remark": "注", "example": "例", "proof": "证明",
               "conjecture": "猜想", "axiom": "公理", "criterion": "准则", "observation": "观察",
               "property": "性质", "assumption": "假设", "notation": "记号", "algorithm": "算法"}


def chinese_proof_index(index_class: type) -> type:
    """sphinx-proof's index as a Chinese page shows it: titled 命题索引, grouped under each kind
    (命题) instead of under each label, each entry with its page's (translated) title, set upright
    (static/chinese_typography.css); the labels, which are link targets, are kept, as code."""
    from sphinx.domains import IndexEntry

    class ChineseProofIndex(index_class):
        localname = PROOF_INDEX_TITLE
        shortname = "命题"

        def generate(self, docnames=None):
            content, collapse = super().generate(docnames)
            titles = self.domain.env.titles
            groups: dict[str, list] = {}
            for _, entries in content:
                for entry in entries:
                    entry = IndexEntry(*entry)
                    kind = PROOF_KINDS.get(entry.descr, entry.descr)
                    title = titles[entry.docname].astext() if entry.docname in titles else ""
                    # (the template writes ``extra`` in ASCII parentheses: the page's title goes
                    # with the kind, 命题（坐标注意力）)
                    descr = f"{kind}（{title}）" if title else kind
                    groups.setdefault(kind, []).append(entry._replace(extra="", descr=descr))
            return sorted(groups.items()), collapse

    return ChineseProofIndex


def _chinese_indices(app: Sphinx, env) -> list[str]:
    """The Chinese edition's proof index (after the pages are read: the titles are known)."""
    domain = env.domains.get("prf") if is_chinese(app.config.language) else None
    if domain is not None:
        domain.indices = [chinese_proof_index(c) if c.localname != PROOF_INDEX_TITLE else c
                          for c in type(domain).indices]
    return []


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _configure, priority=400)  # before sphinx-togglebutton reads
    app.connect("builder-inited", _install, priority=900)
    app.connect("html-page-context", _page_strings, priority=600)  # after the theme's buttons
    app.connect("env-updated", _chinese_indices)
    app.add_transform(TranslatedToctreeCaptions)
    app.add_post_transform(ChineseEmphasis)
    app.add_post_transform(ChineseCellSummaries)
    app.add_css_file(CSS, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
