"""The ``microgradx`` command: ``train``, ``eval`` and ``graph``.

    microgradx train                          # tensor MLP on the 8x8 digits, >= 97% test accuracy
    microgradx train --model cnn              # small CNN on the 8x8 digits, >= 98.5% test accuracy
    microgradx train --data moons --engine scalar --hidden 16,16
    microgradx train --resume runs/digits-tensor/checkpoint.npz   # continue an interrupted run
    microgradx eval runs/digits-tensor/model.npz
    microgradx graph "(x + y) * z" x=-2 y=5 z=-4 -o f.svg

Every expected failure (bad arguments, unknown data set, missing, foreign or
damaged files, disallowed expressions, values that are not finite) prints one
line ``microgradx: error: ...`` on stderr and exits with status 2; a run whose
loss diverges exits with 1.  ``train`` never replaces an earlier run's files
unless given ``--overwrite``; ``eval`` refuses a split of the training data
set whose test set holds training examples unless given ``--allow-other-split``.

Each command's flags become one plain dataclass of :mod:`microgradx.config`
(a flag left out keeps the field's default); the command runs on that, and
:mod:`microgradx.recipes` fills in the recipe and knows nothing of argparse.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any, Iterator, Sequence

from . import checkpoint
from . import train as training  # fit and evaluate are looked up when called (tests stand in for them)
from .checkpoint import CheckpointError
from .config import EvalConfig, GraphConfig, TrainConfig
from .data import DataFormatError
from .expr import ExpressionError
from .recipes import (DATASETS, MODELS, load_dataset, make_augmentation, make_optimizer, model_entry,
                      recipe_for, scaled_data, split_overlaps, split_record, with_recipe_defaults)
from .optim.lr_scheduler import cosine_schedule
from .viz.history import plot_history

__all__ = ["main", "build_parser", "CliError", "DATASETS", "MODELS", "recipe_for", "load_dataset"]

PROG = "microgradx"


class CliError(Exception):
    """An expected failure: printed as one line, exit status 2."""


@contextlib.contextmanager
def _refused_as_usage_errors() -> Iterator[None]:
    """Inside: a ValueError of the library (a request it cannot do) is the command's one-line error."""
    try:
        yield
    except ValueError as error:
        raise CliError(str(error)) from None


# ---------------------------------------------------------------------------
# Argument parsing.
# ---------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the fix."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _number(kind: type, *, minimum: float, strict: bool) -> Any:
    """An argparse ``type=``: text -> ``kind`` (int or float), finite, >= or > ``minimum``."""
    noun = "a whole number" if kind is int else "a number"
    if kind is int:
        bound = f"at least {int(minimum) + 1 if strict else int(minimum)}"
    else:
        bound = "a positive number" if strict else f"{minimum:g} or a positive number"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if not math.isfinite(value) or value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"{text} must be {bound}")
        return value
    return parse


_positive_int = _number(int, minimum=0, strict=True)
_non_negative_int = _number(int, minimum=0, strict=False)
_positive_float = _number(float, minimum=0.0, strict=True)
_non_negative_float = _number(float, minimum=0.0, strict=False)


def _hidden_sizes(text: str) -> tuple[int, ...]:
    """``"32,16"`` -> (32, 16); ``""`` or ``"none"`` -> () (a linear model)."""
    if text.strip().lower() in ("", "none"):
        return ()
    sizes = []
    for part in text.split(","):
        try:
            size = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} must be comma-separated layer sizes, "
                                             "e.g. 32,16") from None
        if size < 1:
            raise argparse.ArgumentTypeError(f"layer size {size} in {text!r} must be at least 1")
        sizes.append(size)
    return tuple(sizes)


