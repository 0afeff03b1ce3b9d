"""Everything that can go wrong reading IPS, as one exception tree.

The tree tells the caller what to do: `IpsRetryableError` may succeed on a later poll,
`IpsPermanentError` will not until someone fixes credentials or permissions.
"""

from __future__ import annotations


class IpsError(Exception):
    """Base of every error raised by notifier.ips."""


class IpsRetryableError(IpsError):
    """Retrying later can help: transport trouble, timeouts, server-side exceptions."""


class IpsPermanentError(IpsError):
    """Retrying will not help until the configuration or the account changes."""


class IpsTransportError(IpsRetryableError):
    """The connection failed, or the server answered with a non-SOAP HTTP error."""


class IpsTimeoutError(IpsRetryableError):
    """IPS did not answer within the configured timeout."""


class IpsResponseError(IpsRetryableError):
    """The body is not a usable SOAP response: empty, HTML, truncated, hostile or too large."""


class IpsFault(IpsError):
    """A SOAP Fault. `family` is the detail element's name, e.g. `authenticationFault`."""

    def __init__(self, family: str, code: int | None, reason: str, faultstring: str = "") -> None:
        self.family = family
        self.code = code
        self.reason = reason
        self.faultstring = faultstring
        super().__init__(f"IPS {family} {code}: {reason or faultstring}")


class IpsAuthenticationFault(IpsFault, IpsPermanentError):
    """authenticationFault (10000-10002): the user or password is wrong or missing."""


class IpsAuthorizationFault(IpsFault, IpsPermanentError):
    """authorizationFault (20000-20009): the user may not do this for this company."""


class IpsApiFault(IpsFault, IpsRetryableError):
    """ipsApiFault (30000-30003) or a fault without a recognised detail."""
