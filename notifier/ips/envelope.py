"""Safe reading of IPS SOAP documents: the hardened parsers, the envelope, Faults.

Owns the one lxml parser configuration (no entities, no network, no DTD, no huge trees, a
size cap, any DOCTYPE refused), shared by the whole-document parser (requests, in the
simulator) and the pull parser of responses (notifier.ips.stream), and the reading of a
soapenv:Fault, or of a bare fault document without an envelope, into the typed IpsFault tree.
Never does I/O and never interprets the operation's payload (parse.py does).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from lxml import etree

from notifier.ips.errors import (
    IpsApiFault,
    IpsAuthenticationFault,
    IpsAuthorizationFault,
    IpsFault,
    IpsResponseError,
)

IPS_NS_PREFIX = "http://www.scene7.com/IpsApi/xsd"
SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
# The caps of one answer, decompressed; the reasons are in notifier.ips.stream.
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
DEFAULT_MAX_ITEM_BYTES = 4 * 1024 * 1024

_FAULT_FAMILIES: dict[str, type[IpsFault]] = {
    "authenticationFault": IpsAuthenticationFault,
    "authorizationFault": IpsAuthorizationFault,
    "ipsApiFault": IpsApiFault,
}
_SOAP_NAMESPACES = frozenset({SOAP_ENV_NS, "http://www.w3.org/2003/05/soap-envelope", ""})

_local = threading.local()
_HARDENED = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
    "recover": False,
}


def _parser() -> etree.XMLParser:
    """One hardened parser per thread (lxml parsers must not be shared between threads)."""
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(**_HARDENED)  # type: ignore[arg-type]
        _local.parser = parser
    return parser


def pull_parser(local_names: Iterable[str]) -> etree.XMLPullParser:
    """A new hardened pull parser reporting the start and end of the elements of these local
    names (in any namespace or none) and of the fault families; no other element costs a
    Python call."""
    names = {*local_names, *_FAULT_FAMILIES}
    tags = [f"{{*}}{name}" for name in sorted(names)]
    return etree.XMLPullParser(events=("start", "end"), tag=tags, **_HARDENED)  # type: ignore[arg-type]


def is_bare_fault(tag: object) -> bool:
    """Whether a document's root is a fault family element without an envelope (the upload
    servlet answers so, with HTTP 200)."""
    return local_name(tag) in _FAULT_FAMILIES and _namespace(tag).startswith(IPS_NS_PREFIX)


def is_envelope(tag: object) -> bool:
    return local_name(tag) == "Envelope" and _namespace(tag) in _SOAP_NAMESPACES


def has_doctype(element: etree._Element) -> bool:
    docinfo = element.getroottree().docinfo
    return bool(
        docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.system_url
    )


DOCTYPE_MESSAGE = (
    "IPS response carries a DOCTYPE, which a SOAP response never does; "
    "refused as possibly hostile (check for a proxy rewriting responses)"
)


def local_name(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def _namespace(tag: object) -> str:
    if isinstance(tag, str) and tag[:1] == "{":
        return tag[1:].partition("}")[0]
    return ""


def parse_document(body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse a whole response safely; reject anything that is not plain, bounded XML."""
    if not body or body.isspace():
        raise IpsResponseError(
            "IPS sent an empty response body; check the service URL and try again later"
        )
    if len(body) > max_bytes:
        raise IpsResponseError(
            f"IPS response is {len(body)} bytes, over the {max_bytes}-byte limit; "
            "ask for fewer rows (a company at a time) or raise the limit"
        )
    if looks_like_html(body):
        raise IpsResponseError(HTML_MESSAGE)
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        raise IpsResponseError(syntax_message(exc)) from None
    except (ValueError, LookupError) as exc:
        raise IpsResponseError(f"IPS response is not readable XML ({exc}); check the URL") from None
    if has_doctype(root):
        raise IpsResponseError(DOCTYPE_MESSAGE)
    return root


HTML_MESSAGE = (
    "IPS answered with an HTML page instead of SOAP; check the service URL "
    "(it should end in /scene7/services/IpsApiService) and any proxy in between"
)


def looks_like_html(body: bytes) -> bool:
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


def syntax_message(exc: etree.XMLSyntaxError) -> str:
    return (
        f"IPS response is truncated or malformed XML ({exc}); the connection may have "
        "dropped or a proxy interfered: try again later, and check the URL if it persists"
    )


def not_an_envelope(root: etree._Element) -> IpsResponseError:
    return IpsResponseError(
        f"IPS response is XML but not a SOAP envelope (root <{local_name(root.tag)}>); "
        "check the service URL"
    )


def soap_body_child(root: etree._Element) -> etree._Element:
    """The first element of the SOAP Body; raises the typed fault if it is a Fault, or if
    the document is a bare fault."""
    if is_bare_fault(root.tag):
        raise bare_fault(root)
    if not is_envelope(root.tag):
        raise not_an_envelope(root)
    body = next((c for c in root if local_name(c.tag) == "Body"), None)
    if body is None:
        raise IpsResponseError("IPS response has no SOAP Body; try again later")
    first = next((c for c in body if isinstance(c.tag, str)), None)
    if first is None:
        raise IpsResponseError("IPS response has an empty SOAP Body; try again later")
    if local_name(first.tag) == "Fault":
        raise fault_from_element(first)
    return first


def fault_from_element(fault: etree._Element) -> IpsFault:
    """Read a soapenv:Fault into the IpsFault subclass of its detail family."""
    faultstring = ""
    family = ""
    code: int | None = None
    reason = ""
    for child in fault:
        name = local_name(child.tag)
        if name == "faultstring":
            faultstring = (child.text or "").strip()
        elif name == "detail":
            detail = _fault_detail_element(child)
            if detail is not None:
                family = local_name(detail.tag)
                code, reason = _fault_detail(detail)
    cls = _FAULT_FAMILIES.get(family, IpsApiFault)
    return cls(family or "fault", code, reason, faultstring)


def bare_fault(family: etree._Element) -> IpsFault:
    """Read a fault family element that is the whole document."""
    name = local_name(family.tag)
    code, reason = _fault_detail(family)
    return _FAULT_FAMILIES[name](name, code, reason)


def _fault_detail_element(detail: etree._Element) -> etree._Element | None:
    """The family element of a fault's detail; servers may add others (e.g. hostname)."""
    elements = [d for d in detail if isinstance(d.tag, str)]
    known = [d for d in elements if local_name(d.tag) in _FAULT_FAMILIES]
    chosen = known or elements
    return chosen[0] if chosen else None


def _fault_detail(detail: etree._Element) -> tuple[int | None, str]:
    code: int | None = None
    reason = ""
    for child in detail:
        name = local_name(child.tag)
        if name == "code":
            try:
                code = int((child.text or "").strip())
            except ValueError:
                code = None
        elif name == "reason":
            reason = (child.text or "").strip()
    return code, reason
