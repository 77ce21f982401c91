"""YAML for specs, bounded before anything walks the document.

PyYAML's composer shares one node for an anchor and all its aliases, so eight lines of
nested aliases compose at once but expand to tens of millions of values for whatever walks
the result. This reader counts the values the document expands to while composing (each
alias adds the size of what it names, known once that is composed) and stops at the alias
that crosses MAX_VALUES, before the constructor, the line map or pydantic see anything.
It also bounds the nesting depth (PyYAML composes recursively), refuses an alias to a
collection it sits in, and refuses a key given twice in one mapping, at any depth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from stacklab.errors import Problem, SpecError

MAX_VALUES = 5_000  # values after expanding aliases; a multinode ssh spec has about 200
MAX_DEPTH = 32  # nesting of mappings and lists; a spec nests 5 deep
MERGE_TAG = "tag:yaml.org,2002:merge"


class _Refused(yaml.MarkedYAMLError):
    """A limit of this reader, reported like any YAML error at its line."""

    def __init__(self, why: str, fix: str, mark: Any) -> None:  # PyYAML's Mark or libyaml's
        super().__init__(problem=why, problem_mark=mark)
        self.fix = fix


if TYPE_CHECKING:
    from yaml._yaml import CParser as _EventSource  # typed like the parser a loader mixes in
else:
    _EventSource = object


class _Loading(Protocol):
    def get_single_node(self) -> Node | None: ...
    def construct_document(self, node: Node) -> Any: ...
    def dispose(self) -> None: ...


class _BoundedComposer(Composer, _EventSource):
    """Composes as PyYAML does, counting expanded values and nesting as it goes."""

    def __init__(self) -> None:
        super().__init__()
        self._values = 0
        self._depth = 0
        self._sizes: dict[int, int] = {}  # id(node) -> values it expands to, once composed

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            assert isinstance(event, AliasEvent)
            node = super().compose_node(parent, index)
            assert node is not None  # an alias names a node composed earlier
            size = self._sizes.get(id(node))
            if size is None:
                raise _Refused(
                    f"alias *{event.anchor} refers to the list or mapping it is part of, "
                    "which would make the spec endless",
                    f"write the values out instead of the alias *{event.anchor}",
                    event.start_mark,
                )
            self._values += size
            if self._values > MAX_VALUES:
                raise _Refused(
                    f"alias *{event.anchor} brings the document to more than {MAX_VALUES} "
                    "values once aliases are expanded; stacklab allows anchors and aliases "
                    f"but expands them only up to {MAX_VALUES} values in all",
                    "write the values out, or use fewer and smaller aliases (a spec has a "
                    "few hundred values)",
                    event.start_mark,
                )
            return node
        event = self.peek_event()
        assert event is not None  # inside a document there is always a next event
        start = event.start_mark
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(
                f"the document nests deeper than {MAX_DEPTH} levels",
                "a spec nests a few levels deep; remove the extra brackets or indentation",
                start,
            )
        before = self._values
        node = super().compose_node(parent, index)
        assert node is not None  # None only at a document's end, never inside one
        self._depth -= 1
        self._values += 1
        self._sizes[id(node)] = self._values - before
        if self._values > MAX_VALUES:
            raise _Refused(
                f"the document has more than {MAX_VALUES} values",
                "a spec has a few hundred values; remove what is not a stacklab field",
                start,
            )
        return node


class _GuardedConstructor(SafeConstructor):
    """Turns the exceptions PyYAML lets out of its constructors (`!!int x`, an integer of
    5000 digits, `!!timestamp x`) into YAML errors at the value's line."""

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as error:
            raise ConstructorError(
                None, None, f"cannot read {node.value!r} as {node.tag}: {error}", node.start_mark
            ) from None


class _PurePythonLoader(_BoundedComposer, Reader, Scanner, Parser, _GuardedConstructor, Resolver):
    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        _BoundedComposer.__init__(self)
        _GuardedConstructor.__init__(self)
        Resolver.__init__(self)


if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _LibyamlLoader(_BoundedComposer, CParser, _GuardedConstructor, Resolver):
        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            _BoundedComposer.__init__(self)
            _GuardedConstructor.__init__(self)
            Resolver.__init__(self)


