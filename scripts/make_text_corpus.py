"""Regenerate the bundled GENERATED text corpus, seqexp/data/text_sample.txt.gz.

Not a real book: English-like prose from a small seeded probabilistic grammar (stories of a
few villagers, with agreement of subject and verb, adjectives, prepositional phrases,
subordinate clauses, dialogue in quotes, sentences and paragraphs). It has the structure a
character-level model can learn beyond character bigrams (spelling of ~600 words, word order,
capitals after a full stop, closing quotes), and no copyright. Seeded, so reproducible:
    .venv/bin/python scripts/make_text_corpus.py
"""

from __future__ import annotations

import gzip
import random
import re
from pathlib import Path

SEED = 1837
CHARACTERS = 400_000  # ~400 KB of text, ~100 KB gzipped

NAMES = ["Anna", "Tom", "Mara", "Peter", "Lucy", "Henry", "Clara", "Jonas", "Edith", "Samuel",
         "Rose", "Walter", "Ida", "Oliver", "Martha", "the miller", "the old doctor",
         "the young teacher", "the baker", "the fisherman's wife", "the shepherd"]
PLACES = ["the village", "the river", "the old mill", "the market", "the church", "the forest",
          "the harbour", "the school", "the bridge", "the hill", "the garden", "the kitchen",
          "the road to the town", "the inn", "the meadow", "the orchard", "the station"]
THINGS = ["letter", "basket", "lamp", "book", "horse", "dog", "boat", "coat", "key", "box",
          "bottle", "loaf", "bell", "window", "door", "table", "chair", "clock", "garden",
          "field", "cart", "ring", "song", "story", "map", "candle", "hat", "fire", "bread",
          "cup", "knife", "rope", "stone", "tree", "apple", "ship", "sheep", "cow", "flower"]
ADJECTIVES = ["old", "small", "large", "quiet", "bright", "dark", "cold", "warm", "heavy",
              "empty", "strange", "pretty", "broken", "wet", "narrow", "green", "white", "red",
              "tired", "happy", "careful", "kind", "little", "long", "new", "silent", "golden"]
ADVERBS = ["slowly", "quickly", "quietly", "carefully", "suddenly", "gladly", "again", "at once",
           "without a word", "with a smile", "in the morning", "after supper", "before dawn",
           "all day", "for a long time"]
TIMES = ["In the morning", "That evening", "On Sunday", "Before the rain", "After a while",
         "Later that day", "At noon", "The next day", "When the bells rang", "In the spring",
         "Long ago", "At last", "Once"]
# (base, third person, past)
VERBS_T = [("carry", "carries", "carried"), ("find", "finds", "found"), ("open", "opens", "opened"),
           ("take", "takes", "took"), ("bring", "brings", "brought"), ("mend", "mends", "mended"),
           ("sell", "sells", "sold"), ("buy", "buys", "bought"), ("see", "sees", "saw"),
           ("hold", "holds", "held"), ("clean", "cleans", "cleaned"), ("hide", "hides", "hid"),
           ("paint", "paints", "painted"), ("read", "reads", "read"), ("lose", "loses", "lost"),
           ("watch", "watches", "watched"), ("fetch", "fetches", "fetched")]
VERBS_I = [("walk", "walks", "walked"), ("wait", "waits", "waited"), ("sing", "sings", "sang"),
           ("laugh", "laughs", "laughed"), ("sleep", "sleeps", "slept"),
           ("work", "works", "worked"), ("listen", "listens", "listened"),
           ("return", "returns", "returned"), ("rest", "rests", "rested"),
           ("smile", "smiles", "smiled"), ("run", "runs", "ran"), ("stay", "stays", "stayed")]
SAYING = ["said", "asked", "answered", "whispered", "cried", "replied", "called"]
FEELINGS = ["glad", "afraid", "tired", "hungry", "sorry", "sure", "cold", "happy", "worried"]
PREPOSITIONS = ["near", "behind", "beside", "under", "across", "along", "through", "towards",
                "past", "over", "into", "out of"]


