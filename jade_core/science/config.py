"""Run configuration: the named profiles and the checks on every parameter.

Every choice the paper leaves open lives here, with the reason next to it, and
is written into each run folder (``config.json``) so a number can be traced to
the configuration that produced it.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

VARIANTS = ("single", "paired", "jade")
PROTOCOLS = ("local", "paper")
PRECISIONS = ("fp32", "bf16")
REC_REDUCTIONS = ("sum", "mean")
OPTIMIZERS = ("adam", "adamw")
LR_SCHEDULES = ("constant", "onecycle")


class JadeError(ValueError):
    """A mistake the user can fix (a parameter, the data, a run folder): one message that names the
    problem and the fix. The command line prints it as one line, without a traceback."""


class ConfigError(JadeError):
    """A parameter is wrong. The message names it, what it accepts, and the fix."""


class DataError(JadeError):
    """The data is missing or malformed. The message says what to do."""


@dataclass
class RunConfig:
    """The resolved parameters of one training run (one variant, one seed)."""

    variant: str = "jade"            # single | paired | jade (Section 3)
    protocol: str = "local"          # paper: labels from SVHN train; local: the fixed cut of ../shared/data/README.md
    seed: int = 0                    # chooses the labelled pool, initial weights, batches, dropout
    profile: str = "paper"           # smoke | paper: the named defaults below
    epochs: int = 150                # passes over the labelled SVHN pool (re-chosen on the development part,
                                     # search seeds 100-102, by the length rule: book, tuning)
    batch_size: int = 64             # SVHN images per step (paper silent)
    mnist_batch_size: int = 64       # MNIST images per step, class-matched to the SVHN batch (paper silent;
                                     # chosen on the development part, search seeds 100-102: book, tuning)
    lr: float = 1e-3                 # Adam learning rate (paper silent; set by hand, never searched: book, tuning)
    weight_decay: float = 0.0        # none: the paper names only dropout as regulariser
    labels_per_class: int = 100      # paper: 100 per class = 1,000 labelled SVHN images
    val_per_class: int = 50          # validation images per class from outside the pool (local: development part);
                                     # extra labelled data used only for choices. 50: the rarest digit has 53 left
    mnist_train_size: Optional[int] = 45000  # paper: 45K MNIST training images; the other 15K validate
    mnist_val_size: Optional[int] = 15000    # MNIST validation images (from the 15K left over)
    mnist_test_size: Optional[int] = None    # None = the whole MNIST test set (10,000)
    eval_size: Optional[int] = None          # None = every SVHN evaluation image of the protocol
    svhn_sigma: float = 0.1          # std of the Gaussian likelihood p(x|z1,z2) on [0,1] pixels (paper silent)
    rec_reduction: str = "sum"       # log p(x|z) summed over pixels (a proper likelihood) or "mean" per pixel
    w_rec: float = 1.0               # weights of the terms of Eq. 2; the paper has none, so 1 ...
    w_cls: float = 100000.0          # ... except the classification term of JADE: with 1 the classifier barely
                                     # learns (reconstruction is ~3,000 nats); chosen on the development part,
                                     # search seeds 100-102 (sweeps/settings-search.yml; book: tuning)
    w_kl: float = 1.0
    w_match: float = 100.0           # chosen on the development part by the declared rule, search seeds 100-102
                                     # (book: tuning; jade_core/experiments/selection.py); every dose: book, matching
    w_match_warmup: int = 50         # >0: w_match ramps up linearly over this many epochs (0: constant);
                                     # chosen on the search seeds (sweeps/warmup-search.yml); the studies made
                                     # before it was applied pin 0 in their sweep files
    restart_epoch: int = 30          # plateau rule: after this epoch, a run whose mean SVHN training cross-entropy
    max_restarts: int = 3            # is still >= 0.9 ln 10 restarts from the next initialisation (at most this often);
                                     # healthy runs leave the plateau by epoch 11-16 (old-cut training curves)
    # The training recipe. The defaults are the paper's plain recipe (no augmentation, Adam, constant
    # learning rate); the tuned recipe of the Table 1 chapter sets these: hand-set candidates, one chosen on
    # validation (sweeps/recipe-remake-search.yml, selection.choose_recipe). Augmentation touches the SVHN batch only.
    optimizer: str = "adam"          # adam | adamw (decoupled weight decay)
    lr_schedule: str = "constant"    # constant | onecycle (warm-up to lr, then cosine decay, over the whole run)
    aug_shift: int = 0               # random translation of SVHN images by up to this many pixels (edges repeated)
    aug_invert: float = 0.0          # probability of inverting an SVHN image's colours (1 - x)
    aug_contrast: float = 0.0        # contrast jitter: each image scaled about its mean by U(1 - a, 1 + a)
    aug_cutout: int = 0              # side of a grey square blanked at a random place (0: none)
    label_smoothing: float = 0.0     # of every cross-entropy (SVHN and MNIST, all variants)
    threads: int = 1                 # torch CPU threads; part of the result (reduction order), so recorded
    precision: str = "fp32"          # fp32: fast on every CPU (bf16 autocast is 10-18x slower without bf16
                                     # hardware; benchmarks/precision.py). bf16: opt-in for AMX CPUs and GPUs
    channels_last: bool = True       # memory format of the conv nets (faster with oneDNN in fp32 and bf16)
    eval_every: int = 5              # epochs between validation evaluations on the learning curve
    data_dir: Optional[str] = None   # mirror or torchvision root; default $JADE_DATA_DIR, else ./data
    download: bool = False           # let torchvision download official files (needs internet)
    device: str = "cpu"              # cpu | cuda
    output_dir: str = "results"      # runs go to <output_dir>/runs/<variant>/<protocol>-seed<k>/

    # keys that do not change the numbers a run produces: a finished run is
    # reused whatever they are.
    NON_SEMANTIC = ("data_dir", "download", "device", "output_dir", "profile")
    # keys a variant never reads: a single classifier's result does not depend
    # on JADE's loss weights, so changing them does not invalidate its runs.
    UNUSED = {
        "single": ("mnist_batch_size", "mnist_train_size", "mnist_val_size", "mnist_test_size", "svhn_sigma",
                   "rec_reduction", "w_rec", "w_cls", "w_kl", "w_match", "w_match_warmup"),
        "paired": ("svhn_sigma", "rec_reduction", "w_rec", "w_cls", "w_kl", "w_match", "w_match_warmup"),
        "jade": (),
    }

    # a field whose default changed after runs were saved without it: the value those runs had in effect (a
    # run saved before w_match_warmup existed warmed nothing up), used where a saved configuration lacks the key
    WHEN_ADDED = {"w_match_warmup": 0}

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def defaults(cls) -> dict:
        """Every field's default: the value a run saved before a field existed had, in effect, but for a field
        whose default changed since (:attr:`WHEN_ADDED`)."""
        return {f.name: f.default for f in dataclasses.fields(cls)}

    def semantic(self) -> dict:
        """The parameters that determine the result (used to decide reuse)."""
        skip = set(self.NON_SEMANTIC) | set(self.UNUSED.get(self.variant, ()))
        return {k: v for k, v in self.to_dict().items() if k not in skip}

    @property
    def run_name(self) -> str:
        """The run folder's name: protocol, a tag for every field that changes the result and differs
        from the profile's default (:data:`NAME_TAGS`, in field order), and the seed, e.g.
        ``local-seed3``, ``local-wm0-seed0``, ``local-ep1500-l10-seed2``. Two configurations that can
        give different results never share a name; a field added later, at its default, adds no tag."""
        base = {**RunConfig.defaults(), **PROFILES.get(self.profile, {})}
        skip = {"variant", "protocol", "seed", *self.NON_SEMANTIC, *self.UNUSED.get(self.variant, ())}
        tags = [name_tag(f.name, getattr(self, f.name)) for f in dataclasses.fields(self)
                if f.name not in skip and getattr(self, f.name) != base[f.name]]
        return "-".join([self.protocol, *tags, f"seed{self.seed}"])

    @property
    def steps_per_epoch(self) -> int:
        """Optimisation steps per pass over the labelled pool of 10 x ``labels_per_class`` images
        (the last batch may be short)."""
        return -(-10 * self.labels_per_class // self.batch_size)

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / "runs" / self.variant / self.run_name


# Short tags of the fields in run-folder names (RunConfig.run_name); "" = the value alone
# (``adamw``, ``onecycle``, ``fp32``). A field missing here is tagged with its full name.
NAME_TAGS = {"epochs": "ep", "batch_size": "bs", "mnist_batch_size": "mbs", "lr": "lr", "weight_decay": "wd",
             "labels_per_class": "l", "val_per_class": "val", "mnist_train_size": "mtrain",
             "mnist_val_size": "mval", "mnist_test_size": "mtest", "eval_size": "eval", "svhn_sigma": "sigma",
             "rec_reduction": "rec", "w_rec": "wrec", "w_cls": "wcls", "w_kl": "wkl", "w_match": "wm",
             "w_match_warmup": "wmwarm", "restart_epoch": "restart", "max_restarts": "maxrestarts",
             "optimizer": "", "lr_schedule": "", "aug_shift": "shift", "aug_invert": "invert",
             "aug_contrast": "contrast", "aug_cutout": "cutout", "label_smoothing": "ls", "threads": "threads",
             "precision": "", "channels_last": "channelslast", "eval_every": "evalevery"}


def name_tag(field: str, value) -> str:
    """One field's tag in a run-folder name: ``wm`` + ``300`` -> ``wm300``; ``lr`` + 0.003 -> ``lr0.003``."""
    if isinstance(value, bool):
        text = str(int(value))
    elif isinstance(value, float):
        text = format(value, "g")
    elif value is None:
        text = "all"
    else:
        text = str(value)
    return NAME_TAGS.get(field, field) + text


