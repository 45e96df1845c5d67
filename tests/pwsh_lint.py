"""Static checks for PowerShell the engine ships, for tests (no PowerShell needed).

- :func:`syntax_errors`: ERROR / MISSING nodes under the tree-sitter-powershell grammar.
- :func:`ps3_violations`: constructs that do not exist in Windows PowerShell 2.0.
- :func:`unsafe_constructs`: things a data-driven agent must never do (Invoke-Expression...).
- :func:`undefined_variables` / :func:`function_calls`: what ``Set-StrictMode -Version 2``
  would only report at run time on a customer's PC (a typo'd variable, a missing function).
- :func:`call_problems`: calls of the script's own functions with a misspelt ``-Parameter``
  or surplus arguments, which simple PowerShell functions silently accept into ``$args``.
- :func:`pipeline_leaks`: method results that would become part of a function's output.

The grammar is stricter than PowerShell in places (it wants a newline between
``switch`` clauses and after a ``param()`` block); scripts are written to suit it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import tree_sitter
import tree_sitter_powershell

LANGUAGE = tree_sitter.Language(tree_sitter_powershell.language())


def parse(text: str) -> tree_sitter.Tree:
    return tree_sitter.Parser(LANGUAGE).parse(text.encode("utf-8"))


def _walk(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _text(node: tree_sitter.Node) -> str:
    return (node.text or b"").decode("utf-8")


def syntax_errors(text: str) -> list[str]:
    """``line:column: ERROR near '...'`` for every ERROR or MISSING node (1-based)."""
    tree = parse(text)
    problems = []
    for node in _walk(tree.root_node):
        if node.is_error or node.is_missing:
            row, column = node.start_point
            kind = f"MISSING {node.type}" if node.is_missing else "ERROR"
            problems.append(f"{row + 1}:{column + 1}: {kind} near {_text(node)[:40]!r}")
    if tree.root_node.has_error and not problems:
        problems.append("the parse tree reports an error")
    return problems


def strip_comments(text: str) -> str:
    """``text`` with every comment blanked out (same length, same line numbers)."""
    data = bytearray(text.encode("utf-8"))
    for node in _walk(parse(text).root_node):
        if node.type == "comment":
            for i in range(node.start_byte, node.end_byte):
                if data[i] not in (0x0A, 0x0D):
                    data[i] = 0x20
    return data.decode("utf-8")


# Windows PowerShell 2.0 lacks all of these (PowerShell Team, "New V3 Language
# Features"; cmdlet docs "introduced in Windows PowerShell 3.0"; PS2's
# Rename-Item has no -LiteralPath).  Member enumeration cannot be found by a
# regex; the agent is written without it.
PS3_PATTERNS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.IGNORECASE)
    for name, pattern in {
        "ConvertTo-Json": r"\bConvertTo-Json\b",
        "ConvertFrom-Json": r"\bConvertFrom-Json\b",
        "[pscustomobject]": r"\[\s*pscustomobject\s*\]",
        "[ordered]": r"\[\s*ordered\s*\]",
        "-in / -notin operator": r"(?<![\w-])-[ci]?(?:not)?in(?![\w-])",
        "Get-CimInstance": r"\bGet-Cim\w+",
        "::new(": r"::\s*new\s*\(",
        "$PSItem": r"\$PSItem\b",
        "-shl / -shr": r"(?<![\w-])-(?:shl|shr)(?![\w-])",
        "-ErrorAction Ignore": r"-(?:ErrorAction|EA)\s*:?\s*['\"]?Ignore\b",
        "Get-ChildItem -File / -Directory": r"\b(?:Get-ChildItem|gci)\b[^\n|;]*\s-(?:File|Directory)\b",
        "Get-Content -Raw": r"\b(?:Get-Content|gc)\b[^\n|;]*\s-Raw\b",
        "Rename-Item -LiteralPath": r"\bRename-Item\b[^\n|;]*\s-LiteralPath\b",
        "simplified Where-Object / ForEach-Object": (
            r"(?:\bWhere-Object|\bForEach-Object|\|\s*(?:where|foreach|\?|%))\s+"
            r"(?!\{|-(?:FilterScript|Process|Begin|End)\b)[\w-]"
        ),
        "$using:": r"\$using:",
        "-PipelineVariable": r"\s-(?:PipelineVariable|pv)\b",
        "-NoEnumerate": r"\s-NoEnumerate\b",
        "-Depth": r"(?<![\w-])-Depth\b",
        "class / enum": r"^\s*(?:class|enum)\s+\w+\s*\{",
    }.items()
}

UNSAFE_PATTERNS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.IGNORECASE)
    for name, pattern in {
        "Invoke-Expression": r"\b(?:Invoke-Expression|iex)\b",
        "Add-Type -TypeDefinition": r"\bAdd-Type\b[^\n|;]*-TypeDefinition\b",
        "WQL -Filter": r"\bGet-WmiObject\b[^\n|;]*\s-(?:Filter|Query)\b",
        # Native tools run only through Invoke-WbNative: a Process with a
        # vetted argument string, never a shell or a launcher that re-parses.
        "Start-Process": r"\bStart-Process\b",
        "cmd /c": r"\bcmd(?:\.exe)?['\"]?\s+['\"]?/[ck]\b",
        "Process.Start(string)": r"\[(?:System\.)?Diagnostics\.Process\]::Start\(",
        "Invoke-WmiMethod Win32_Process": r"\bWin32_Process\b",
    }.items()
}


def _matches(patterns: dict[str, re.Pattern[str]], text: str) -> list[str]:
    code = strip_comments(text)
    found = []
    for name, pattern in patterns.items():
        for match in pattern.finditer(code):
            line = code.count("\n", 0, match.start()) + 1
            found.append(f"{line}: {name}: {match.group(0).strip()!r}")
    return found


def ps3_violations(text: str) -> list[str]:
    """Uses of PowerShell 3.0+ constructs, comments excepted."""
    return _matches(PS3_PATTERNS, text)


def unsafe_constructs(text: str) -> list[str]:
    """Constructs that could turn request data into code or a query string."""
    return _matches(UNSAFE_PATTERNS, text)


# ---------------------------------------------------------------- strict mode ---

AUTOMATIC_VARIABLES = frozenset(
    {
        *("$_", "$null", "$true", "$false", "$matches", "$psversiontable", "$input", "$args", "$error"),
        "$executioncontext",
    }
)
_PLAIN_VARIABLE = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*")
_FUNCTION_CALL = re.compile(r"(?<![\w$-])([A-Z][A-Za-z]+-Wb[A-Za-z0-9]+)\b")


@dataclass(frozen=True, slots=True)
class _Scope:
    name: str
    defined: frozenset[str]
    read: tuple[tuple[str, int], ...]  # (variable, line)


def _scope_of(node: tree_sitter.Node, name: str, skip_functions: bool) -> _Scope:
    defined: set[str] = set()
    read: list[tuple[str, int]] = []
    stack = list(node.children)
    while stack:
        current = stack.pop()
        if skip_functions and current.type == "function_statement":
            continue
        if current.type == "left_assignment_expression" and _PLAIN_VARIABLE.fullmatch(_text(current)):
            defined.add(_text(current).lower())
            continue
        if current.type == "foreach_statement":
            loop_variable = current.child_by_field_name("variable") or next(
                (c for c in current.children if c.type == "variable"), None
            )
            if loop_variable is not None:
                defined.add(_text(loop_variable).lower())
        if current.type == "script_parameter":
            for child in _walk(current):
                if child.type == "variable":
                    defined.add(_text(child).lower())
        if current.type == "command_parameter" and _text(current).lower() in ("-errorvariable", "-ev"):
            following = current.next_sibling
            if following is not None:
                defined.add("$" + _text(following).lower())
        if current.type == "variable" and _PLAIN_VARIABLE.fullmatch(_text(current)):
            read.append((_text(current).lower(), current.start_point[0] + 1))
        stack.extend(current.children)
    return _Scope(name, frozenset(defined), tuple(read))


def undefined_variables(text: str) -> list[str]:
    """Variables read but never assigned where ``Set-StrictMode -Version 2`` would see them.

    Flow-insensitive: a function may read its parameters, variables it assigns
    anywhere, loop variables, ``-ErrorVariable`` targets, automatic variables
    and the script's own top-level variables.
    """
    root = parse(text).root_node
    top = _scope_of(root, "<script>", skip_functions=True)
    problems = [
        f"{line}: <script> reads {variable}"
        for variable, line in top.read
        if variable not in top.defined and variable not in AUTOMATIC_VARIABLES
    ]
    for node in _walk(root):
        if node.type != "function_statement":
            continue
        name_node = next((c for c in node.children if c.type == "function_name"), None)
        scope = _scope_of(node, _text(name_node) if name_node else "?", skip_functions=False)
        allowed = scope.defined | top.defined | AUTOMATIC_VARIABLES
        problems.extend(
            f"{line}: {scope.name} reads {variable}"
            for variable, line in scope.read
            if variable not in allowed
        )
    return problems


def function_calls(text: str) -> tuple[set[str], set[str]]:
    """``(defined, called)`` names of the script's own ``Verb-Wb*`` functions."""
    code = strip_comments(text)
    defined = set(re.findall(r"^function\s+([\w-]+)", code, re.MULTILINE | re.IGNORECASE))
    called = {
        match.group(1)
        for match in _FUNCTION_CALL.finditer(code)
        if not code[max(0, match.start() - 9) : match.start()].endswith("function ")
    }
    return defined, called


