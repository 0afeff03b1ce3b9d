"""Safe reading of whole IPS SOAP documents: the hardened parser, the envelope, Faults.

Owns the one lxml parser configuration (no entities, no network, no DTD, no huge trees, a
size cap, any DOCTYPE refused) and the reading of soapenv:Fault into the typed IpsFault tree.
Never does I/O and never interprets the operation's payload (parse.py does).
"""

from __future__ import annotations

import threading

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
DEFAULT_MAX_BYTES = 64 * 1024 * 1024

_FAULT_FAMILIES: dict[str, type[IpsFault]] = {
    "authenticationFault": IpsAuthenticationFault,
    "authorizationFault": IpsAuthorizationFault,
    "ipsApiFault": IpsApiFault,
}
_SOAP_NAMESPACES = frozenset({SOAP_ENV_NS, "http://www.w3.org/2003/05/soap-envelope", ""})

_local = threading.local()


def _parser() -> etree.XMLParser:
    """One hardened parser per thread (lxml parsers must not be shared between threads)."""
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            recover=False,
        )
        _local.parser = parser
    return parser


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
    if _looks_like_html(body):
        raise IpsResponseError(_HTML_MESSAGE)
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        raise IpsResponseError(_syntax_message(body, exc)) from None
    except (ValueError, LookupError) as exc:
        raise IpsResponseError(f"IPS response is not readable XML ({exc}); check the URL") from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.system_url:
        raise IpsResponseError(
            "IPS response carries a DOCTYPE, which a SOAP response never does; "
            "refused as possibly hostile (check for a proxy rewriting responses)"
        )
    return root


_HTML_MESSAGE = (
    "IPS answered with an HTML page instead of SOAP; check the service URL "
    "(it should end in /scene7/services/IpsApiService) and any proxy in between"
)


def _looks_like_html(body: bytes) -> bool:
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


def _syntax_message(body: bytes, exc: etree.XMLSyntaxError) -> str:
    return (
        f"IPS response is truncated or malformed XML ({exc}); the connection may have "
        "dropped or a proxy interfered: try again later, and check the URL if it persists"
    )


def soap_body_child(root: etree._Element) -> etree._Element:
    """The first element of the SOAP Body; raises the typed fault if it is a Fault."""
    if local_name(root.tag) != "Envelope" or _namespace(root.tag) not in _SOAP_NAMESPACES:
        raise IpsResponseError(
            f"IPS response is XML but not a SOAP envelope (root <{local_name(root.tag)}>); "
            "check the service URL"
        )
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
