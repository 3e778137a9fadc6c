"""Every French word list and rule in one place: weak words and line-break words, elisions,
typography (non-breaking spaces), disfluencies, keyword matching. Pure; used by captions, clip
selection, chapters and metadata.
"""

from __future__ import annotations

import re
import unicodedata

from touktouk.types import Word

NBSP = "\u00a0"
NARROW_NBSP = "\u202f"

# Words that must not end a line (or an event): articles, determiners, subject pronouns,
# clitics that bind to the following verb, elided forms.
WEAK = frozenset(
    {
        "le", "la", "les", "l'", "un", "une", "des", "du", "de", "d'", "au", "aux",
        "mon", "ma", "mes", "ton", "ta", "tes", "son", "sa", "ses", "notre", "nos", "votre", "vos", "leur", "leurs",
        "ce", "cet", "cette", "ces", "quel", "quelle", "quels", "quelles", "chaque", "plusieurs", "certains",
        "certaines", "je", "j'", "tu", "il", "elle", "on", "nous", "vous", "ils", "elles", "c'", "qu'", "ça",
        "ne", "n'", "se", "s'", "me", "m'", "te", "t'", "y",
    }
)  # fmt: skip
# Break before these (conjunctions and prepositions); ending a line with them is poor.
BREAK_BEFORE = frozenset(
    {
        "et", "ou", "mais", "donc", "car", "que", "qui", "de", "à", "pour", "dans", "sur", "avec", "par", "en",
        "sans", "vers", "chez", "parce", "puis",
    }
)  # fmt: skip
# Clitics and verbs that belong to the previous word's group: avoid breaking before them.
CLITIC = frozenset({"se", "s'", "ne", "n'", "me", "m'", "te", "t'", "y", "lui", "leur"})
AUXILIARY = frozenset(
    {
        "a", "ai", "as", "avons", "avez", "ont", "est", "es", "sont", "suis", "sommes", "êtes", "été", "être",
        "avoir", "va", "vais",
    }
)  # fmt: skip
LINE_END_PUNCT = tuple(",;:.!?…»)")
OPENING_ONLY = re.compile(r"^[«“\"(\[]+$")
CLOSING_ONLY = re.compile(r"^[,.;:!?…»”\")\]%]+$")
APOSTROPHES = str.maketrans({"’": "'"})

_SPACE_BEFORE_HIGH_PUNCT = re.compile(r"[ \t]+([?!:;%])")
_GLUED_HIGH_PUNCT = re.compile(r"(?<=[^\s\u00a0\u202f?!:;])([?!:;])")
_SPACE_BEFORE_LOW_PUNCT = re.compile(r"[ \t]+([,.…)\]])")
_AFTER_OPEN_GUILLEMET = re.compile(r"«[ \t\u00a0\u202f]*")
_BEFORE_CLOSE_GUILLEMET = re.compile(r"[ \t\u00a0\u202f]*»")


def french_typography(text: str) -> str:
    """Non-breaking space before ? ! : ; % and inside « », never doubled; none before , ."""
    text = _SPACE_BEFORE_LOW_PUNCT.sub(r"\1", text)
    text = _SPACE_BEFORE_HIGH_PUNCT.sub(NBSP + r"\1", text)

    def glue(m: re.Match[str]) -> str:
        s, i = m.string, m.start()
        # Leave clock times (14:30), URLs (https://) and ratios alone.
        if m.group(1) == ":" and (
            (i > 0 and s[i - 1].isdigit() and s[i + 1 : i + 2].isdigit()) or s[i + 1 : i + 3] == "//"
        ):
            return m.group(1)
        return NBSP + m.group(1)

    text = _GLUED_HIGH_PUNCT.sub(glue, text)
    text = _AFTER_OPEN_GUILLEMET.sub("«" + NBSP, text)
    text = _BEFORE_CLOSE_GUILLEMET.sub(NBSP + "»", text)
    return text


def word_key(text: str) -> str:
    return text.translate(APOSTROPHES).lstrip('«“"([' + NBSP).lower()


def is_weak(text: str) -> bool:
    return word_key(text) in WEAK or bool(OPENING_ONLY.match(text))


# French disfluencies that condensed captions may leave out (SPECS.md: reading speed first).
DISFLUENCIES = frozenset({"euh", "heu", "euhm", "hum", "hm", "ben", "bah", "beh", "hein"})
# Repeated words never dropped: "nous nous sommes", "vous vous êtes" are grammatical.
KEEP_REPEATED = frozenset({"nous", "vous", "que", "si"})
_WORD_KEY = re.compile(r"[^\w']+")


