"""`--measure-fixes` for the terminal: each fix's measured saving with its 95 % interval, next to
the advice's prediction, ranked by the measured saving."""

from __future__ import annotations

import os
from typing import Any

from greenlint.profiler.units import format_energy
from rich.console import Console


def _signed(joules: float | None) -> str:
    if joules is None:
        return "n/a"
    return ("-" if joules < 0 else "") + format_energy(abs(joules))


def render_measured_fixes(trials: list[dict[str, Any]], console: Console, completed: bool = True) -> None:
    if not trials:
        return
    say = lambda text, **kw: console.print(text, highlight=False, markup=False, soft_wrap=True, **kw)
    console.print()
    console.print("[bold]Measured fixes[/bold] (each fix applied alone in a scratch copy, original and fixed "
                  "profiled alternately)", highlight=False)
    for t in trials:
        where = f"{os.path.basename(t['filename'])}:{t['line']}"
        head = f"#{t['measured_rank']} " if t.get("measured_rank") else "   "
        predicted = (f"predicted {format_energy(t['predicted_j'])} (range {format_energy(t['predicted_low_j'])}-"
                     f"{format_energy(t['predicted_high_j'])}; estimated)" if t.get("predicted_j") is not None
                     else "no prediction (unquantified)")
        if t.get("run_saving_j") is None:
            say(f"{head}{t['code']} at {where} (advice #{t['rank']}): {t['status']}"
                + (f": {t['why']}" if t.get("why") else "") + f"; {predicted}",
                style="yellow" if t["status"] != "measured" else None)
            continue
        unit = "step" if t["unit"] == "step" else "run"
        saving = t["saving"]
        pct = (f" ({t['saved_pct']:.1f} %, {t['saved_pct_low']:.1f} % to {t['saved_pct_high']:.1f} %)"
               if t.get("saved_pct") is not None else "")
        say(f"{head}{t['code']} at {where} (advice #{t['rank']}): {t['verdict']}")
        say(f"     saved per {unit}: {_signed(saving['point'])}, 95 % interval {_signed(saving['low'])} to "
            f"{_signed(saving['high'])}{pct} ({t['label']}, {t['rounds']} rounds)")
        if unit == "step":
            say(f"     over the run: {_signed(t['run_saving_j'])}, 95 % interval {_signed(t['run_saving_low_j'])} to "
                f"{_signed(t['run_saving_high_j'])} ({t['scale_basis']}); {predicted}")
        else:
            say(f"     {predicted}")
        if t["status"] != "measured":
            say(f"     {t['status']}: {t['why']}", style="yellow")
    first = next((t for t in trials if t.get("saving")), None)
    if first is not None:
        say(f"statistics: {first['saving']['method']}, 95 % confidence; energy {first.get('label_how', '')}; "
            "the prediction is compared on the interval: overlapping = confirmed, containing 0 = no measurable effect",
            style="dim")
    if not completed:
        say("The experiment was stopped by Ctrl-C: the figures above cover the rounds that completed.", style="yellow")
