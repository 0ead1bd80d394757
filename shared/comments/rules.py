"""The rules a new reader comment passes through, as pure functions of what the reader sent and what the store knows.

The moderation task fetches the counts (PostgreSQL, Redis) and the resolved policy and passes them in, so every
rule is tested here without a database. The first rule that fires decides, in this order:

1. ``banned-commenter``   a banned commenter                                refused
2. ``rate-commenter``     too many submissions by this commenter in the window  refused
3. ``rate-address``       ... or from this address                          refused
4. ``too-short``/``too-long``  length after normalising blanks               refused
5. ``too-many-links``     more links than the policy allows                 withheld
6. ``banned-word``        a word of the newsroom's list, in body or name    withheld
7. ``repeated-text``      the same text posted twice already in the window  withheld
8. ``spam-score``         the heuristic below at or over the threshold      withheld
9. ``first-comment``      a commenter with fewer approved comments than ``hold_first``  pending
10. ``pre-moderation``    the policy's mode is pre                          pending
11. ``post-moderation``   otherwise                                         visible

Every scan here reads hostile text: each is a plain loop, a ``str`` method, or a regex without two quantified
parts that can match the same characters (possessive where it would otherwise backtrack), so all run in
linear time; tests/unit/test_comment_rules.py checks that with adversarial inputs.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from shared.comments.tables import Mode, Status

# Kabar's default list, used when a newsroom sets none. Short on purpose: common Indonesian (and Javanese)
# insults and the gambling-spam words that flood Indonesian comment sections. Some are also plain words
# ("anjing" and "babi" are the animals, "asu" a dog in Javanese): they withhold, never reject, so a moderator
# sees the comment on pork prices, and a newsroom that covers such stories can set its own list.
DEFAULT_BANNED_WORDS: tuple[str, ...] = (
    "anjing",
    "babi",
    "bangsat",
    "bajingan",
    "keparat",
    "kampret",
    "brengsek",
    "goblok",
    "tolol",
    "kontol",
    "memek",
    "ngentot",
    "jancok",
    "asu",
    "perek",
    "lonte",
    "slot gacor",
    "judi online",
    "togel",
    "maxwin",
)

# Clitics and suffixes that glue to an insult without changing it ("anjingnya", "bangsatlah", "tololmu").
# Matching is otherwise whole-word, so "asuransi" and "perekonomian" never match "asu" and "perek".
WORD_SUFFIXES: tuple[str, ...] = ("nya", "lah", "kah", "mu", "ku")


@dataclass(frozen=True)
class Submission:
    """What the reader sent, already validated for types."""

    body: str
    author_name: str
    parent_id: int | None


@dataclass(frozen=True)
class History:
    """What the store knows about this commenter and address right now, before this submission is stored."""

    commenter_banned: bool
    commenter_approved: int  # comments of theirs a moderator approved before
    recent_by_commenter: int  # submissions in the rate window by this commenter
    recent_by_address: int  # ... by this address hash
    same_text_recent: int  # other comments in this newsroom with the same body_hash in the window


@dataclass(frozen=True)
class Policy:
    """Resolved newsroom/section/article settings."""

    mode: Mode
    banned_words: tuple[str, ...]  # the newsroom's list; the caller passes DEFAULT_BANNED_WORDS when it set none
    max_length: int = 3000
    min_length: int = 2
    max_links: int = 2
    max_per_commenter: int = 5  # per window, this submission included
    max_per_address: int = 20
    hold_first: int = 1  # the first N comments of a new commenter are held (pending)
    spam_threshold: float = 0.8


@dataclass(frozen=True)
class Decision:
    """A rule's verdict; ``refused`` means the comment is not stored and the reader gets an error."""

    status: Status
    rule: str
    refused: bool = False
    reason: str | None = None  # short, for the moderation log: never the reader's text or personal data


