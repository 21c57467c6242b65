"""The data every part of `greenlint check` passes around: a finding and where it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, order=True)
class Location:
    """A position in a file: 1-based row, 1-based column (in characters, as ruff reports)."""

    row: int
    column: int

    def to_json(self) -> dict[str, int]:
        return {"row": self.row, "column": self.column}


@dataclass(frozen=True)
class Edit:
    """Replace the text between two locations with `content` (used by fixes)."""

    content: str
    location: Location
    end_location: Location
    cell: int | None = None  # notebooks: the cell the edit's rows count in

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "content": self.content,
            "location": self.location.to_json(),
            "end_location": self.end_location.to_json(),
        }
        if self.cell is not None:
            data["cell"] = self.cell
        return data


@dataclass(frozen=True)
class Fix:
    """A mechanical change that resolves a finding; `applicability` is "safe" or "unsafe"."""

    message: str
    applicability: str
    edits: tuple[Edit, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "applicability": self.applicability,
            "edits": [e.to_json() for e in self.edits],
        }


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    filename: str
    location: Location
    end_location: Location
    fix: Fix | None = None
    # The row a `# noqa` comment must sit on to suppress this finding.
    noqa_row: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    # The static impact estimate (greenlint.rules.impact.Impact); None for greenlint's own GL0xx
    # findings. A rule that declares no impact gives an Impact of level "unknown".
    impact: Any = field(default=None, compare=False)

    def sort_key(self) -> tuple:
        return (self.filename, self.extra.get("cell", 0), self.location.row, self.location.column, self.code, self.message)

    @property
    def position(self) -> str:
        """`row:col`, or `cell N:row:col` in a notebook."""
        cell = self.extra.get("cell")
        prefix = f"cell {cell}:" if cell is not None else ""
        return f"{prefix}{self.location.row}:{self.location.column}"

    def to_json(self) -> dict[str, Any]:
        data = {
            "code": self.code,
            "message": self.message,
            "filename": self.filename,
            "location": self.location.to_json(),
            "end_location": self.end_location.to_json(),
            "fix": self.fix.to_json() if self.fix else None,
            "noqa_row": self.noqa_row,
            # how much it matters, estimated (rules/impact_estimate.py); null for GL0xx
            "impact": self.impact.to_json() if self.impact is not None else None,
        }
        data.update(self.extra)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        """Inverse of `to_json`, used by the cache."""
        from greenlint.rules.impact import Impact

        fix = data.get("fix")
        impact = data.get("impact")
        known = {"code", "message", "filename", "location", "end_location", "fix", "noqa_row", "impact"}
        return cls(
            code=data["code"],
            message=data["message"],
            filename=data["filename"],
            location=Location(**data["location"]),
            end_location=Location(**data["end_location"]),
            fix=None
            if fix is None
            else Fix(
                message=fix["message"],
                applicability=fix["applicability"],
                edits=tuple(
                    Edit(
                        content=e["content"],
                        location=Location(**e["location"]),
                        end_location=Location(**e["end_location"]),
                        cell=e.get("cell"),
                    )
                    for e in fix["edits"]
                ),
            ),
            noqa_row=data.get("noqa_row"),
            extra={k: v for k, v in data.items() if k not in known},
            impact=Impact.from_json(impact) if impact is not None else None,
        )


class LintedFile(list):  # list[Finding]: every consumer of a file's findings keeps working
    """One file's findings, and why the file's own code shows a long training run ("" when it
    does not, or when detection is off): the run-length findings of the project modules it imports
    report as its own do (long_run_spread.py). A list subclass, not a wrapper: the findings cross
    process boundaries and the cache as a list, and the reason travels with them (pickle keeps a
    list subclass's attributes)."""

    def __init__(self, findings: list[Finding] = (), long_run: str = "") -> None:  # type: ignore[assignment]
        super().__init__(findings)
        self.long_run = long_run
