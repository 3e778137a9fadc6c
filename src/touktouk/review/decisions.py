"""The decisions model: word fixes, dropped clips and clip titles, from whichever door they came
(the episode file, the series glossary, `touktouk approve`, a stored manifest), merged in one
order: glossary < stored < episode file < command line (a later title wins, drops add up)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from touktouk.config import EpisodeConfig, WordFix
from touktouk.errors import ConfigError
from touktouk.types import ClipPlan, Transcript


@dataclass(frozen=True)
class Decisions:
    fixes: tuple[WordFix, ...] = ()
    drop: tuple[str, ...] = ()
    titles: Mapping[str, str] = field(default_factory=dict)
    # What a producer typed must match: these fixes some words, these ids a clip. Glossary and
    # stored decisions may match nothing (a clip dropped long ago, a name not said this time).
    strict_fixes: tuple[WordFix, ...] = ()
    strict_ids: tuple[str, ...] = ()

    def merged(self, later: Decisions) -> Decisions:
        fixes = tuple(dict.fromkeys((*self.fixes, *later.fixes)))
        return Decisions(
            fixes=fixes,
            drop=tuple(dict.fromkeys((*self.drop, *later.drop))),
            titles={**self.titles, **later.titles},
            strict_fixes=tuple(dict.fromkeys((*self.strict_fixes, *later.strict_fixes))),
            strict_ids=tuple(dict.fromkeys((*self.strict_ids, *later.strict_ids))),
        )

    def relaxed(self) -> Decisions:
        """The same decisions, none of them required to match (what a stored manifest carries)."""
        return Decisions(self.fixes, self.drop, dict(self.titles))

    @property
    def empty(self) -> bool:
        return not (self.fixes or self.drop or self.titles)

    def to_dict(self) -> dict[str, Any]:
        return {
            "fixes": [f.model_dump(mode="json", exclude_none=True) for f in self.fixes],
            "drop": list(self.drop),
            "titles": dict(self.titles),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, *, strict: bool = False) -> Decisions:
        """Decisions as `to_dict` writes them: stored ones (a manifest's or proposal's) are never
        required to match; `strict` ones (typed by a producer just now) are."""
        if not data:
            return cls()
        try:
            fixes = tuple(WordFix.model_validate(f) for f in data.get("fixes") or ())
        except ValueError as exc:
            raise ConfigError(f"a word fix is not valid ({exc}); give it as wrong and right words.") from None
        drop = tuple(str(d) for d in data.get("drop") or ())
        titles = {str(k): str(v) for k, v in (data.get("titles") or {}).items()}
        if not strict:
            return cls(fixes, drop, titles)
        return cls(fixes, drop, titles, strict_fixes=fixes, strict_ids=(*drop, *titles))


def from_episode(episode: EpisodeConfig) -> Decisions:
    ids = (*episode.drop, *episode.titles)
    return Decisions(episode.fixes, episode.drop, dict(episode.titles), strict_fixes=episode.fixes, strict_ids=ids)


def from_glossary(glossary: Sequence[WordFix]) -> Decisions:
    return Decisions(fixes=tuple(glossary))


def from_command_line(drop: Iterable[str] = (), fixes: Iterable[str] = (), titles: Iterable[str] = ()) -> Decisions:
    """`--drop ID`, `--fix WRONG=RIGHT`, `--title ID=TEXT` as decisions; a malformed one is a ConfigError."""

    def pair(text: str, option: str, example: str) -> tuple[str, str]:
        left, sep, right = text.partition("=")
        if not sep or not left.strip() or not right.strip():
            raise ConfigError(f"{option} {text!r} needs the form {example}.")
        return left.strip(), right.strip()

    parsed = tuple(
        WordFix(wrong=w, right=r) for w, r in (pair(f, "--fix", "WRONG=RIGHT, e.g. 'Tuk Tuk=ToukTouk'") for f in fixes)
    )
    named = dict(pair(t, "--title", "CLIP_ID=TEXT, e.g. 'c01m42.3s=Le mot juste'") for t in titles)
    dropped = tuple(d.strip() for d in drop)
    return Decisions(parsed, dropped, named, strict_fixes=parsed, strict_ids=(*dropped, *named))


def apply_to_plans(
    plans: Sequence[ClipPlan], decisions: Decisions, raw: Transcript, fixed: Transcript, where: str
) -> list[ClipPlan]:
    """The clips as decided: dropped ones left out, titles set, and the text of a clip whose words
    a fix changed taken from the fixed words (others keep theirs, so their files stay the same).
    A typed id that names no clip is a ConfigError listing the clip ids."""
    ids = [p.id for p in plans]
    unknown = [i for i in decisions.strict_ids if i not in ids]
    if unknown:
        raise ConfigError(
            f"{where}: no clip {', '.join(repr(i) for i in unknown)} in this episode; its clips are "
            f"{', '.join(ids) or 'none'} (see the review page)."
        )
    out = []
    for p in plans:
        if p.id in decisions.drop:
            continue
        before, after = raw.words_between(p.start, p.end), fixed.words_between(p.start, p.end)
        text = p.text if before == after else " ".join(w.text for w in after)
        out.append(replace(p, title=decisions.titles.get(p.id, p.title), text=text))
    return out
