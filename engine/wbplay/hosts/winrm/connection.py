"""A pywinrm ``Protocol`` for one target: endpoint, authentication and TLS options.

A ``Protocol`` is one ``requests`` session, so building a new one means a new
TCP connection and a new authentication on the first request.
"""

from __future__ import annotations

import os

from winrm.exceptions import InvalidCredentialsError, WinRMError
from winrm.protocol import Protocol

from wbplay.errors import AuthenticationError, ConnectError, HostError
from wbplay.hosts.credentials import Credentials
from wbplay.hosts.target import Target


def username_for(target: Target, credentials: Credentials | None) -> str | None:
    """The user wbplay authenticates as: the credentials', else the inventory's."""
    if credentials is not None:
        return credentials.username
    return target.username


def new_protocol(target: Target, credentials: Credentials | None) -> Protocol:
    """A pywinrm ``Protocol`` for ``target``; nothing goes on the wire yet."""
    t = target
    failure: HostError
    # proxy=None makes pywinrm pass no_proxy="*" with every request, and requests applies it by
    # setting os.environ["no_proxy"] and restoring it afterwards; when no_proxy was unset, two
    # threads (a fleet) race to delete it and one dies with KeyError('no_proxy').  With a value
    # already set the restore never deletes.  "*" means what proxy=None means: never a proxy.
    os.environ.setdefault("no_proxy", "*")
    try:
        return Protocol(
            endpoint=t.url,
            transport=t.transport,  # type: ignore[arg-type]
            username=username_for(t, credentials),
            # The one place a password leaves its Secret wrapper.
            password=credentials.password.reveal() if credentials else None,
            server_cert_validation=t.cert_validation,  # type: ignore[arg-type]
            # None, not pywinrm's "legacy_requests": no CA bundle or proxy picked up
            # silently from REQUESTS_CA_BUNDLE / HTTPS_PROXY; the inventory says.
            ca_trust_path=t.ca_bundle,  # type: ignore[arg-type]
            proxy=None,
            cert_pem=t.cert_pem,
            cert_key_pem=t.cert_key_pem,
            read_timeout_sec=t.read_timeout,
            operation_timeout_sec=t.operation_timeout,
        )
    except InvalidCredentialsError as e:  # pywinrm's own argument checks (missing cert file...)
        failure = AuthenticationError(f"cannot authenticate to {t.name}: {e}")
    except (WinRMError, ValueError) as e:
        failure = ConnectError(f"cannot set up WinRM for {t.name}: {e}")
    raise failure  # outside the except block: no pywinrm exception kept as context
