"""WS-Management faults: the error the lab answers with (HTTP 500 + SOAP fault), one factory per case.

Each factory copies the code, subcode and wording Windows uses, so clients
that match on them (pywinrm, pypsrp, masterzen/winrm) react as they would to a
real PC.  :func:`wbplay.lab.wsman.render.render_fault` turns one into XML.
"""

from __future__ import annotations

from wbplay.errors import WbplayError

# WSManFault codes (wsmerror.h) the lab emits.
CODE_OPERATION_TIMEOUT = 2150858793  # ERROR_WSMAN_OPERATION_TIMEDOUT 0x80338029
CODE_INVALID_SELECTORS = 2150858843  # shell / command not found, 0x8033805B
CODE_SCHEMA_VALIDATION = 2150858817  # ERROR_WSMAN_SCHEMA_VALIDATION_ERROR 0x80338041
CODE_ACTION_NOT_SUPPORTED = 2150858771  # ERROR_WSMAN_ACTION_NOT_SUPPORTED 0x80338013
CODE_QUOTA_MAX_SHELLS = 2150859173  # ERROR_WSMAN_QUOTA_MAX_SHELLS 0x803381A5
CODE_QUOTA_MAX_OPERATIONS = 2150859174  # ERROR_WSMAN_QUOTA_MAX_OPERATIONS 0x803381A6
CODE_INVALID_PARAMETER = 87  # ERROR_INVALID_PARAMETER, used by WinRS for bad option values
CODE_E_FAIL = 2147500037  # E_FAIL 0x80004005, the injected generic failure


class WsmanFault(WbplayError):
    """A WS-Management fault the lab answers with (HTTP 500 + SOAP fault)."""

    def __init__(
        self,
        *,
        code: str,
        subcode: str,
        reason: str,
        wsman_code: int,
        message: str | None = None,
        fault_detail: str | None = None,
        wmi_error_code: int | None = None,
    ) -> None:
        self.code = code
        self.subcode = subcode
        self.reason = reason
        self.wsman_code = wsman_code
        self.message = message if message is not None else reason
        self.fault_detail = fault_detail
        self.wmi_error_code = wmi_error_code
        super().__init__(f"{subcode} ({wsman_code}): {reason}")


def fault_operation_timeout() -> WsmanFault:
    text = (
        "The WS-Management service cannot complete the operation within the time specified in "
        "OperationTimeout."
    )
    return WsmanFault(code="s:Receiver", subcode="w:TimedOut", reason=text, wsman_code=CODE_OPERATION_TIMEOUT)


def fault_unknown_shell(shell_id: str) -> WsmanFault:
    return WsmanFault(
        code="s:Sender",
        subcode="w:InvalidSelectors",
        reason="The WS-Management service cannot process the request because the request contained "
        "invalid selectors for the resource.",
        wsman_code=CODE_INVALID_SELECTORS,
        message=f"The request for the Windows Remote Shell with ShellId {shell_id} failed because the "
        "shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the "
        "shell no longer exists on the server. Provide the correct ShellId or create a new shell and retry "
        "the operation.",
        fault_detail="http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors",
    )


def fault_unknown_command() -> WsmanFault:
    return WsmanFault(
        code="s:Sender",
        subcode="w:InvalidSelectors",
        reason="The WS-Management service cannot process the request because the request contained "
        "invalid selectors for the resource.",
        wsman_code=CODE_INVALID_SELECTORS,
        message="The Windows Remote Shell received a request to perform an operation on a command identifier "
        "that does not exist. Either the command has completed execution or the client specified an invalid "
        "command identifier.",
        fault_detail="http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors",
    )


def fault_schema(element: str) -> WsmanFault:
    return WsmanFault(
        code="s:Sender",
        subcode="w:SchemaValidationError",
        reason="The SOAP XML in the message does not match the corresponding XML schema definition. "
        "Change the XML and retry.",
        wsman_code=CODE_SCHEMA_VALIDATION,
        message=f"The Windows Remote Shell cannot process the request. The SOAP packet contains an element "
        f"{element} that is invalid. Retry the request with the correct XML element.",
    )


def fault_action_not_supported(action: str) -> WsmanFault:
    return WsmanFault(
        code="s:Sender",
        subcode="a:ActionNotSupported",
        reason="The WS-Management service does not support the action specified in the request.",
        wsman_code=CODE_ACTION_NOT_SUPPORTED,
        message=f"The WS-Management service does not support the action {action}.",
    )


def fault_invalid_option(name: str, value: str) -> WsmanFault:
    return WsmanFault(
        code="s:Sender",
        subcode="w:InvalidOptions",
        reason="The WS-Management service cannot process the request because an option is invalid.",
        wsman_code=CODE_INVALID_PARAMETER,
        message=f"The parameter is incorrect. (option {name}={value!r})",
    )


def fault_quota_shells(limit: int) -> WsmanFault:
    return WsmanFault(
        code="s:Receiver",
        subcode="w:QuotaLimit",
        reason="The WS-Management service cannot process the request. "
        f"This user is allowed a maximum number of {limit} concurrent shells, which has been exceeded. "
        "Close existing shells or raise the quota for this user.",
        wsman_code=CODE_QUOTA_MAX_SHELLS,
        wmi_error_code=CODE_QUOTA_MAX_SHELLS,
    )


def fault_quota_operations() -> WsmanFault:
    return WsmanFault(
        code="s:Receiver",
        subcode="w:QuotaLimit",
        reason="The WS-Management service cannot process the request. The maximum number of concurrent "
        "operations for this user has been exceeded. Close existing operations for this user, or raise the "
        "quota for this user.",
        wsman_code=CODE_QUOTA_MAX_OPERATIONS,
        wmi_error_code=CODE_QUOTA_MAX_OPERATIONS,
    )


def fault_invalid_xml(problem: str) -> WsmanFault:
    return WsmanFault(
        code="s:Sender",
        subcode="w:SchemaValidationError",
        reason="The WS-Management service cannot process the request because the XML is invalid.",
        wsman_code=CODE_SCHEMA_VALIDATION,
        message=f"The request is not a valid WS-Management envelope: {problem}",
    )


def fault_injected() -> WsmanFault:
    return WsmanFault(
        code="s:Receiver",
        subcode="w:InternalError",
        reason="The WS-Management service cannot process the request. (fault injected by wbplay lab)",
        wsman_code=CODE_E_FAIL,
    )