def _folder(text: str) -> str:
    """An argparse ``type=`` for --out: a folder name, never empty (empty is not "the default")."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; give a folder name, or omit --out for the default "
                                         "runs/<data>-<engine>")
    return text


#: The checkpoint a run keeps in its folder while it trains (model and training state after every
#: epoch); ``train --resume`` continues from it, and it is removed when the run completes.
CHECKPOINT_FILE = "checkpoint.npz"
#: The files a training run writes into its folder.
RUN_FILES = ("model.npz", "history.json", "curves.png", CHECKPOINT_FILE)

#: The graph command's options (with a value, and without); any other word starting with '-' in
#: the expression's place is the expression, e.g. "-x*2".
_GRAPH_VALUE_OPTIONS = ("-o", "--output", "--rankdir")
_GRAPH_FLAGS = ("-h", "--help")


def build_parser() -> argparse.ArgumentParser:
    """The ``microgradx`` argument parser with its three commands.

    No option carries a default here: an option left out is None and keeps its
    config field's default (:mod:`microgradx.config` is the one place for them).
    """
    parser = _Parser(prog=PROG, description="Train, evaluate and draw with microgradx.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    train = commands.add_parser("train", help="train a model (default: tensor MLP on the 8x8 digits)",
                                description="Train a model; writes model.npz, history.json and "
                                            "curves.png into --out.")
    train.add_argument("--data", choices=list(DATASETS), help="data set (default digits)")
    train.add_argument("--mnist-dir", metavar="PATH", help="folder with the MNIST IDX files (--data mnist)")
    train.add_argument("--engine", choices=["tensor", "scalar"],
                       help="tensor (NumPy arrays, fast) or scalar (one Value per number, slow)")
    train.add_argument("--model", choices=list(MODELS),
                       help="mlp, or cnn (tensor engine, image data; its own default recipe)")
    train.add_argument("--hidden", type=_hidden_sizes, metavar="SIZES",
                       help="hidden layer sizes, e.g. 32,16 (cnn: one size; default depends on --data)")
    train.add_argument("--activation", choices=["relu", "tanh", "sigmoid", "linear"],
                       help="hidden-layer activation (default depends on --data)")
    train.add_argument("--optimizer", choices=["sgd", "adam", "adamw"],
                       help="sgd (momentum 0.9), adam or adamw (default adam)")
    train.add_argument("--lr", type=_positive_float, help="learning rate (default depends on --data)")
    train.add_argument("--epochs", type=_positive_int, help="passes over the training set")
    train.add_argument("--batch-size", type=_positive_int, help="examples per step")
    train.add_argument("--schedule", choices=["constant", "cosine"],
                       help="learning rate: constant, or cosine from --lr to 0 per step (cnn default)")
    train.add_argument("--augment", choices=["none", "shift"],
                       help="shift: move training images by up to 1 pixel, p = 1/2 (cnn default)")
    train.add_argument("--weight-decay", type=_non_negative_float, help="L2 / decoupled decay")
    train.add_argument("--seed", type=_non_negative_int, help="seed for split, init and order")
    train.add_argument("--out", metavar="DIR", type=_folder,
                       help="output folder (default runs/<data>-<engine>, runs/<data>-<engine>-cnn)")
    train.add_argument("--overwrite", action="store_true",
                       help="replace the earlier run in --out (without it, train refuses)")
    train.add_argument("--quiet", action="store_true", help="no progress bar and no epoch table")
    train.add_argument("--skip-zero-terms", action="store_true",
                       help="--engine scalar: leave exact-zero inputs and dead relus out of the weighted "
                            "sums (same numbers up to rounding, faster; without it every step builds the textbook graph)")
    train.add_argument("--resume", metavar="PATH",
                       help=f"continue the unfinished run whose {CHECKPOINT_FILE} is PATH, with its recipe, "
                            "in its folder (bit for bit as if it had not stopped)")
    train.set_defaults(run=_train, config_class=TrainConfig)

    evaluate = commands.add_parser("eval", help="evaluate a saved model on a data set's test split")
    evaluate.add_argument("model_file", metavar="MODEL", help="a model file written by microgradx train")
    evaluate.add_argument("--data", choices=list(DATASETS),
                          help="data set (default: the one the model was trained on)")
    evaluate.add_argument("--mnist-dir", metavar="PATH", help="folder with the MNIST IDX files")
    evaluate.add_argument("--seed", type=_non_negative_int,
                          help="split seed (default: the one the model was trained with)")
    evaluate.add_argument("--allow-other-split", action="store_true",
                          help="evaluate on a split whose test set holds training examples")
    evaluate.set_defaults(run=_eval, config_class=EvalConfig)

    graph = commands.add_parser("graph", help="draw an expression's graph with its gradients",
                                description="Build EXPR from Values, run backward, print the "
                                            "gradients and (with -o) draw the graph.")
    graph.add_argument("expression", metavar="EXPR", help='e.g. "(x + y) * z" or "tanh(x * w + b)"')
    graph.add_argument("variables", metavar="NAME=VALUE", nargs="*", help="e.g. x=-2 y=5 z=-4")
    graph.add_argument(*_GRAPH_VALUE_OPTIONS[:2], metavar="FILE",
                       help="write the drawing: .svg, .png, .pdf or .dot")
    graph.add_argument(_GRAPH_VALUE_OPTIONS[2], choices=["LR", "TB"], help="layout direction")
    graph.set_defaults(run=_graph, config_class=GraphConfig)
    return parser


def _version() -> str:
    from . import __version__
    return __version__


# ---------------------------------------------------------------------------
# Commands.
# ---------------------------------------------------------------------------

def _train(config: TrainConfig) -> int:
    resuming = config.resume is not None
    if resuming:
        config, done = _resumed_config(config)
    if config.skip_zero_terms and config.engine != "scalar":
        raise CliError("--skip-zero-terms applies to --engine scalar (one Value per weight); the tensor "
                       "engine computes every term anyway: drop the flag")
    with _refused_as_usage_errors():
        config = with_recipe_defaults(config)
        entry = model_entry(config.model, config.engine)
        raw = load_dataset(config.data, seed=config.seed, mnist_dir=config.mnist_dir)
        data = scaled_data(raw, config.input_scale, config.input_shift)
        arch = entry.architecture(config, data)
        augmentation = make_augmentation(config.augment, data)
    model = checkpoint.build_model(config.engine, config.model, seed=config.seed, **arch)
    scheduler = None
    if config.schedule == "cosine":
        scheduler = cosine_schedule(config.lr, config.epochs * math.ceil(data.num_train / config.batch_size))
    optimizer = make_optimizer(config.optimizer, model.parameters(), config.lr, config.weight_decay, scheduler)
    folder = f"{config.data}-{config.engine}" + ("" if config.model == "mlp" else f"-{config.model}")
    out = Path(config.out) if config.out is not None else Path("runs") / folder
    _prepare_folder(out)
    earlier = _earlier_run(out)
    if earlier and not config.overwrite and not resuming:
        unfinished = (f", --resume {out / CHECKPOINT_FILE} to continue it" if CHECKPOINT_FILE in earlier else "")
        raise CliError(f"{out} already holds an earlier run ({', '.join(earlier)}); pass --overwrite "
                       f"to replace it{unfinished}, or --out DIR to write this run elsewhere")

    if not config.quiet:
        extras = "".join([" cosine" if config.schedule == "cosine" else "",
                          f", {config.augment} augmentation" if config.augment != "none" else ""])
        print(f"training {config.engine} {config.model} {entry.describe(arch)} on "
              f"{data.name} ({data.num_train} train / {data.num_test} test), {config.optimizer} "
              f"lr={config.lr:g}{extras}, {config.epochs} epochs, batch {config.batch_size}, seed {config.seed}")
        if resuming:
            print(f"resuming {config.resume} after epoch {done}")
    saved_epochs: list[int] = []
    recipe = {f.name: _plain(getattr(config, f.name)) for f in fields(TrainConfig)
              if f.name not in ("resume", "quiet", "overwrite")}

    def save_checkpoint(state: dict) -> None:
        checkpoint.save_model(out / CHECKPOINT_FILE, model, metadata={"data": config.data, "seed": config.seed},
                              training=dict(state, config=recipe))
        saved_epochs.append(state["epoch"])

    try:
        with _refused_as_usage_errors():  # a checkpoint that does not fit this run, named
            history = training.fit(model, data, optimizer=optimizer, epochs=config.epochs,
                                   batch_size=config.batch_size, seed=config.seed, augment=augmentation,
                                   progress=not config.quiet, checkpoint=save_checkpoint, resume=config.resume,
                                   skip_zero_terms=config.skip_zero_terms)
    except KeyboardInterrupt:
        if saved_epochs:
            print(f"{PROG}: the run is saved after epoch {saved_epochs[-1]}; continue it with: "
                  f"{PROG} train --resume {out / CHECKPOINT_FILE}", file=sys.stderr)
        raise
    if history.epochs and not config.quiet:
        print(_epoch_table(history))
    appeared = [name for name in _earlier_run(out) if name not in earlier and name != CHECKPOINT_FILE]
    if not config.overwrite and appeared:  # another process wrote there while we trained
        raise CliError(f"{out} got an earlier run's files while this one trained "
                       f"({', '.join(appeared)}); nothing written, rerun with --out DIR")
    written = [CHECKPOINT_FILE] if saved_epochs else []
    if history.epochs:
        (out / "history.json").write_text(json.dumps(history.as_dict(), indent=1) + "\n")
        written.append("history.json")
        try:
            plot_history(history, out / "curves.png", title=f"{data.name}, {config.engine} {config.model}")
            written.append("curves.png")
        except ImportError as missing:
            print(f"note: {missing}; curves.png not written", file=sys.stderr)
    if history.stopped:
        _remove_stale(out, earlier, written)
        print(f"{PROG}: {history.stopped}; model not saved", file=sys.stderr)
        return 1
    final = history.final
    metadata = {
        "data": config.data, "seed": config.seed, "input_scale": config.input_scale,
        "input_shift": config.input_shift, "optimizer": config.optimizer, "lr": config.lr,
        "epochs": config.epochs, "batch_size": config.batch_size, "weight_decay": config.weight_decay,
        "schedule": config.schedule, "augment": config.augment, "test_acc": final.test_acc,
        "split": split_record(config.data, config.seed),
    }
    checkpoint.save_model(out / "model.npz", model, metadata=metadata)
    written.insert(0, "model.npz")
    if CHECKPOINT_FILE in written:  # the run is complete: nothing left to resume
        written.remove(CHECKPOINT_FILE)
    (out / CHECKPOINT_FILE).unlink(missing_ok=True)
    _remove_stale(out, earlier, written)
    correct = round(final.test_acc * data.num_test)
    print(f"test accuracy {100 * final.test_acc:.2f}% ({correct}/{data.num_test}) after "
          f"{len(history.epochs)} epochs in {history.seconds:.1f} s")
    if earlier:
        print(f"replaced the earlier run in {out}")
    print(f"wrote {', '.join(str(out / name) for name in written)}")
    return 0


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _resumed_config(config: TrainConfig) -> tuple[TrainConfig, int]:
    """The saved run's own config (recipe and folder) to continue ``config.resume``, and its epochs done."""
    path = Path(config.resume)
    asked = sorted(f.name for f in fields(TrainConfig)
                   if f.name not in ("resume", "quiet") and getattr(config, f.name) != f.default)
    if asked:
        flags = ", ".join("--" + name.replace("_", "-") for name in asked)
        raise CliError(f"--resume continues the saved run with its own recipe and folder; drop {flags} "
                       "(or train a new run without --resume)")
    if path.name != CHECKPOINT_FILE and path.is_dir():
        raise CliError(f"--resume {path} is a folder; give the {CHECKPOINT_FILE} inside it")
    _, state = checkpoint.load_checkpoint(path)  # missing, a finished run's model, damaged: one line each
    saved, done = state.get("config"), state.get("epoch")
    known = {f.name for f in fields(TrainConfig)}
    if not isinstance(saved, dict) or not set(saved) <= known or type(done) is not int:
        raise CliError(f"{path}: its training state holds no microgradx train recipe (was it written by "
                       "fit(checkpoint=...)? then continue it with fit(resume=...) in Python)")
    try:
        resumed = TrainConfig(**dict(saved, hidden=tuple(saved.get("hidden") or ()), out=str(path.parent),
                                     resume=str(path), quiet=config.quiet))
    except TypeError:
        raise CliError(f"{path}: its saved recipe is malformed; the file is corrupted") from None
    if done >= (resumed.epochs or 0):
        raise CliError(f"{path}: the run already trained all its {done} epochs; there is nothing to resume "
                       f"(its model is {path.parent / 'model.npz'} if it was saved; train a new run to go on)")
    return resumed, done