def bare_word(text: str) -> str:
    return _WORD_KEY.sub("", text.translate(APOSTROPHES)).lower()


ELISION = re.compile(r"^(?:jusqu|lorsqu|puisqu|quoiqu|qu|[ldjmnstc])'", re.IGNORECASE)


def keyword_key(text: str) -> str:
    """A word as keywords are matched: no case, accents, elided article (l', d', qu') or
    punctuation; a hashtag's # is ignored."""
    text = text.translate(APOSTROPHES).strip()
    text = ELISION.sub("", text.lstrip('#«“"(['))
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return re.sub(r"[^\w]+", "", text).casefold()


def merge_elisions(words: list[Word]) -> list[Word]:
    """Join Whisper tokens that carry no leading space (French elisions: ' d' + "'être").

    Input words keep the raw text with its leading space; output words are stripped.
    """
    merged: list[Word] = []
    for w in words:
        raw = w.text
        if merged and raw and not raw[0].isspace() and (raw[0] in "'’-" or merged[-1].text[-1:] in "'’"):
            prev = merged[-1]
            merged[-1] = Word(prev.start, w.end, prev.text + raw.strip(), min(prev.probability, w.probability))
        elif merged and raw and not raw[0].isspace() and raw.strip() and raw.strip()[0] in ",.;:!?…»)":
            prev = merged[-1]
            merged[-1] = Word(prev.start, max(prev.end, w.end), prev.text + raw.strip(), prev.probability)
        elif raw.strip():
            merged.append(Word(w.start, w.end, raw.strip(), w.probability))
    return merged


FILLERS = frozenset({"euh", "heu", "hum", "ben", "bah", "hein", "voilà", "bref", "du coup"})
# Words that make a first sentence lean on what came before it.
CONNECTIVES = frozenset(
    {"et", "mais", "donc", "alors", "puis", "ou", "car", "sinon", "ensuite", "enfin", "bon", "oui", "non", "aussi"}
    | {"comme", "parce que", "en fait", "par contre", "en plus", "du coup", "c'est pour ça", "voilà"}
)

# Words a chapter title leaves out at its start (it should read as a topic, not a reply).
TITLE_LEADS = ("et ", "mais ", "donc ", "alors ", "puis ", "bon ", "enfin ", "du coup ", "en fait ", "oui ", "non ")

# Prepositions before a noun phrase (platform texts: "nous parle de {cause}").
_CONTRACTED = {("de", "le"): "du", ("de", "les"): "des", ("de", "des"): "de", ("à", "le"): "au", ("à", "les"): "aux"}
_LEADING_ARTICLE = re.compile(r"(les|le|des)\s+")  # lower case only: "Les Voix du Terrain" is a name
_COORDINATED = re.compile(r"\s+(et|ou)\s+(?=(?:la|le|les|des|un|une)\s|l['’])")
_VOWEL_START = re.compile(r"[aeiouyàâäéèêëîïôöùûüœæ]", re.IGNORECASE)


def _preposition_before(prep: str, phrase: str) -> str:
    m = _LEADING_ARTICLE.match(phrase)
    contracted = _CONTRACTED.get((prep.lower(), m.group(1))) if m else None
    if m and contracted is not None:
        head = contracted.capitalize() if prep[:1].isupper() else contracted
        return f"{head} {phrase[m.end() :]}"
    if prep.lower() == "de" and _VOWEL_START.match(phrase):
        return prep[0] + "'" + phrase
    return f"{prep} {phrase}"


def with_preposition(prep: str, phrase: str) -> str:
    """'de' or 'à' before a noun phrase as French writes it: contracted with the article
    ('de' + 'le réemploi' -> 'du réemploi', 'à' + 'les' -> 'aux'), 'de' elided before a vowel
    ("d'Awa"), and repeated before each noun phrase that 'et' / 'ou' joins ('de' + "le réemploi
    et l'insertion" -> "du réemploi et de l'insertion"). Capitalised articles are left alone:
    they belong to a name ("de Les Voix du Terrain")."""
    parts = _COORDINATED.split(phrase)
    out = _preposition_before(prep, parts[0])
    for conj, part in zip(parts[1::2], parts[2::2], strict=True):
        out += f" {conj} {_preposition_before(prep.lower(), part)}"
    return out