# Named profiles. ``smoke`` runs in seconds on tiny data (tests, CI); ``paper``
# is the real experiment. Smoke runs write to their own folder so they never
# touch committed paper runs.
PROFILES = {
    "smoke": dict(
        epochs=2, labels_per_class=5, val_per_class=5, mnist_train_size=600, mnist_val_size=300,
        mnist_test_size=500, eval_size=400, batch_size=25, mnist_batch_size=25,
        eval_every=1, output_dir="_build/smoke-results",
    ),
    # The paper profile is the defaults above: Table 1 and its ablation are made with them (sweeps/table1.yml).
    "paper": dict(),
}


def default_data_dir() -> str:
    return os.environ.get("JADE_DATA_DIR") or "data"


def _check_int(name, value, minimum, allow_none=False, maximum=None):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r} ({type(value).__name__}).")
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}. Pass a value of at least {minimum}.")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be <= {maximum}, got {value}. Pass a smaller value.")


def validate(cfg: RunConfig) -> RunConfig:
    """Check every parameter; raise :class:`ConfigError` naming the first bad one."""
    if cfg.variant not in VARIANTS:
        raise ConfigError(f"unknown variant {cfg.variant!r}: choose one of {', '.join(VARIANTS)}.")
    if cfg.protocol not in PROTOCOLS:
        raise ConfigError(f"unknown protocol {cfg.protocol!r}: choose one of {', '.join(PROTOCOLS)} "
                          "(local = labels from the mirror's SVHN test digits, see ../shared/data/README.md).")
    if cfg.profile not in PROFILES:
        raise ConfigError(f"unknown profile {cfg.profile!r}: choose one of {', '.join(PROFILES)}.")
    if cfg.precision not in PRECISIONS:
        raise ConfigError(f"unknown precision {cfg.precision!r}: choose one of {', '.join(PRECISIONS)}.")
    _check_int("seed", cfg.seed, 0, maximum=2**31 - 1)  # restarts add 1000 per attempt; torch takes < 2**63
    _check_int("epochs", cfg.epochs, 1)
    _check_int("batch_size", cfg.batch_size, 1)
    _check_int("mnist_batch_size", cfg.mnist_batch_size, 1)
    _check_int("labels_per_class", cfg.labels_per_class, 1)
    _check_int("val_per_class", cfg.val_per_class, 0)
    _check_int("eval_every", cfg.eval_every, 1)
    _check_int("restart_epoch", cfg.restart_epoch, 1)
    _check_int("max_restarts", cfg.max_restarts, 0)
    _check_int("threads", cfg.threads, 1)
    _check_int("w_match_warmup", cfg.w_match_warmup, 0)
    if cfg.optimizer not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {cfg.optimizer!r}: choose one of {', '.join(OPTIMIZERS)}.")
    if cfg.lr_schedule not in LR_SCHEDULES:
        raise ConfigError(f"unknown lr_schedule {cfg.lr_schedule!r}: choose one of {', '.join(LR_SCHEDULES)}.")
    _check_int("aug_shift", cfg.aug_shift, 0, maximum=8)
    _check_int("aug_cutout", cfg.aug_cutout, 0, maximum=32)
    for name, hi in (("aug_invert", 1.0), ("aug_contrast", 1.0), ("label_smoothing", 0.5)):
        v = getattr(cfg, name)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= hi:
            raise ConfigError(f"{name} must be a number in [0, {hi}], got {v!r}.")
    if cfg.rec_reduction not in REC_REDUCTIONS:
        raise ConfigError(f"unknown rec_reduction {cfg.rec_reduction!r}: choose one of {', '.join(REC_REDUCTIONS)}.")
    for name in ("mnist_train_size", "mnist_val_size", "mnist_test_size", "eval_size"):
        _check_int(name, getattr(cfg, name), 1, allow_none=True)
    for name, hi in (("lr", 10.0), ("svhn_sigma", 100.0)):
        v = getattr(cfg, name)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= hi:  # NaN fails both
            raise ConfigError(f"{name} must be a finite number in (0, {hi:g}], got {v!r}.")
    for name in ("weight_decay", "w_rec", "w_cls", "w_kl", "w_match"):
        v = getattr(cfg, name)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < float("inf"):  # NaN, inf fail
            raise ConfigError(f"{name} must be a finite number >= 0, got {v!r}.")
    if cfg.device not in ("cpu", "cuda") and not str(cfg.device).startswith("cuda:"):
        raise ConfigError(f"unknown device {cfg.device!r}: use cpu or cuda.")
    return cfg


def resolve_config(variant: str = "jade", profile: str = "paper", **overrides) -> RunConfig:
    """Profile defaults, then explicit overrides; validated.

    ``None`` overrides are ignored so a notebook or CLI can pass its optional
    arguments straight through.
    """
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)}.")
    known = {f.name for f in dataclasses.fields(RunConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(f"unknown parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}.")
    values = dict(PROFILES[profile])
    values.update({k: v for k, v in overrides.items() if v is not None})
    values.update(variant=variant, profile=profile)
    if values.get("w_match", RunConfig.w_match) == 0:
        # a ramp of a zero weight is no ramp: the run trains the same, so it has one identity (the ablation)
        values["w_match_warmup"] = 0
    if values.get("data_dir") is None:
        values["data_dir"] = default_data_dir()
    values["data_dir"] = str(values["data_dir"])
    values["output_dir"] = str(values.get("output_dir", RunConfig.output_dir))
    return validate(RunConfig(**values))
