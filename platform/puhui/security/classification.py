"""Field classes and kinds per JR/T 0171-2020 (personal financial information C1/C2/C3).

C3: authentication data (passwords, OTPs, PINs, keys). C2: data identifying a person
(ID numbers, phone, bank account, USCC linked to a person, address, name, email). C1: the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, TypeAlias

__all__ = [
    "ClassificationMap",
    "FieldClass",
    "FieldKind",
    "class_of",
]


class FieldClass(StrEnum):
    C1 = "C1"
    C2 = "C2"
    C3 = "C3"


class FieldKind(StrEnum):
    ID_NUMBER = "id_number"
    PHONE = "phone"
    BANK_ACCOUNT = "bank_account"
    USCC = "uscc"
    NAME = "name"
    ADDRESS = "address"
    EMAIL = "email"
    SECRET = "secret"  # noqa: S105 - a kind name, not a credential


# JR/T 0171-2020 4.2: C3 = authentication information; C2 = identifying personal information.
_CLASS_OF_KIND: Final = {
    FieldKind.SECRET: FieldClass.C3,
    FieldKind.ID_NUMBER: FieldClass.C2,
    FieldKind.PHONE: FieldClass.C2,
    FieldKind.BANK_ACCOUNT: FieldClass.C2,
    FieldKind.USCC: FieldClass.C2,
    FieldKind.NAME: FieldClass.C2,
    FieldKind.ADDRESS: FieldClass.C2,
    FieldKind.EMAIL: FieldClass.C2,
}


def class_of(kind: FieldKind | None) -> FieldClass:
    """The class of a field kind; an unclassified field is C1."""
    return FieldClass.C1 if kind is None else _CLASS_OF_KIND[kind]


# A compiled path tree: key -> kind (a leaf) or a subtree. Lists are transparent.
PathTree: TypeAlias = "dict[str, FieldKind | PathTree]"


def _compile(paths: Mapping[str, FieldKind | str]) -> PathTree:
    tree: PathTree = {}
    for path, kind in paths.items():
        parts = path.split(".")
        if not all(parts):
            raise ValueError(f"empty segment in classification path {path!r}")
        node = tree
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"classification path {path!r} runs through a leaf")
            node = child
        if parts[-1] in node:
            raise ValueError(f"classification path {path!r} is declared twice or shadows a subtree")
        node[parts[-1]] = FieldKind(kind)
    return tree


@dataclass(frozen=True, slots=True)
class ClassificationMap:
    """Where the classified fields of one API's response live.

    `paths` are dotted key paths (`customer.id_number`; list levels are transparent), declared once
    next to the route. `anywhere` names keys classified wherever they appear (`password`), at the
    cost of a full walk of the document.
    """

    paths: Mapping[str, FieldKind | str] = field(default_factory=dict)
    anywhere: Mapping[str, FieldKind | str] = field(default_factory=dict)
    tree: PathTree = field(init=False, repr=False)
    anywhere_kinds: Mapping[str, FieldKind] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tree", _compile(self.paths))
        object.__setattr__(
            self, "anywhere_kinds", {key: FieldKind(kind) for key, kind in self.anywhere.items()}
        )

    def kind_at(self, path: str) -> FieldKind | None:
        node: FieldKind | PathTree = self.tree
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return self.anywhere_kinds.get(path.rsplit(".", 1)[-1])
            node = node[part]
        return node if isinstance(node, FieldKind) else None