def _earlier_run(out: Path) -> list[str]:
    """The files of an earlier training run in folder ``out``."""
    return [name for name in RUN_FILES if (out / name).exists()]


def _remove_stale(out: Path, earlier: list[str], written: list[str]) -> None:
    """With --overwrite, drop the earlier run's files this run did not rewrite (one run per folder)."""
    for name in earlier:
        if name not in written:
            (out / name).unlink(missing_ok=True)


def _prepare_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out} is a file; give a folder to write the run into")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CliError(f"cannot create output folder {out}: {error.strerror or error}") from None


def _epoch_table(history: Any) -> str:
    lines = ["epoch  train loss  train acc  test acc  seconds"]
    for r in history.epochs:
        lines.append(f"{r.epoch:5d}  {r.train_loss:10.4f}  {r.train_acc:9.4f}  {r.test_acc:8.4f}  "
                     f"{r.seconds:7.2f}")
    return "\n".join(lines)


def _eval(config: EvalConfig) -> int:
    path = Path(config.model_file)
    model = _load_model(path)
    meta = getattr(model, "checkpoint_metadata", {})
    meta = meta if isinstance(meta, dict) else {}
    trained_on = meta.get("data")
    name = config.data or trained_on
    if name is None:
        raise CliError(f"{path} does not say which data it was trained on; pass --data")
    if not isinstance(name, str) or name not in DATASETS:
        raise CliError(f"{path} was trained on unknown data set {name!r}; pass --data")
    trained_seed = _metadata_number(path, meta, "seed", 0, int)
    seed = config.seed if config.seed is not None else trained_seed
    trained_split = meta.get("split")
    if not isinstance(trained_split, dict) and isinstance(trained_on, str) and trained_on in DATASETS:
        trained_split = split_record(trained_on, trained_seed)  # files from before the split was recorded
    requested = split_record(name, seed)
    if isinstance(trained_split, dict) and split_overlaps(trained_split, requested):
        if not config.allow_other_split:
            raise CliError(f"{path} was trained on the {name} split of {_describe_split(trained_split)}; "
                           f"the split of --seed {seed} puts some of its training examples into the "
                           "test set, which would inflate the accuracy; drop --seed, or pass "
                           "--allow-other-split to evaluate anyway")
        print(f"note: the test set of --seed {seed} overlaps the training data of {path}, split of "
              f"{_describe_split(trained_split)}; the accuracy is not a held-out one", file=sys.stderr)
    described = checkpoint.describe_model(model)
    if name == trained_on:
        scale = _metadata_number(path, meta, "input_scale", 1.0, float)
        shift = _metadata_number(path, meta, "input_shift", 0.0, float)
    else:
        recipe = recipe_for(described["kind"], name)
        scale, shift = recipe.input_scale, recipe.input_shift
    with _refused_as_usage_errors():
        data = scaled_data(load_dataset(name, seed=seed, mnist_dir=config.mnist_dir), scale, shift)
    entry = MODELS.get(described["kind"])  # None: a model registered with the model files only
    nin = entry.input_width(described["arch"]) if entry is not None else None
    if nin is not None and nin != data.num_features:
        raise CliError(f"{path} takes {nin} inputs but {name} has {data.num_features} features; "
                       "pass the --data it was trained on")
    nout = entry.output_width(described["arch"]) if entry is not None else None
    if nout is not None and nout != data.num_classes:
        raise CliError(f"{path} has {nout} outputs but {name} has {data.num_classes} classes; "
                       "pass the --data it was trained on")
    metrics = training.evaluate(model, data.x_test, data.y_test)
    correct = round(metrics.accuracy * data.num_test)
    print(f"{path}: test accuracy {100 * metrics.accuracy:.2f}% ({correct}/{data.num_test}) on "
          f"{name}, loss {metrics.loss:.4f}")
    return 0