@dataclass(frozen=True, slots=True)
class _Param:
    name: str  # lower case, without the $
    switch: bool


def _signatures(root: tree_sitter.Node) -> dict[str, tuple[_Param, ...]]:
    """Function name (lower case) -> its ``param()`` parameters, in order."""
    found: dict[str, tuple[_Param, ...]] = {}
    for node in _walk(root):
        if node.type != "function_statement":
            continue
        name_node = next((c for c in node.children if c.type == "function_name"), None)
        body = next((c for c in node.children if c.type == "script_block"), None)
        block = next((c for c in body.children if c.type == "param_block"), None) if body else None
        params: list[_Param] = []
        for p in _walk(block) if block is not None else ():
            if p.type == "script_parameter":
                variable = next(c for c in p.children if c.type == "variable")
                types = [_text(t).lower() for t in _walk(p) if t.type == "type_literal"]
                params.append(_Param(_text(variable)[1:].lower(), "[switch]" in types))
        if name_node is not None:
            found[_text(name_node).lower()] = tuple(params)
    return found


def call_problems(text: str) -> list[str]:
    """Calls of the script's own functions that PowerShell would bind wrongly.

    The agent's functions are simple (no ``[CmdletBinding()]``), so PowerShell
    does not reject a misspelt ``-Parameter`` or a surplus argument: both land
    in ``$args`` and the parameter silently stays ``$null``.  A named
    parameter must exist; a switch takes a value only as ``-Switch:$value``;
    other named parameters take the next argument; the rest fill the
    remaining non-switch parameters in order and must not outnumber them.
    """
    root = parse(text).root_node
    signatures = _signatures(root)
    problems = []
    for node in _walk(root):
        if node.type != "command":
            continue
        name_node = next((c for c in node.children if c.type == "command_name"), None)
        if name_node is None or _text(name_node).lower() not in signatures:
            continue
        name = _text(name_node)
        params = {p.name: p for p in signatures[name.lower()]}
        elements = next((c for c in node.children if c.type == "command_elements"), None)
        children = elements.children if elements else []
        seps = [c for c in children if c.type == "command_argument_sep"]
        # The grammar splits "$list.ToArray()" into "$list.ToArray" and "()";
        # PowerShell reads pieces with nothing between them as one argument.
        items = []
        for c in children:
            if c.type == "command_argument_sep":
                continue
            if items and items[-1].end_byte == c.start_byte and c.type != "command_parameter":
                continue
            items.append(c)
        bound: set[str] = set()
        positional = 0
        i = 0
        while i < len(items):
            item = items[i]
            i += 1
            if item.type != "command_parameter":
                positional += 1
                continue
            wanted = _text(item).lstrip("-").rstrip(":").lower()
            param = params.get(wanted)
            line = item.start_point[0] + 1
            if param is None:
                problems.append(f"{line}: {name} has no parameter -{wanted}")
                continue
            bound.add(param.name)
            colon = any(s.start_byte == item.end_byte and _text(s).startswith(":") for s in seps)
            if (not param.switch or colon) and i < len(items):
                i += 1  # the parameter's value
        free = [p for p in signatures[name.lower()] if not p.switch and p.name not in bound]
        if positional > len(free):
            line = node.start_point[0] + 1
            problems.append(f"{line}: {name} gets {positional} positional arguments, takes {len(free)}")
    return problems


