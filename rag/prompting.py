"""Prompt templates: files in ``prompts/``, loaded by name, their variables checked.

A template is a text file with ``{name}`` variables (``{{`` and ``}}`` for literal
braces). A user folder (setting ``prompts_dir``, ``RAG_PROMPTS_DIR``) overrides any
template by holding a file of the same name. Each known template declares the
variables it needs: a template that lacks one, or a render call that does not
supply one, is an error naming it, never a prompt with a hole in it.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from index.errors import ConfigError

BUILTIN_DIR = Path(__file__).resolve().parents[1] / "prompts"

ANSWER = "answer_with_citations"
CONDENSE = "condense_follow_up"
NO_ANSWER = "no_answer"

# template name -> variables it must contain
REQUIRED: dict[str, frozenset[str]] = {
    ANSWER: frozenset({"sources", "question"}),
    CONDENSE: frozenset({"history", "question"}),
    NO_ANSWER: frozenset(),
}


def template_fields(text: str) -> list[str]:
    """The ``{name}`` variables of a template, in order (pure)."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(f"malformed variable ({exc}); write literal braces as {{{{ and }}}}") from None
    out: list[str] = []
    for _, name, _, _ in parsed:
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(f"variable {{{name}}} is not a plain name")
        if name not in out:
            out.append(name)
    return out


@dataclass(frozen=True)
class Prompt:
    """One loaded template.

    >>> p = Prompt("greet", "Hello {who}", "greet.txt")
    >>> p.render(who="you")
    'Hello you'
    """

    name: str
    text: str
    path: str

    @property
    def fields(self) -> list[str]:
        return template_fields(self.text)

    def render(self, **values: object) -> str:
        """Fill every variable; a missing value is a ``ConfigError`` naming it."""
        missing = [f for f in self.fields if f not in values]
        if missing:
            raise ConfigError(
                f"prompt {self.name!r} ({self.path}) needs the variable(s) {', '.join(missing)}, "
                "which were not supplied"
            )
        return self.text.format(**{f: values[f] for f in self.fields})


def _read(name: str, path: Path) -> Prompt:
    text = path.read_text(encoding="utf-8")
    try:
        fields = template_fields(text)
    except ValueError as exc:
        raise ConfigError(f"prompt {name!r} ({path}): {exc}") from None
    missing = sorted(REQUIRED.get(name, frozenset()) - set(fields))
    if missing:
        raise ConfigError(
            f"prompt {name!r} ({path}) lacks the variable(s) "
            + ", ".join("{" + m + "}" for m in missing)
            + "; add them to the file or remove it from the prompts folder (RAG_PROMPTS_DIR)"
        )
    return Prompt(name, text, str(path))


@lru_cache(maxsize=64)
def _load_cached(name: str, user_dir: str, mtime_ns: int) -> Prompt:
    del mtime_ns  # part of the cache key only: an edited file is read again
    for folder in ([Path(user_dir)] if user_dir else []) + [BUILTIN_DIR]:
        path = folder / f"{name}.txt"
        if path.is_file():
            return _read(name, path)
    known = ", ".join(sorted(p.stem for p in BUILTIN_DIR.glob("*.txt")))
    raise ConfigError(f"no prompt named {name!r} (known: {known})")


def load_prompt(name: str, user_dir: str | Path | None = None) -> Prompt:
    """The template ``name``: from ``user_dir`` when it has ``name.txt``, else built in."""
    folder = str(Path(user_dir).expanduser()) if user_dir else ""
    if folder and not Path(folder).is_dir():
        raise ConfigError(f"prompts folder {folder} does not exist; fix RAG_PROMPTS_DIR (--prompts-dir)")
    candidate = Path(folder) / f"{name}.txt" if folder else BUILTIN_DIR / f"{name}.txt"
    mtime = candidate.stat().st_mtime_ns if candidate.is_file() else 0
    return _load_cached(name, folder, mtime)


def no_answer_text(user_dir: str | Path | None = None) -> str:
    """The sentence used when the documents hold no answer."""
    return load_prompt(NO_ANSWER, user_dir).text.strip()
