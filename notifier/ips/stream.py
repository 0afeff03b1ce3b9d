"""Incremental reading of one IPS answer: bytes in as they arrive, finished `items` out.

Owns the walk of `Envelope/Body/<op>Return/<array>/items` over the hardened pull parser
(notifier.ips.envelope), the two size caps, and the freeing of every element once read, so
that the memory a parse needs is one chunk and one job element, whatever the number of jobs.
Never does I/O, never keeps a finished item's elements, never interprets an item (parse.py
does); any error rejects the whole answer.

The caps, both on decompressed bytes (a gzip bomb is stopped at the cap, never held):
- `max_item_bytes` (default 4 MiB) bounds one `items` element, and the one Fault kept whole:
  that is what the parser holds as a tree at any time. A 2014-04-03 ActiveJob with its
  detail element and a task with a few item progresses is 1-3 KB; 4 MiB leaves room for
  task item arrays of thousands of entries and still bounds the tree at a few tens of MB.
- `max_bytes` (default 512 MiB) bounds the whole answer: no longer memory (that is flat) but
  the time of one poll and the list of ActiveJobs it returns. At about 2 KB a job, 512 MiB
  is some 250,000 jobs, four times the largest company seen (60,000 active jobs), whose
  answer the former whole-document cap of 64 MB refused outright.
Both are measured at the granularity of one fed chunk (64 KiB), so a cap is exceeded by at
most that much before it is noticed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from lxml import etree

from notifier.ips.envelope import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ITEM_BYTES,
    DOCTYPE_MESSAGE,
    HTML_MESSAGE,
    bare_fault,
    fault_from_element,
    has_doctype,
    is_bare_fault,
    is_envelope,
    local_name,
    looks_like_html,
    not_an_envelope,
    pull_parser,
    syntax_message,
)
from notifier.ips.errors import IpsError, IpsResponseError

__all__ = ["CHUNK", "AnswerStream"]

T = TypeVar("T")
CHUNK = 64 * 1024
_HEAD = 512


class AnswerStream(Generic[T]):
    """`feed(chunk)` as bytes arrive, then `close()` for every item read by `read_item`.

    `read_item(position, element)` turns one finished child of the array into a value, or
    None for an element that is not an item; it may raise IpsResponseError to reject the
    answer.

    The pull parser reports only the elements of the spine (Body, Fault, the Return, the
    array), `items` and the fault families, so a job's own fields cost no Python call; where
    an element stands is told by its parent, not by counting depths.
    """

    def __init__(
        self,
        operation: str,
        array: str,
        read_item: Callable[[int, etree._Element], T | None],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_item_bytes: int = DEFAULT_MAX_ITEM_BYTES,
    ) -> None:
        self._operation = operation
        self._return_name = f"{operation}Return"
        self._array_name = array
        self._read_item = read_item
        self._max_bytes = max_bytes
        self._max_item_bytes = max_item_bytes
        self._parser = pull_parser(("Body", "Fault", self._return_name, array, "items"))
        self._fed = 0
        self._head = b""
        self._blank = True
        self._root: etree._Element | None = None
        self._body: etree._Element | None = None
        self._return: etree._Element | None = None
        self._array: etree._Element | None = None
        self._array_open = False
        # The element kept whole until its end (an item, a Fault, a bare fault): where it began.
        self._kept: etree._Element | None = None
        self._kept_since = 0
        self._position = 0
        self._out: list[T] = []

    def feed(self, data: bytes) -> None:
        for start in range(0, len(data), CHUNK):
            self._feed(data[start : start + CHUNK])

    def close(self) -> list[T]:
        """Every item, once the whole answer was fed; raises if it was not a whole answer."""
        if self._blank:
            raise IpsResponseError(
                "IPS sent an empty response body; check the service URL and try again later"
            )
        root = self._guard(self._parser.close)
        self._events()
        if self._root is None and isinstance(root, etree._Element):
            self._open_root(root)
        if self._body is None:
            raise IpsResponseError("IPS response has no SOAP Body; try again later")
        first = next((c for c in self._body if isinstance(c.tag, str)), None)
        if first is None:
            raise IpsResponseError("IPS response has an empty SOAP Body; try again later")
        if self._return is None:
            raise self._unexpected(first)
        if self._array is None:
            raise IpsResponseError(
                f"IPS {self._return_name} has no {self._array_name}; "
                "refusing to read it as an empty list"
            )
        return self._out

    # -- bytes ---------------------------------------------------------------------------

    def _feed(self, chunk: bytes) -> None:
        self._fed += len(chunk)
        if self._fed > self._max_bytes:
            raise IpsResponseError(
                f"IPS {self._operation} answer is over the {self._max_bytes}-byte limit; "
                "query one company at a time or raise the limit"
            )
        if len(self._head) < _HEAD:
            self._head += chunk[: _HEAD - len(self._head)]
        if self._blank and not chunk.isspace():
            self._blank = False
        self._guard(lambda: self._parser.feed(chunk))
        self._events()
        if self._kept is not None and self._fed - self._kept_since > self._max_item_bytes:
            raise IpsResponseError(
                f"IPS {self._operation} answer holds one element over the "
                f"{self._max_item_bytes}-byte limit of a single item; refused as unusable"
            )

    def _guard(self, parse: Callable[[], object]) -> object:
        try:
            return parse()
        except etree.XMLSyntaxError as exc:
            raise self._unreadable(syntax_message(exc)) from None
        except (ValueError, LookupError) as exc:
            raise self._unreadable(
                f"IPS response is not readable XML ({exc}); check the URL"
            ) from None

    def _unreadable(self, message: str) -> IpsResponseError:
        if self._blank:
            message = "IPS sent an empty response body; check the service URL and try again later"
        elif looks_like_html(self._head):
            message = HTML_MESSAGE
        return IpsResponseError(message)

    # -- elements ------------------------------------------------------------------------

    def _events(self) -> None:
        for event, element in self._parser.read_events():
            assert isinstance(element, etree._Element)  # start and end events only
            if self._root is None:
                self._open_root(element.getroottree().getroot())
            if event == "start":
                self._start(element)
            else:
                self._end(element)

    def _open_root(self, root: etree._Element) -> None:
        self._root = root
        if has_doctype(root):
            raise self._unreadable(DOCTYPE_MESSAGE)
        if is_bare_fault(root.tag):
            self._keep(root)
        elif not is_envelope(root.tag):
            if looks_like_html(self._head) or local_name(root.tag).lower() == "html":
                raise IpsResponseError(HTML_MESSAGE)
            raise not_an_envelope(root)

    def _start(self, element: etree._Element) -> None:
        parent = element.getparent()
        if parent is None:
            return
        if self._array_open and parent is self._array:
            if self._kept is None:
                self._keep(element)
            return
        name = local_name(element.tag)
        if name == "Body" and parent is self._root and self._body is None:
            self._body = element
        elif parent is self._body and self._body is not None and self._return is None:
            self._open_body_child(element, name)
        elif name == self._array_name and parent is self._return and self._array is None:
            self._array = element
            self._array_open = True

    def _open_body_child(self, element: etree._Element, name: str) -> None:
        if element.getprevious() is not None:
            first = next(c for c in self._body or () if isinstance(c.tag, str))
            raise self._unexpected(first)
        if name == "Fault":
            self._keep(element)
        elif name == self._return_name:
            self._return = element
        else:
            raise self._unexpected(element)

    def _unexpected(self, first: etree._Element) -> IpsError:
        if local_name(first.tag) == "Fault":
            return fault_from_element(first)
        return IpsResponseError(
            f"IPS answered <{local_name(first.tag)}> where {self._return_name} was expected; "
            "check the service URL and api_version"
        )

    def _keep(self, element: etree._Element) -> None:
        self._kept, self._kept_since = element, self._fed

    def _end(self, element: etree._Element) -> None:
        if element is not self._kept:
            if element is self._array:
                self._array_open = False
            return
        self._kept = None
        if element is self._root:
            raise bare_fault(element)
        if element.getparent() is self._body:
            raise fault_from_element(element)
        self._position += 1
        value = self._read_item(self._position, element)
        if value is not None:
            self._out.append(value)
        _free(element)


def _free(element: etree._Element) -> None:
    """Drop a finished element's content and its finished elder siblings."""
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]