def moderate(submission: Submission, history: History, policy: Policy) -> Decision:
    """The decision for one submission: the first rule that fires, in the order of the module docstring."""
    if history.commenter_banned:
        return Decision(Status.REJECTED, "banned-commenter", refused=True)
    # The counts are of earlier submissions, so this one is the (count + 1)th: refuse past the maximum.
    if history.recent_by_commenter >= policy.max_per_commenter:
        return Decision(Status.REJECTED, "rate-commenter", refused=True, reason=f"max {policy.max_per_commenter}")
    if history.recent_by_address >= policy.max_per_address:
        return Decision(Status.REJECTED, "rate-address", refused=True, reason=f"max {policy.max_per_address}")
    length = len(normalise_blanks(submission.body))
    if length < policy.min_length:
        return Decision(Status.REJECTED, "too-short", refused=True, reason=f"{length} < {policy.min_length}")
    if length > policy.max_length:
        return Decision(Status.REJECTED, "too-long", refused=True, reason=f"{length} > {policy.max_length}")
    links = count_links(submission.body)
    if links > policy.max_links:
        return Decision(Status.WITHHELD, "too-many-links", reason=f"{links} links > {policy.max_links}")
    # The display name is shown beside the comment, so a name like "Slot Gacor 88" is withheld too.
    for where, text in (("body", submission.body), ("name", submission.author_name)):
        word = find_banned_word(text, policy.banned_words)
        if word is not None:
            return Decision(Status.WITHHELD, "banned-word", reason=f"{where}: {word}")
    if history.same_text_recent >= 2:
        return Decision(Status.WITHHELD, "repeated-text", reason=f"{history.same_text_recent} earlier")
    score = spam_score(submission.body)
    if score >= policy.spam_threshold:
        return Decision(Status.WITHHELD, "spam-score", reason=f"{score:.2f} >= {policy.spam_threshold:.2f}")
    if history.commenter_approved < policy.hold_first:
        return Decision(Status.PENDING, "first-comment")
    if policy.mode == Mode.PRE:
        return Decision(Status.PENDING, "pre-moderation")
    return Decision(Status.VISIBLE, "post-moderation")


# ---- normalising ---------------------------------------------------------------------------------------

# Invisible characters readers (and spammers) put inside words: soft hyphen, zero-width and direction marks.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
# Cyrillic and Greek letters that look like Latin ones, used to slip past word lists ("аnjing" with a Cyrillic а).
_HOMOGLYPHS = str.maketrans("асеіјорхуαοκν", "aceijopxyaokv")
_WORD = re.compile(r"[^\W_]++")  # letters and digits; one class, so no backtracking


def normalise_blanks(text: str) -> str:
    """The text without invisible characters, blanks collapsed to single spaces and trimmed."""
    return " ".join(_INVISIBLE.sub("", text).split())


def _fold(text: str) -> str:
    """Case-folded, without diacritics, invisible characters or look-alike letters."""
    text = _INVISIBLE.sub("", text)
    if not text.isascii():
        # NFKD sorts each run of combining marks by insertion, quadratic in a long run; the marks are dropped
        # anyway, so short slices decompose to the same letters in linear time (as shared.text does).
        text = "".join(unicodedata.normalize("NFKD", text[at : at + 64]) for at in range(0, len(text), 64))
        text = "".join(char for char in text if not unicodedata.combining(char))
    return text.casefold().translate(_HOMOGLYPHS)


def body_fingerprint(text: str) -> str:
    """The text as the repeated-text rule compares it: folded words and digits joined by single spaces."""
    words = " ".join(_WORD.findall(_fold(text)))
    # Text of only emoji or punctuation has no words: compare its blanks-normalised self instead of "".
    return words or normalise_blanks(text)


# ---- banned words ---------------------------------------------------------------------------------------