def _loader(text: str) -> _Loading:
    """libyaml's parser where PyYAML has it: the pure-Python scanner is quadratic in the
    nesting of flow collections and ten times slower. The composing stays ours."""
    if yaml.__with_libyaml__:
        return _LibyamlLoader(text)
    return _PurePythonLoader(text)


def _key_text(node: Node) -> str:
    return str(node.value) if isinstance(node, ScalarNode) else f"<{node.tag.rsplit(':', 1)[-1]}>"


def _duplicate_keys(root: Node, text: str, source: str) -> list[Problem]:
    """Every key given twice in one mapping, with both lines. The graph is bounded by now;
    a mapping shared by aliases is looked at once."""
    problems: list[Problem] = []
    seen: set[int] = set()
    pending: list[tuple[Node, str]] = [(root, "")]
    while pending:
        node, path = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            first_line: dict[tuple[str, str], int] = {}
            for key, value in node.value:
                name = _key_text(key)
                child = f"{path}.{name}" if path else name
                pending.append((value, child))
                if not isinstance(key, ScalarNode) or key.tag == MERGE_TAG:
                    continue
                line = key.start_mark.line + 1
                earlier = first_line.get((key.tag, key.value))
                if earlier is None:
                    first_line[(key.tag, key.value)] = line
                else:
                    entry = _snippet(text, line - 1)
                    problems.append(_duplicate(child, name, entry, earlier, line, source))
        elif isinstance(node, SequenceNode):
            pending.extend((item, f"{path}[{index}]") for index, item in enumerate(node.value))
    return sorted(problems, key=lambda problem: problem.line or 0)


def _duplicate(field: str, key: str, entry: str, first: int, second: int, source: str) -> Problem:
    where = f"on line {first} and on line {second}" if first != second else f"on line {first}"
    return Problem(
        field=field,
        value=entry,
        why=f"the key `{key}` is given twice in the same mapping, {where}; YAML would keep "
        "only the last one silently",
        fix=f"keep one of them: delete line {first} or line {second} (or the block it starts)"
        if first != second
        else f"keep one `{key}:` on line {first}",
        source=source,
        line=second,
    )


def _syntax_problem(error: yaml.YAMLError, text: str, source: str) -> Problem:
    if isinstance(error, yaml.reader.ReaderError):
        line = text.count("\n", 0, max(error.position, 0)) + 1
        return Problem(
            field="(yaml)",
            value=f"character U+{error.character:04X}"
            if isinstance(error.character, int)
            else str(error.character),
            why=f"the file holds a character YAML does not allow ({error.reason})",
            fix="remove it, or write it as an escape such as \\x00 inside double quotes",
            source=source,
            line=line,
        )
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    if isinstance(error, _Refused):
        value, why, fix = _snippet(text, mark.line) if mark else "", str(error.problem), error.fix
    elif isinstance(error, ConstructorError):
        value = _shortened(str(error.problem))
        why = "YAML cannot build this value"
        fix = "write it as a plain string, number or true/false, without a `!!` tag"
    else:
        value = _shortened(str(getattr(error, "problem", None) or error))
        why = "the file is not valid YAML"
        fix = "correct the syntax at that line (indentation, a missing ':' or quote)"
    return Problem(
        field="(yaml)",
        value=value,
        why=why,
        fix=fix,
        source=source,
        line=mark.line + 1 if mark else None,
    )


def _snippet(text: str, line_index: int) -> str:
    lines = text.splitlines()
    return _shortened(lines[line_index].strip() if 0 <= line_index < len(lines) else "")


def _shortened(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_yaml(text: str, source: str) -> tuple[object, Node | None]:
    """The document's data and its node graph (for line numbers), or a SpecError."""
    try:
        loader = _loader(text)
    except yaml.YAMLError as error:
        raise SpecError([_syntax_problem(error, text, source)], source) from None
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        duplicates = _duplicate_keys(root, text, source)
        if duplicates:
            raise SpecError(duplicates, source)
        return loader.construct_document(root), root
    except yaml.YAMLError as error:
        raise SpecError([_syntax_problem(error, text, source)], source) from None
    finally:
        loader.dispose()
