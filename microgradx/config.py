"""What a run of the ``microgradx`` command asks for, as plain data: one dataclass per command.

The command line parses its flags into these (one field per flag, same name);
everything below it (:mod:`microgradx.recipes`, the model registry) takes them
and knows nothing of argparse.  A script can build one directly::

    >>> from microgradx.config import TrainConfig
    >>> TrainConfig(data="xor", epochs=5).model
    'mlp'

``None`` in a :class:`TrainConfig` field means "the recipe's default":
:func:`microgradx.recipes.with_recipe_defaults` fills those from
``recipe_for(config.model, config.data)``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TrainConfig", "EvalConfig", "GraphConfig"]


@dataclass(frozen=True)
class TrainConfig:
    """``microgradx train``: data, model, optimizer, schedule and where the run goes."""

    data: str = "digits"
    #: The folder holding the four MNIST IDX files (``data="mnist"`` only).
    mnist_dir: str | None = None
    engine: str = "tensor"
    model: str = "mlp"
    #: Hidden layer sizes; () is a linear model.
    hidden: tuple[int, ...] | None = None
    activation: str | None = None
    optimizer: str = "adam"
    lr: float | None = None
    epochs: int | None = None
    batch_size: int | None = None
    #: ``constant``, or ``cosine``: per step from lr down to 0 over the run.
    schedule: str | None = None
    #: ``none``, or ``shift``: each training image moved by up to one pixel with probability 1/2.
    augment: str | None = None
    weight_decay: float = 0.0
    #: Seeds the split (where the data set has one), the initial weights, the batch order and the shifts.
    seed: int = 0
    #: Inputs are fed to the model as ``x * input_scale + input_shift`` (no flag: the recipe's choice).
    input_scale: float | None = None
    input_shift: float | None = None
    #: Output folder; None: ``runs/<data>-<engine>`` (``-<model>`` appended for a model other than mlp).
    out: str | None = None
    overwrite: bool = False
    quiet: bool = False
    #: Scalar engine only: leave exact-zero inputs and dead relus out of each neuron's weighted sum
    #: (the same numbers up to rounding: gradients add up in another order; about 2.7x faster on the
    #: digits); off, every step builds the textbook graph.
    skip_zero_terms: bool = False
    #: An unfinished run's checkpoint to continue (``--resume``; None: fresh weights).
    resume: str | None = None


@dataclass(frozen=True)
class EvalConfig:
    """``microgradx eval``: a saved model and the test split to score it on."""

    model_file: str
    #: None: the data set the model was trained on.
    data: str | None = None
    mnist_dir: str | None = None
    #: None: the seed the model was trained with.
    seed: int | None = None
    #: Score on a split whose test set holds some of the model's training examples.
    allow_other_split: bool = False


@dataclass(frozen=True)
class GraphConfig:
    """``microgradx graph``: an expression, its variables' values, and where to draw it."""

    expression: str
    variables: tuple[str, ...] = ()
    output: str | None = None
    rankdir: str = "LR"