# Digits and signs for letters in "4nj1ng" or "b@bi"; "1" stands for i or l, so both are tried.
_LEET_I = str.maketrans("013456789", "oieasgtbg")
_LEET_L = str.maketrans("013456789", "oleasgtbg")
_SIGNS = str.maketrans({"@": "a", "$": "s"})
_REPEATS = re.compile(r"([^\W\d_])\1++")  # a run of one letter; possessive, and nothing else can match it


def _word_tokens(text: str) -> list[str]:
    """The words of text as the banned-word rule reads them."""
    return _word_forms(text)[0]


def _word_forms(text: str) -> tuple[list[str], list[str]]:
    """The words of text with each obfuscation undone once, and the "1 as l" readings of words with a 1.

    Letters spelled apart ("a.n.j.i.n.g", "a n j i n g") are joined, digits inside words become letters,
    and runs of one letter shrink to one ("anjiiing"); word lists are folded the same way, so "tolol" stays.
    """
    joined: list[str] = []
    letters: list[str] = []  # a run of one-character words, spelled apart
    for word in _WORD.findall(_fold(text.translate(_SIGNS))):
        if len(word) == 1:
            letters.append(word)
            continue
        if letters:
            joined.append("".join(letters))
            letters = []
        joined.append(word)
    if letters:
        joined.append("".join(letters))
    words: list[str] = []
    variants: list[str] = []  # looked up as single words only, so they never break a phrase
    for word in joined:
        if not word.isalpha() and not word.isdigit():  # letters and digits mixed: "4nj1ng", "to1o1"
            words.append(word.translate(_LEET_I))
            if "1" in word:
                variants.append(word.translate(_LEET_L))
            continue
        words.append(word)
    return _REPEATS.sub(r"\1", " ".join(words)).split(), _REPEATS.sub(r"\1", " ".join(variants)).split()


@functools.lru_cache(maxsize=128)
def _word_list(banned: tuple[str, ...]) -> tuple[dict[str, str], dict[str, list[tuple[tuple[str, ...], str]]]]:
    """A list folded once: single words (and phrases written as one word) to their entry, phrases by first word."""
    singles: dict[str, str] = {}
    phrases: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for entry in banned:
        words = tuple(_word_tokens(entry))
        if not words:
            continue
        singles.setdefault("".join(words), entry)  # "judionline" as well as "judi online"
        if len(words) > 1:
            phrases.setdefault(words[0], []).append((words, entry))
    return singles, phrases


def find_banned_word(text: str, banned: tuple[str, ...]) -> str | None:
    """The first entry of the list that text contains as whole folded words (with a common suffix), or None."""
    if not banned:
        return None
    singles, phrases = _word_list(banned)
    words, variants = _word_forms(text)
    # A dictionary lookup per word (and per phrase starting with it): linear in the text, whatever the list's size.
    for at, word in enumerate(words):
        entry = _single(word, singles)
        if entry is not None:
            return entry
        for phrase, entry in phrases.get(word, ()):
            if tuple(words[at : at + len(phrase)]) == phrase:
                return entry
    for word in variants:
        entry = _single(word, singles)
        if entry is not None:
            return entry
    return None


def _single(word: str, singles: dict[str, str]) -> str | None:
    """The entry word is, alone or with one of WORD_SUFFIXES, or None."""
    if word in singles:
        return singles[word]
    for suffix in WORD_SUFFIXES:
        if word.endswith(suffix) and word[: -len(suffix)] in singles:
            return singles[word[: -len(suffix)]]
    return None


# ---- links ------------------------------------------------------------------------------------------------

