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
from notifier.ips.errors import IpsResponseError

__all__ = ["CHUNK", "AnswerStream"]

T = TypeVar("T")
CHUNK = 64 * 1024
_HEAD = 512
# Depths of the elements the walk cares about (the root is 1).
_BODY, _RETURN, _ARRAY, _ITEM = 2, 3, 4, 5


class AnswerStream(Generic[T]):
    """`feed(chunk)` as bytes arrive, then `close()` for every item read by `read_item`.

    `read_item(position, element)` turns one finished child of the array into a value, or
    None for an element that is not an item; it may raise IpsResponseError to reject the
    answer.
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
        self._array = array
        self._read_item = read_item
        self._max_bytes = max_bytes
        self._max_item_bytes = max_item_bytes
        self._parser = pull_parser()
        self._fed = 0
        self._head = b""
        self._blank = True
        self._depth = 0
        self._root: etree._Element | None = None
        self._return_seen = self._body_seen = self._body_child_seen = self._array_seen = False
        self._in_array = False
        # The element kept whole until its end (an item, a Fault): where it began, its depth.
        self._kept_since: int | None = None
        self._kept_depth = 0
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
        self._guard(self._parser.close)
        self._events()
        if not self._body_seen:
            raise IpsResponseError("IPS response has no SOAP Body; try again later")
        if not self._body_child_seen:
            raise IpsResponseError("IPS response has an empty SOAP Body; try again later")
        if not self._array_seen:
            raise IpsResponseError(
                f"IPS {self._operation}Return has no {self._array}; "
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
        if self._kept_since is not None and self._fed - self._kept_since > self._max_item_bytes:
            raise IpsResponseError(
                f"IPS {self._operation} answer holds one element over the "
                f"{self._max_item_bytes}-byte limit of a single item; refused as unusable"
            )

    def _guard(self, parse: Callable[[], object]) -> None:
        try:
            parse()
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
            if event == "start":
                self._depth += 1
                self._start(element)
            else:
                self._end(element)
                self._depth -= 1

    def _start(self, element: etree._Element) -> None:
        depth = self._depth
        if depth == 1:
            self._root = element
            self._open_root(element)
        elif depth == _BODY:
            self._body_seen = self._body_seen or local_name(element.tag) == "Body"
        elif depth == _RETURN and self._in_body(element) and not self._body_child_seen:
            self._body_child_seen = True
            self._open_body_child(element)
        elif depth == _ARRAY and self._return_seen and not self._array_seen:
            if local_name(element.tag) == self._array and self._in_return(element):
                self._array_seen = self._in_array = True
        elif depth == _ITEM and self._in_array and self._kept_since is None:
            self._keep(depth)

    def _open_root(self, root: etree._Element) -> None:
        if has_doctype(root):
            raise self._unreadable(DOCTYPE_MESSAGE)
        if is_bare_fault(root.tag):
            self._keep(1)
        elif not is_envelope(root.tag):
            if looks_like_html(self._head) or local_name(root.tag).lower() == "html":
                raise IpsResponseError(HTML_MESSAGE)
            raise not_an_envelope(root)

    def _open_body_child(self, first: etree._Element) -> None:
        name = local_name(first.tag)
        if name == "Fault":
            self._keep(_RETURN)
        elif name == f"{self._operation}Return":
            self._return_seen = True
        else:
            raise IpsResponseError(
                f"IPS answered <{name}> where {self._operation}Return was expected; "
                "check the service URL and api_version"
            )

    def _keep(self, depth: int) -> None:
        self._kept_since, self._kept_depth = self._fed, depth

    def _end(self, element: etree._Element) -> None:
        depth = self._depth
        kept = self._kept_since is not None
        if kept and depth > self._kept_depth:
            return  # part of the element kept whole
        if kept and depth == 1:
            raise bare_fault(element)
        if kept and depth == _RETURN:
            raise fault_from_element(element)
        if depth == _ARRAY:
            self._in_array = False
        if kept and depth == _ITEM:
            self._position += 1
            self._kept_since = None
            value = self._read_item(self._position, element)
            if value is not None:
                self._out.append(value)
        if depth >= _BODY:
            _free(element)

    def _in_body(self, element: etree._Element) -> bool:
        parent = element.getparent()
        return parent is not None and local_name(parent.tag) == "Body" and self._body_seen

    def _in_return(self, element: etree._Element) -> bool:
        parent = element.getparent()
        return parent is not None and local_name(parent.tag) == f"{self._operation}Return"


def _free(element: etree._Element) -> None:
    """Drop a finished element's content and its finished elder siblings."""
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]
