"""SOAP 1.1 request envelopes for the IPS API, built with lxml.

Owns the request shape: `authHeader` always in the unversioned namespace, the operation's
`<name>Param` element in the configured version's namespace, children in schema order.
Never sends anything and never logs: the envelope carries the password.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from lxml import etree

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
AUTH_NS = "http://www.scene7.com/IpsApi/xsd"

Param = tuple[str, str | int | bool | datetime | None]


def body_namespace(api_version: str) -> str:
    """The body namespace of an API version; "" means the unversioned one."""
    return f"{AUTH_NS}/{api_version}" if api_version else AUTH_NS


def _default(namespace: str) -> dict[str, str]:
    """A default-namespace map (lxml's key is None, which lxml-stubs does not allow)."""
    return cast("dict[str, str]", {None: namespace})


def _text(value: str | int | bool | datetime) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def build_envelope(
    operation: str,
    params: Sequence[Param],
    *,
    user: str,
    password: str,
    api_version: str,
    app_name: str,
    app_version: str = "",
) -> bytes:
    """`operation`'s request: authHeader plus `<operation>Param` with the non-None params."""
    env = etree.Element(f"{{{SOAP_ENV_NS}}}Envelope", nsmap={"soapenv": SOAP_ENV_NS})
    header = etree.SubElement(env, f"{{{SOAP_ENV_NS}}}Header")
    auth = etree.SubElement(header, f"{{{AUTH_NS}}}authHeader", nsmap=_default(AUTH_NS))
    credentials = [("user", user), ("password", password), ("appName", app_name)]
    if app_version:
        credentials.append(("appVersion", app_version))
    for name, value in credentials:
        etree.SubElement(auth, f"{{{AUTH_NS}}}{name}").text = value
    body = etree.SubElement(env, f"{{{SOAP_ENV_NS}}}Body")
    ns = body_namespace(api_version)
    param = etree.SubElement(body, f"{{{ns}}}{operation}Param", nsmap=_default(ns))
    for name, param_value in params:
        if param_value is not None:
            etree.SubElement(param, f"{{{ns}}}{name}").text = _text(param_value)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")
