"""Ranked advice and carbon figures for the terminal (rich)."""

from __future__ import annotations

import os

from rich.console import Console
from rich.table import Table

from greenlint.advice import Advice
from greenlint.carbon import Carbon
from greenlint.profiler.labels import confidence_words, label_of_basis
from greenlint.profiler.units import format_energy, format_grams as _grams, format_kwh as _kwh, format_percent

TOP_ADVICE = 10


def _energy(joules: float | None) -> str:
    return format_energy(joules)


def _where(advice: Advice) -> str:
    name = advice.filename
    if os.path.isabs(name):
        rel = os.path.relpath(name)
        name = name if rel.startswith("..") else rel
    return f"{name}:{advice.line}"


def _phase_words(a: Advice) -> str:
    share = f": {format_percent(a.phase_share)} of the sampled time" if a.phase_share is not None else ""
    return f"{a.phase}{share}"


def render_advice_text(advice: list[Advice], carbon: Carbon | None, console: Console,
                       notices: list[str] | None = None, linted: bool = True) -> None:
    quantified = [a for a in advice if a.quantified]
    unquantified = [a for a in advice if not a.quantified]
    if not advice and linted:
        console.print("Advice: greenlint found nothing to fix in the code that ran.", highlight=False)
    if quantified:
        table = Table(title="Advice, ranked by the estimated saving over the run", title_justify="left",
                      show_edge=False)
        for col in ("#", "rule", "where", "saving (estimated)", "range", "of run", "confidence"):
            table.add_column(col, justify="right" if col in ("#", "saving (estimated)", "of run") else "left",
                             no_wrap=col in ("rule", "where", "range"))
        for a in quantified[:TOP_ADVICE]:
            table.add_row(str(a.rank), a.code, _where(a), _energy(a.estimated_savings_j),
                          f"{_energy(a.low_j)}-{_energy(a.high_j)}",
                          f"{a.estimated_savings_pct:.1f} %" if a.estimated_savings_pct is not None else "-",
                          confidence_words(a.confidence, a.quantified))
        console.print(table)
        for a in quantified[:TOP_ADVICE]:
            fix = f" [{a.fix_applicability} fix: greenlint check --fix{' --unsafe-fixes' if a.fix_applicability == 'unsafe' else ''}]" if a.fix_applicability else ""
            console.print(f"{a.rank}. {_where(a)}: {a.message}{fix}", highlight=False, markup=False, soft_wrap=True)
            if a.phase:
                console.print(f"   addresses {_phase_words(a)}", highlight=False, markup=False, soft_wrap=True)
            console.print(f"   {a.basis}", style="dim", highlight=False, markup=False, soft_wrap=True)
        if len(quantified) > TOP_ADVICE:
            console.print(f"... and {len(quantified) - TOP_ADVICE} more quantified (see --format json)", highlight=False)
    if unquantified:
        console.print(f"Also found ({len(unquantified)}, saving not quantified from this profile):", highlight=False)
        for a in unquantified[:TOP_ADVICE]:
            console.print(f"  {a.rank}. {_where(a)}: {a.code} {a.message}", highlight=False, markup=False,
                          soft_wrap=True)
            if a.phase:
                console.print(f"     addresses {_phase_words(a)}", highlight=False, markup=False, soft_wrap=True)
            console.print(f"     {a.basis}", style="dim", highlight=False, markup=False, soft_wrap=True)
        if len(unquantified) > TOP_ADVICE:
            console.print(f"  ... and {len(unquantified) - TOP_ADVICE} more (see --format json)", highlight=False)
    if carbon is not None:
        console.print(
            f"Carbon: {_kwh(carbon.energy_kwh)} ({label_of_basis(carbon.basis, 'estimated')}; range "
            f"{_kwh(carbon.low_kwh)}-{_kwh(carbon.high_kwh)}) = {_grams(carbon.co2e_g)} CO2e (estimated; range "
            f"{_grams(carbon.low_g)}-{_grams(carbon.high_g)})",
            highlight=False,
        )
        console.print(carbon.basis, style="dim", highlight=False, markup=False, soft_wrap=True)
    for notice in notices or []:
        console.print(f"note: {notice}", style="yellow", highlight=False, markup=False)
