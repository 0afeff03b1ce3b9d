"""The Jinja2 environments of the emails: one per catalog and part (text, HTML), sharing the
compiled code of the templates.

Owns the templates' loading, compilation and filters. Never renders an email itself
(render.py, digest.py do).
"""

from __future__ import annotations

from functools import cache

from jinja2 import BytecodeCache, Environment, PackageLoader, StrictUndefined
from jinja2.bccache import Bucket

from notifier.mail.i18n import negotiate_locale, translations
from notifier.mail.plain_text import bullets, paragraph


def warm_up(default_locale: str = "en") -> None:
    """Compile every template now, rather than with the first email of each kind (about
    25 ms each, felt as latency when several changes arrive in one poll). The compiled code
    serves every catalog; only the default one is loaded here."""
    catalog = negotiate_locale(None, default_locale)
    for html in (False, True):
        env = environment(catalog, html=html)
        for name in env.list_templates():
            env.get_template(name)


class _CompiledTemplates(BytecodeCache):
    """The compiled code of the templates, shared by the environments of every catalog.

    The catalogs differ only in the gettext installed, not in the compiled templates, so a
    template is compiled once, not once per catalog. Text and HTML (autoescape) each have one.
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED = {False: _CompiledTemplates(), True: _CompiledTemplates()}


@cache
def environment(catalog: str, *, html: bool) -> Environment:
    # The plain-text part is not HTML: escaping it would show "&lt;" to people.
    env = Environment(
        loader=PackageLoader("notifier", "templates"),
        autoescape=html,  # noqa: S701
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # the templates ship with the package: no stat() per email
        bytecode_cache=_COMPILED[html],
    )
    env.policies["ext.i18n.trimmed"] = True
    env.filters["paragraph"] = paragraph
    env.filters["bullets"] = bullets
    env.install_gettext_translations(translations(catalog), newstyle=True)  # type: ignore[attr-defined]
    return env