class Grammar:
    def __init__(self, seed: int):
        self.r = random.Random(seed)

    def pick(self, options):
        return self.r.choice(options)

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def noun_phrase(self) -> str:
        thing = self.pick(THINGS)
        if self.chance(0.5):
            thing = f"{self.pick(ADJECTIVES)} {thing}"
        if self.chance(0.15):
            thing = f"{self.pick(ADJECTIVES)} {thing}"
        det = self.pick(["the", "the", "a", "her", "his", "their", "that"])
        if det == "a" and thing[0] in "aeiou":
            det = "an"
        phrase = f"{det} {thing}"
        if self.chance(0.15):
            phrase += f" from {self.pick(PLACES)}"
        return phrase

    def place_phrase(self) -> str:
        return f"{self.pick(PREPOSITIONS)} {self.pick(PLACES)}"

    def clause(self, subject: str, tense: str) -> str:
        transitive = self.chance(0.6)
        verbs = self.pick(VERBS_T if transitive else VERBS_I)
        verb = verbs[2] if tense == "past" else verbs[1]
        parts = [subject, verb]
        if transitive:
            parts.append(self.noun_phrase())
        if self.chance(0.45):
            parts.append(self.place_phrase())
        if self.chance(0.3):
            parts.append(self.pick(ADVERBS))
        return " ".join(parts)

    def sentence(self) -> str:
        subject = self.pick(NAMES)
        kind = self.r.random()
        if kind < 0.12:
            return self.dialogue(subject)
        if kind < 0.2:
            feeling = self.pick(FEELINGS)
            who = self.pick(["she", "he", "nobody", "the dog"])
            text = f"{subject} was {feeling}, because {self.clause(who, 'past')}"
        elif kind < 0.3:
            text = f"there was {self.noun_phrase()} {self.place_phrase()}"
        else:
            text = self.clause(subject, "past")
            if self.chance(0.35):
                other = self.pick(NAMES)
                joint = self.pick(["and", "but", "while", "so", "when"])
                text += f", {joint} {self.clause(other, 'past')}"
        if self.chance(0.25):
            text = f"{self.pick(TIMES)}, {text}"
        return text[0].upper() + text[1:] + self.pick([".", ".", ".", ".", "!"])

    def dialogue(self, speaker: str) -> str:
        who = self.pick(["I", "we", "you", "they"])
        forms = {"I": 0, "we": 0, "you": 0, "they": 0}
        verbs = self.pick(VERBS_T)
        if self.chance(0.5):
            said = f"{who} will {verbs[forms[who]]} {self.noun_phrase()}"
            mark = "."
        else:
            said = f"did {who.lower() if who != 'I' else who} {verbs[0]} {self.noun_phrase()}"
            mark = "?"
        said = said[0].upper() + said[1:]
        verb = "asked" if mark == "?" else self.pick(SAYING)
        speaker = speaker[0].upper() + speaker[1:]
        name = speaker.lower() if speaker.startswith("The") else speaker
        if mark == "?":
            return f"\"{said}?\" {verb} {name}."
        return f"\"{said},\" {verb} {name}."

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.r.randint(3, 8)))

    def text(self, characters: int) -> str:
        paragraphs, size, chapter = [], 0, 0
        while size < characters:
            if not paragraphs or self.chance(0.06):
                chapter += 1
                paragraphs.append(f"CHAPTER {chapter}")
            paragraphs.append(self.paragraph())
            size += len(paragraphs[-1]) + 2
        return re.sub(r" +", " ", "\n\n".join(paragraphs)) + "\n"


if __name__ == "__main__":
    target = Path(__file__).resolve().parent.parent / "seqexp" / "data" / "text_sample.txt.gz"
    text = Grammar(SEED).text(CHARACTERS)
    with gzip.GzipFile(target, "wb", mtime=0) as fh:  # mtime 0: byte-identical reruns
        fh.write(text.encode("utf-8"))
    print(f"wrote {target} ({target.stat().st_size:,} bytes gzipped, {len(text):,} characters, "
          f"{len(set(text))} distinct)")