def _load_model(path: Path) -> Any:
    """``checkpoint.load_model``, with whatever a damaged file trips below it as a CliError.

    A file is untrusted input: zipfile and NumPy raise many kinds of errors on
    bytes they cannot read, and each of them means the file is bad.
    """
    try:
        return checkpoint.load_model(path)
    except (CheckpointError, OSError):
        raise
    except Exception as error:  # noqa: BLE001 - the boundary to an untrusted file
        detail = (str(error).strip().splitlines() or [""])[0][:120]
        raise CliError(f"{path}: model file is truncated or corrupted ({type(error).__name__}"
                       f"{': ' + detail if detail else ''})") from None


def _metadata_number(path: Path, meta: dict, key: str, default: Any, kind: type) -> Any:
    value = meta.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or (kind is int and (value != int(value) or value < 0)):
        raise CliError(f"{path}: metadata {key} = {value!r} is not a {'seed' if kind is int else 'number'}; "
                       "the file is corrupted")
    return kind(value)


def _describe_split(split: dict) -> str:
    fraction = split.get("test_fraction")
    return f"seed {split.get('seed')}" + (f" (test fraction {fraction:g})" if fraction is not None else "")


def _graph(config: GraphConfig) -> int:
    from .expr import differentiate, parse_assignment

    variables: dict[str, float] = {}
    for text in config.variables:
        name, value = parse_assignment(text)
        if name in variables:
            raise CliError(f"variable {name} is given twice")
        variables[name] = value
    output = Path(config.output) if config.output else None
    fmt = None
    if output is not None:
        fmt = output.suffix.lower().lstrip(".")
        if fmt not in ("svg", "png", "pdf", "dot"):
            raise CliError(f"cannot tell the drawing format from {output.name!r}; end it in .svg, "
                           ".png, .pdf or .dot")
    out, leaves = differentiate(config.expression, variables)
    drawing = _render(out, output, fmt, config.rankdir) if output is not None else None
    print(f"f = {config.expression.strip()} = {out.data:.6g}")
    for name, leaf in leaves.items():
        print(f"df/d{name} = {leaf.grad:.6g}")
    if output is not None:
        output.write_bytes(drawing)
        print(f"wrote {output}")
    return 0


