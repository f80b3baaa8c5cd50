"""The training progress display of the command line (and of ``fit(progress=True)``).

A tqdm bar over all steps with the running loss and score, or one plain line
per epoch when tqdm is not installed.  :func:`microgradx.train.fit` calls the
four methods below; any object with them can stand in (``fit(progress=obj)``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Progress"]


class Progress:
    """``update`` after each step, ``epoch_done`` after each epoch, ``message`` for a line, ``close``."""

    def __init__(self, total: int, *, stream: Any, enabled: bool = True) -> None:
        self.stream = stream
        self.bar = None
        self.enabled = enabled
        self.postfix: dict[str, str] = {}
        if not enabled:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            print("note: tqdm is not installed (pip install tqdm); showing one line per epoch",
                  file=stream)
            return
        self.bar = tqdm(total=total, file=stream, unit="step", dynamic_ncols=True, leave=True)

    def update(self, description: str, *, loss: float, metric: str, score: float) -> None:
        """One step done: the epoch's running mean loss and score (``metric`` is e.g. "acc" or "r2")."""
        if self.bar is None:
            return
        self.bar.set_description(description, refresh=False)
        self.postfix.update({"loss": f"{loss:.4f}", metric: f"{score:.3f}"})
        self.bar.set_postfix(self.postfix, refresh=False)
        self.bar.update(1)

    def epoch_done(self, record: Any, epochs: int) -> None:
        """An :class:`~microgradx.train.EpochRecord` is complete."""
        if not self.enabled:
            return
        if self.bar is not None:
            self.postfix["test"] = f"{record.test_metric:.3f}"
            self.bar.set_postfix(self.postfix)
        else:
            print(f"epoch {record.epoch}/{epochs}  loss {record.train_loss:.4f}  "
                  f"train {record.metric} {record.train_metric:.3f}  test {record.metric} "
                  f"{record.test_metric:.3f}  {record.seconds:.2f}s", file=self.stream)

    def message(self, text: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
