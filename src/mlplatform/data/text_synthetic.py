"""A seeded generator of short app-store reviews and support messages for the NLP template.

Each text is put together from templates and vocabulary: an optional opener, a core sentence of
its class (or a short form such as "Got charged twice??"), optional details, a closer and an
emoji, then lower-cased, shouted or misspelt for a share of rows. Classes share words on purpose
("update", "account", "premium", "please fix"), so a bag-of-words model has to weigh evidence.

`noise` is the share of rows whose label a human would argue about: half of them get a second
class's sentence and either of the two labels, half a label flipped to another class (an
annotation error). A few vague messages ("Please look into this") belong to no class at all. With
the default 0.1, TF-IDF + logistic regression reaches about 0.88 accuracy (0.96 with no noise),
not 1.0, so a template's metrics look like a real ticket classifier's.

All random draws are numpy arrays and the strings are put together with array operations
(numpy object arrays, pyarrow compute) rather than a Python loop per row, so 100k rows take
about two seconds. Same arguments, same frame.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from string import Formatter

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mlplatform.errors import PlatformError

# Bump when the same arguments would give a different frame: cached datasets are keyed by it.
GENERATOR_VERSION = 1
LABELS: tuple[str, ...] = ("bug", "billing", "feature_request", "praise", "account")
START = np.datetime64("2026-09-01T00:00:00")
DAYS = 30
MAX_WORDS = 40

# Support queues are bug-heavy; account problems are the rarest.
SHARES = {"bug": 0.27, "billing": 0.18, "feature_request": 0.2, "praise": 0.21, "account": 0.14}
# P(rating = 1..5) given the class the text was written as.
RATINGS = {
    "bug": (0.45, 0.30, 0.15, 0.07, 0.03),
    "billing": (0.60, 0.25, 0.10, 0.03, 0.02),
    "feature_request": (0.05, 0.10, 0.30, 0.35, 0.20),
    "praise": (0.01, 0.02, 0.07, 0.30, 0.60),
    "account": (0.40, 0.30, 0.20, 0.07, 0.03),
}

CORE: dict[str, tuple[str, ...]] = {
    "bug": (
        "The app crashes every time I open {feature}",
        "{feature} stopped working after {version}",
        "App freezes on the loading screen on my {device}",
        "Since {version} the app won't open at all",
        "I keep getting a white screen when I tap {feature}",
        "{feature} is broken on {device} {when}",
        "Notifications arrive hours late {when}",
        "The app drains my battery {when}",
        "Everything I saved in {feature} disappeared {when}",
        "It says something went wrong whenever I use {feature}",
        "Sync fails with an error {when}",
        "Buttons don't respond after {version}",
        "The app is super slow on my {device} {when}",
    ),
    "billing": (
        "I was charged {price} twice this month",
        "My subscription renewed without any notice",
        "I cancelled my trial but still got charged {price}",
        "Please refund the {price} charge from last week",
        "The app took {price} even though I never upgraded",
        "Premium is paid but the app still shows ads",
        "I paid for premium on my {device} but it's not unlocked",
        "Why did the price go up to {price}?",
        "The payment failed but my card was charged {price}",
        "Restore purchases doesn't give me back premium",
        "How do I cancel my subscription before it renews?",
    ),
    "feature_request": (
        "Please add {wish}",
        "It would be great to have {wish}",
        "Any plans for {wish} in the next update?",
        "I wish there was {wish}",
        "Would love to see {wish} on {device}",
        "Can you make {feature} customizable?",
        "You should let us turn off {feature}",
        "Missing {wish}, every other app has it",
        "Would pay for premium if it had {wish}",
        "Love the app but it really needs {wish}",
    ),
    "praise": (
        "Love this app, I use it every day",
        "Best app I've downloaded this year",
        "{feature} works perfectly on my {device}",
        "The new update is really smooth",
        "Super easy to use and looks great",
        "Support fixed my problem in minutes",
        "Worth every penny of premium",
        "Finally an app that just works",
        "{feature} saved me so much time",
        "Great job on {version}, everything is faster",
    ),
    "account": (
        "I can't log in to my account on my {device}",
        "The password reset email never arrives",
        "My account got locked after {version}",
        "How do I delete my account and all my data?",
        "I lost access to my account after changing phones",
        "The verification code doesn't work {when}",
        "Please merge my two accounts",
        "I need to change the email on my account",
        "It keeps logging me out {when}",
        "Sign in with Apple doesn't work on my {device}",
        "Someone else logged into my account",
    ),
}
SHORT: dict[str, tuple[str, ...]] = {
    "bug": ("Crashes on launch", "Keeps crashing lol", "App won't open", "Broken after update",
            "Stuck on loading", "Black screen again", "Doesn't work anymore"),
    "billing": ("Got charged twice??", "I want my refund", "Refund please asap",
                "Stop charging me", "Double charged again", "Way too expensive",
                "Cancel my subscription"),
    "feature_request": ("Please add {wish}", "Really need {wish}", "We need {wish}",
                        "Add {wish} pls", "Where is {wish}?"),
    "praise": ("Love it so much", "Awesome app, thanks!", "Best app ever", "Five stars easily",
               "Works great, thanks", "Really great app", "Not bad at all"),
    "account": ("Can't log in", "Locked out again", "Password reset broken", "Delete my account",
                "Verification code never comes", "Logged out again", "Doesn't work anymore"),
}  # fmt: skip
DETAIL: dict[str, tuple[str, ...]] = {
    "bug": ("I already reinstalled it twice.", "Restarting the phone doesn't help.",
            "Cleared the cache, still the same.", "It worked fine before {version}.",
            "Happens on wifi and mobile data."),
    "billing": ("I have the receipt from the store.", "This is the second time it happened.",
                "I want my money back.", "Nobody answers my emails about it.",
                "My bank statement shows {price}."),
    "feature_request": ("That would make it perfect.", "My friends want this too.",
                        "It's the only thing missing.", "Other apps already do this.",
                        "Happy to beta test it."),
    "praise": ("Keep up the good work.", "Recommended it to all my friends.",
               "The team clearly cares.", "No ads and no crashes.", "Thank you so much!"),
    "account": ("I still have access to my email.", "My username is the same as before.",
                "I tried resetting the password twice.", "I don't want to lose my data.",
                "I reinstalled but it didn't help."),
}  # fmt: skip
CLOSER: dict[str, tuple[str, ...]] = {
    "bug": ("Please fix this.", "Fix it please!!", "Pls fix asap."),
    "billing": ("I want a refund.", "Refund me please.", "Very disappointed."),
    "feature_request": ("Thanks for considering!", "Please consider it.", "Would be awesome."),
    "praise": ("Five stars!", "10/10", "Thank you!"),
    "account": ("Please help me get back in.", "Please fix this.", "Please help asap."),
}
SHARED_CLOSERS = ("Thanks.", "Please help.", "Any update?", "!!!", "Cheers", "Thank you!")
# Messages any class could have sent: real queues have them, and no model should be sure.
VAGUE = ("Please look into this", "Not what I expected", "Why is this so complicated",
         "Can someone from support reply?", "What happened to the app??",
         "Still waiting for an answer", "It used to be better",
         "Pretty good overall I guess")  # fmt: skip
OPENERS = ("Hi,", "Hello team,", "Hey,", "Ugh.", "Honestly,", "Quick question:", "Ok so",
           "Dear support,")  # fmt: skip
EMOJI: dict[str, tuple[str, ...]] = {
    "bug": ("😡", "🐛", "😩", "🙄"),
    "billing": ("💸", "😡", "🤬", "💳"),
    "feature_request": ("🙏", "💡", "🤞", "😊"),
    "praise": ("❤️", "😍", "👍", "🔥", "⭐⭐⭐⭐⭐"),
    "account": ("🔒", "😩", "🙄", "😕"),
}
SLOTS: dict[str, tuple[str, ...]] = {
    "feature": ("dark mode", "sync", "the widget", "notifications", "search", "the calendar",
                "photo upload", "the share button", "backups", "the home screen", "the chat",
                "reminders", "the editor"),
    "wish": ("a dark mode", "an offline mode", "widgets", "export to CSV", "a landscape mode",
             "Apple Watch support", "a family plan", "two-factor login", "custom themes",
             "a tablet layout", "folders", "a search bar"),
    "version": ("the latest update", "version 3.2", "the last update", "v3.2.1",
                "the new version", "yesterday's update"),
    "price": ("$4.99", "$9.99", "$59.99", "€7.99", "£6.49", "$19.99"),
    "when": ("since yesterday", "since the update", "every morning", "all week",
             "for three days", "again today", "", ""),
}  # fmt: skip
SLOT_NAMES: tuple[str, ...] = (*SLOTS, "device")
DEVICES = {
    "ios": ("iPhone 15", "iPhone 13", "iPad", "iPhone SE", "iPad Pro"),
    "android": ("Pixel 8", "Galaxy S23", "Samsung A54", "OnePlus 11", "Xiaomi phone"),
}
# Misspellings people make, applied to a share of rows (vectorised per pattern).
TYPOS = (
    ("the", "teh"), ("receive", "recieve"), ("can't", "cant"), ("doesn't", "doesnt"),
    ("won't", "wont"), ("please", "pls"), ("you", "u"), ("subscription", "subscripton"),
    ("account", "acount"), ("notifications", "notifcations"), ("crashes", "crashs"),
    ("really", "realy"), ("again", "agian"), ("password", "pasword"),
)  # fmt: skip


def generate_texts(
    rows: int, seed: int = 7, labels: Sequence[str] | None = None, noise: float = 0.1
) -> pd.DataFrame:
    """`rows` labelled messages: message_id, text, label, rating (1-5), created_at, platform."""
    classes = _check(rows, labels, noise)
    rng = np.random.default_rng([seed, GENERATOR_VERSION])
    shares = np.array([SHARES[c] for c in classes])
    cls = rng.choice(len(classes), size=rows, p=shares / shares.sum())
    is_ios = rng.random(rows) < 0.45
    slots = _slots(rng, rows, is_ios)

    short, vague = rng.random(rows) < 0.2, rng.random(rows) < 0.05
    core = np.where(
        short, _fill(rng, SHORT, cls, classes, slots), _fill(rng, CORE, cls, classes, slots)
    )
    core = np.where(vague, _pick(rng, VAGUE, rows), core)
    brief = short | vague
    # Ambiguous rows carry a second class's sentence and either label; flipped rows are
    # annotation errors. Both come out of one share so `noise` means what it says.
    kind = rng.random(rows)
    ambiguous, flipped = kind < noise / 2, (kind >= noise / 2) & (kind < noise)
    other = (cls + rng.integers(1, len(classes), size=rows)) % len(classes)
    second = np.where(ambiguous, _fill(rng, CORE, other, classes, slots) + ".", "")
    closer = np.where(
        rng.random(rows) < 0.5,
        _fill(rng, CLOSER, cls, classes, slots),
        _pick(rng, SHARED_CLOSERS, rows),
    )
    mood = np.where(rng.random(rows) < 0.7, cls, rng.integers(0, len(classes), size=rows))
    parts = [
        _maybe(rng, _pick(rng, OPENERS, rows), np.where(brief, 0.0, 0.3)),
        core + ".",
        second,
        _maybe(rng, _fill(rng, DETAIL, cls, classes, slots), np.where(brief, 0.0, 0.45)),
        _maybe(rng, _fill(rng, DETAIL, cls, classes, slots), np.where(brief, 0.0, 0.1)),
        _maybe(rng, closer, np.where(brief, 0.15, 0.6)),
        _maybe(rng, _fill(rng, EMOJI, mood, classes, slots), 0.3),
    ]
    text = _styled(rng, _joined(parts))

    label = np.where(ambiguous & (rng.random(rows) < 0.5), other, cls)
    label = np.where(flipped, other, label)
    cum = np.cumsum(np.array([RATINGS[c] for c in classes]), axis=1)
    rating = (rng.random(rows)[:, None] > cum[cls]).sum(axis=1) + 1
    # Rows are drawn independently, so sorting the times keeps ids in time order at no cost.
    seconds = np.sort(rng.integers(0, DAYS * 86_400, size=rows))
    numbers = pc.utf8_lpad(pa.array(np.arange(1, rows + 1)).cast(pa.string()), 7, "0")
    ids = pc.binary_join_element_wise("msg-", numbers, "").to_numpy(zero_copy_only=False)
    return pd.DataFrame(
        {
            "message_id": pd.Series(ids, dtype=str),
            "text": pd.Series(text, dtype=str),
            "label": pd.Series(np.array(classes, dtype=object)[label], dtype=str),
            "rating": rating.astype("int64"),
            "created_at": (START + seconds.astype("timedelta64[s]")).astype("datetime64[ns]"),
            "platform": pd.Series(np.where(is_ios, "ios", "android"), dtype=str),
        }
    )


def write_texts(
    path: str | Path,
    rows: int,
    seed: int = 7,
    labels: Sequence[str] | None = None,
    noise: float = 0.1,
) -> Path:
    """Write `generate_texts(...)` to `path`: Parquet for .parquet/.pq, else CSV (.csv[.gz])."""
    target = Path(path)
    name = target.name.lower()
    is_parquet = name.endswith((".parquet", ".pq"))
    if not is_parquet and not any(
        name.endswith(f".csv{c}") for c in ("", ".gz", ".bz2", ".zip", ".xz")
    ):
        raise PlatformError(
            f"cannot tell the format of '{target}'",
            "name the file .csv (optionally .gz/.bz2/.zip/.xz) or .parquet",
        )
    frame = generate_texts(rows, seed=seed, labels=labels, noise=noise)
    target.parent.mkdir(parents=True, exist_ok=True)
    if is_parquet:
        frame.to_parquet(target, index=False)
    else:
        frame.to_csv(target, index=False)
    return target


def _check(rows: int, labels: Sequence[str] | None, noise: float) -> tuple[str, ...]:
    if rows < 0:
        raise PlatformError(f"rows must be 0 or more, got {rows}", "ask for a positive count")
    if not 0.0 <= noise <= 1.0:
        raise PlatformError(f"noise must be a share between 0 and 1, got {noise}", "try 0.1")
    if isinstance(labels, str):
        raise PlatformError(
            "labels must be a list of names, not one string", f"e.g. {list(LABELS[:2])}"
        )
    classes = tuple(labels) if labels is not None else LABELS
    unknown = [c for c in classes if c not in LABELS]
    if unknown:
        raise PlatformError(
            f"no templates for label '{unknown[0]}'", f"use some of: {', '.join(LABELS)}"
        )
    if len(set(classes)) != len(classes) or len(classes) < 2:
        raise PlatformError(
            f"labels must be two or more distinct names, got {list(classes)}",
            f"use some of: {', '.join(LABELS)}",
        )
    return classes


def _slots(rng: np.random.Generator, n: int, is_ios: np.ndarray) -> np.ndarray:
    """Every row's value for every slot (rows of SLOT_NAMES, then a blank row for "no slot")."""
    values = [_pick(rng, SLOTS[name], n) for name in SLOTS]
    ios, android = _pick(rng, DEVICES["ios"], n), _pick(rng, DEVICES["android"], n)
    values += [np.where(is_ios, ios, android), np.full(n, "", dtype=object)]
    return np.vstack(values)