#: Most boxes a drawing of an expression may have (past it, graphviz layouts get slow and unreadable).
MAX_DRAWN_BOXES = 500


def _render(root: Any, output: Path, fmt: str, rankdir: str) -> bytes:
    """The drawing's bytes, made before anything is printed so a failure leaves no half output."""
    import graphviz

    from .viz import GraphTooLargeError, GraphvizNotInstalledError, draw_dot

    try:
        graph = draw_dot(root, rankdir=rankdir, max_nodes=MAX_DRAWN_BOXES)
    except GraphTooLargeError:
        raise CliError(f"cannot draw {output.name}: the expression's graph has more than "
                       f"{MAX_DRAWN_BOXES} boxes; draw a shorter expression, or leave out -o to "
                       "print the gradients only") from None
    if fmt == "dot":
        content = graph.source.encode("utf-8")
    else:
        try:
            content = graph.pipe(format=fmt)
        except (graphviz.ExecutableNotFound, GraphvizNotInstalledError):
            raise CliError(f"drawing {output.name} needs the graphviz 'dot' program (apt-get install "
                           "graphviz, brew install graphviz); or write a .dot file instead") from None
    if not output.parent.is_dir():
        raise CliError(f"cannot write {output}: folder {output.parent} does not exist")
    return content


# ---------------------------------------------------------------------------
# Entry point.
# ---------------------------------------------------------------------------