# ------------------------------------------------------------ pipeline leaks ---

# Methods that return a value PowerShell would add to the function's output
# unless it is discarded ([void], $null =, assignment).
_LEAKY_CALL = re.compile(
    r"(?:\.|::)(?:Add|Append|AppendLine|Insert|Start|Put|InvokeMethod|GetChars|Read|BeginRead|EndRead"
    r"|CloseHandle)\("
)


def pipeline_leaks(text: str) -> list[str]:
    """Calls whose return value would leak into a function's output (PS2 has no warning)."""
    problems = []
    for number, line in enumerate(strip_comments(text).splitlines(), start=1):
        if _LEAKY_CALL.search(line) and not re.search(
            r"\[void\]|\$null\s*=|^\s*\$[\w.]+\s*=|^\s*(?:\}\s*)?(?:if|elseif|while)\b|-(?:gt|lt|eq|ne)\b|\breturn\b",
            line,
        ):
            problems.append(f"{number}: {line.strip()}")
    return problems


# ----------------------------------------------------------- structure peeks ---


def function_node(text: str, name: str) -> tree_sitter.Node | None:
    for node in _walk(parse(text).root_node):
        if node.type == "function_statement":
            name_node = next((c for c in node.children if c.type == "function_name"), None)
            if name_node is not None and _text(name_node).lower() == name.lower():
                return node
    return None


def _literal(node: tree_sitter.Node) -> str:
    raw = _text(node).strip()
    return raw[1:-1] if raw[:1] in ("'", '"') and raw[-1:] == raw[:1] else raw


def switch_labels(node: tree_sitter.Node) -> list[str]:
    """The clause labels of the first ``switch`` inside ``node`` (``default`` included)."""
    switch = next((n for n in _walk(node) if n.type == "switch_statement"), None)
    if switch is None:
        return []
    return [_literal(n) for n in _walk(switch) if n.type == "switch_clause_condition"]


def hash_keys(text: str, variable: str) -> list[str]:
    """The keys of the hashtable literal assigned to ``variable`` at the top of the script."""
    for node in _walk(parse(text).root_node):
        if node.type != "assignment_expression":
            continue
        left = next((c for c in node.children if c.type == "left_assignment_expression"), None)
        if left is None or _text(left).lower() != variable.lower():
            continue
        literal = next((n for n in _walk(node) if n.type == "hash_literal_expression"), None)
        if literal is not None:
            return [_literal(n) for n in _walk(literal) if n.type == "key_expression"]
    return []