# A stretch that could hold a link: no blanks, brackets or quotes (one class, so findall is linear).
_CHUNK = re.compile(r"[^\s()<>\[\]{}\"'`,|]++")
_SCHEME = re.compile(r"https?://", re.I)
# A host: labels of letters, digits and hyphens joined by dots. Each repetition starts with a literal "."
# the label class cannot match, and both quantifiers are possessive: nothing to backtrack into.
_HOST = re.compile(r"[a-z0-9-]++(?:\.[a-z0-9-]++)++")
# Top-level domains links in Indonesian comments use; "kata.dia" (a missing space) is not a host.
_TLDS = frozenset((
    "com", "net", "org", "id", "co", "io", "me", "info", "biz", "xyz", "top", "site", "online", "club", "store",
    "shop", "live", "app", "dev", "link", "click", "vip", "win", "bet", "cc", "tv", "ly", "gl", "to", "tk",
    "ml", "ga", "cf", "gq", "ru", "cn", "us", "uk", "my", "sg", "asia", "pro", "fun", "space", "website", "icu",
))  # fmt: skip


def count_links(text: str) -> int:
    """How many links text holds: http(s):// URLs, www. hosts and bare domains like "contoh.com/berita"."""
    count = 0
    for chunk in _CHUNK.findall(text.lower()):
        schemes = len(_SCHEME.findall(chunk))
        if schemes:
            count += schemes  # "http://a.comhttp://b.com" is two
            continue
        host = chunk.strip(".:;!?").split("/", 1)[0].split(":", 1)[0]
        if host.startswith("www.") or (host.rpartition(".")[2] in _TLDS and _HOST.fullmatch(host)):
            count += 1
    return count


# ---- spam score --------------------------------------------------------------------------------------------

# Each feature's weight; the score is their sum, capped at 1. No feature alone comes near the default threshold
# of 0.8: it takes several together, such as a contact number, a link and gambling terms.
WEIGHT_PER_LINK = 0.2  # each link, at most two counted: newsrooms allow a source link or two
WEIGHT_SHORT_WITH_LINK = 0.3  # a link in under 60 characters: "cek ini bro http://..."
WEIGHT_SHOUTING = 0.2  # over 60 % capitals among at least 12 letters
WEIGHT_REPEATED_CHARS = 0.1  # one character five times or more in a row: "!!!!!", "mantaaaaap"
WEIGHT_CONTACT = 0.35  # a WhatsApp link or an Indonesian mobile number: spam's call to action
WEIGHT_PER_GAMBLING_TERM = 0.2  # each distinct term of _GAMBLING, at most two counted
_SHORT = 60
_GAMBLING = (
    "slot", "gacor", "togel", "judi", "maxwin", "jackpot", "scatter", "rtp", "deposit", "depo", "wd", "bandar",
    "toto", "casino", "kasino",
)  # fmt: skip
# "wa.me/…", "WA: 0812…", "+62 812-3456-7890", "081234567890": a leading 62/0, an 8, then 8 to 11 digits each
# after at most one separator. Bounded repetition of a fixed shape: linear.
_CONTACT = re.compile(r"wa\.me/|whatsapp|(?<!\d)(?:\+?62|0)[\s.-]?8(?:[\s.-]?\d){8,11}(?!\d)", re.I)
_RUN = re.compile(r"(\S)\1{4}")  # a fixed count after one character: no choice to backtrack over


def spam_score(text: str) -> float:
    """A transparent spam heuristic in [0, 1]: the sum of the weights of the features text shows."""
    links = count_links(text)
    score = WEIGHT_PER_LINK * min(links, 2)
    if links and len(normalise_blanks(text)) < _SHORT:
        score += WEIGHT_SHORT_WITH_LINK
    letters = sum(1 for char in text if char.isalpha())
    if letters >= 12 and sum(1 for char in text if char.isupper()) > 0.6 * letters:
        score += WEIGHT_SHOUTING
    if _RUN.search(text):
        score += WEIGHT_REPEATED_CHARS
    if _CONTACT.search(text):
        score += WEIGHT_CONTACT
    gambling = _word_list(_GAMBLING)[0]  # folded like the words, so "scatter" and "sc4tter" meet
    terms = {gambling[word] for word in _word_tokens(text) if word in gambling}
    score += WEIGHT_PER_GAMBLING_TERM * min(len(terms), 2)
    return min(1.0, round(score, 4))