def _expression_may_start_with_minus(argv: list[str]) -> list[str]:
    """``argv`` with a graph expression such as ``-x*2`` marked as the positional it is.

    argparse reads every word starting with '-' as an option.  In ``graph``, the
    first word in the expression's place that is none of graph's options is the
    expression: it gets a leading space (argparse then sees a positional; the
    expression parser strips it).  ``graph -- EXPR`` works as usual.
    """
    command = next((i for i, word in enumerate(argv) if not word.startswith("-")), None)
    if command is None or argv[command] != "graph":
        return argv
    long_options = [o for o in (*_GRAPH_VALUE_OPTIONS, *_GRAPH_FLAGS) if o.startswith("--")]
    takes_value = False
    for i in range(command + 1, len(argv)):
        word = argv[i]
        if takes_value:
            takes_value = False
        elif word == "--" or not word.startswith("-"):
            break  # the expression is this word, or after "--": argparse handles both
        elif word in _GRAPH_VALUE_OPTIONS:
            takes_value = True
        elif word.startswith("--"):
            name, has_value, _ = word.partition("=")
            matches = [o for o in long_options if o.startswith(name)]
            if not matches:
                argv[i] = " " + word  # e.g. "--x", minus minus x
                break
            takes_value = not has_value and matches[0] in _GRAPH_VALUE_OPTIONS
        elif word in _GRAPH_FLAGS or word.startswith("-o"):  # -o FILE written as -oFILE
            continue
        else:
            argv[i] = " " + word
            break
    return argv


_EXPECTED = (CliError, CheckpointError, ExpressionError, DataFormatError)


def _config(args: argparse.Namespace) -> Any:
    """The command's config dataclass from the parsed flags; a flag not given keeps the config's default."""
    given = {}
    for field in fields(args.config_class):
        value = getattr(args, field.name, None)
        if value is not None:
            given[field.name] = tuple(value) if isinstance(value, list) else value
    return args.config_class(**given)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    argv = _expression_may_start_with_minus(list(sys.argv[1:] if argv is None else argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, usage errors: argparse has printed them
        return int(exit_.code or 0)
    try:
        return int(args.run(_config(args)))
    except _EXPECTED as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (microgradx ... | head): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the flush at exit does not complain again
        return 141
    except OSError as error:
        where = f" {error.filename}" if getattr(error, "filename", None) else ""
        print(f"{PROG}: error:{where} {error.strerror or error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