def _pick(rng: np.random.Generator, values: Sequence[str], n: int) -> np.ndarray:
    return np.array(values, dtype=object)[rng.integers(0, len(values), size=n)]


def _maybe(rng: np.random.Generator, values: np.ndarray, share: float | np.ndarray) -> np.ndarray:
    return np.where(rng.random(len(values)) < share, values, "")


def _fill(
    rng: np.random.Generator,
    table: dict[str, tuple[str, ...]],
    codes: np.ndarray,
    classes: tuple[str, ...],
    slots: np.ndarray,
) -> np.ndarray:
    """One template of each row's class (`codes` index `classes`), its slots filled from the
    row's own draws; a handful of array operations whatever the number of rows."""
    templates = [t for c in classes for t in table[c]]
    count = np.array([len(table[c]) for c in classes])
    start = np.cumsum(count) - count
    chosen = start[codes] + (rng.random(len(codes)) * count[codes]).astype(np.int64)
    literals, fields = _pieces(templates)
    rows = np.arange(len(codes))
    text = literals[chosen, 0]
    for k in range(fields.shape[1]):
        text = text + slots[fields[chosen, k], rows] + literals[chosen, k + 1]
    return text


def _pieces(templates: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Templates as a literal / slot / literal ... grid: `literals` (T, k+1), `fields` (T, k)
    holding each slot's row in the `_slots` matrix (the blank row where a template has fewer)."""
    parsed = [[(lit, name) for lit, name, _, _ in Formatter().parse(t)] for t in templates]
    width = max(sum(1 for _, name in p if name) for p in parsed)
    blank = len(SLOT_NAMES)
    literals = np.full((len(templates), width + 1), "", dtype=object)
    fields = np.full((len(templates), width), blank, dtype=np.int64)
    for row, pieces in enumerate(parsed):
        k = 0
        for lit, name in pieces:
            literals[row, k] += lit
            if name:
                fields[row, k] = SLOT_NAMES.index(name)
                k += 1
    return literals, fields


def _joined(parts: list[np.ndarray]) -> pa.Array:
    text = parts[0]
    for part in parts[1:]:
        text = text + " " + part
    joined = pa.array(text, type=pa.string())
    joined = pc.utf8_trim_whitespace(pc.replace_substring_regex(joined, r"\s+", " "))
    joined = pc.replace_substring_regex(joined, r"([?!])\.", r"\1")
    return _clipped(joined)


def _clipped(text: pa.Array) -> pa.Array:
    # Stacked optional parts can overshoot; cut the rare long ones rather than bias the draws.
    words = pc.count_substring(text, " ").to_numpy() + 1
    if (words <= MAX_WORDS).all():
        return text
    values = text.to_numpy(zero_copy_only=False).copy()
    for row in np.flatnonzero(words > MAX_WORDS):
        values[row] = " ".join(values[row].split(" ")[:MAX_WORDS])
    return pa.array(values, type=pa.string())


def _styled(rng: np.random.Generator, text: pa.Array) -> np.ndarray:
    """Lower-case a share of rows, shout in a few, and misspell words in some (at most once
    per word and row, so a message still reads like one person wrote it)."""
    n = len(text)
    style = rng.random(n)
    text = pc.if_else(pa.array(style < 0.3), pc.utf8_lower(text), text)
    text = pc.if_else(pa.array((style >= 0.3) & (style < 0.33)), pc.utf8_upper(text), text)
    hits = rng.random((len(TYPOS), n)) < 0.2
    for (right, wrong), hit in zip(TYPOS, hits, strict=True):
        typo = pc.replace_substring_regex(
            text, rf"\b{re.escape(right)}\b", wrong, max_replacements=1
        )
        text = pc.if_else(pa.array(hit), typo, text)
    return text.to_numpy(zero_copy_only=False)
