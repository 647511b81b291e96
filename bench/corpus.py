"""Synthetic, deterministic news items and topics for the matching benchmark.

Items read like wire copy in English, Ukrainian and Russian (about half English): a headline and a
summary of 300–600 characters in all, mostly ordinary words, about one or two places, one or two
events and sometimes a person or a village from a long tail of 5,000 names. Cyrillic places and
names appear inflected (Харкові, Харкова), as in real copy.

Topics look like what people write: a place and an event group (``@kharkiv AND (shelling OR
обстріл* OR обстрел*)``), a NOT, a NEAR, a phrase, a ``title:`` scope, a person or a village, some
limited to languages. They draw places from the same gazetteer (``config/places.toml`` when it
exists, else a built-in list), so topics and items meet about as often as they would in the bot.
Everything comes from one ``random.Random(seed)``: the same seed gives the same corpus.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

from bot.match.places import load_places
from bot.model import Item, Topic

__all__ = ["Vocabulary", "make_items", "make_topics", "vocabulary"]

LANGUAGES = ("en", "uk", "ru")
LANGUAGE_WEIGHTS = (0.5, 0.3, 0.2)

_GENERIC = {
    "en": """the a of to in and on for with said says after before near over under from by as at
        was were has had have will would could officials people city region local government
        minister ministry president army forces troops residents civilians reported according
        morning evening night day week month year Monday Tuesday Wednesday Thursday Friday
        Saturday Sunday new first last second third several many more than least also still
        again during while amid despite following statement spokesperson authorities regional
        administration head governor mayor emergency services damage buildings homes
        infrastructure water supply road bridge station school hospital market prices energy
        gas oil electricity winter summer support international partners meeting visit plan
        decision parliament law court police investigation video photos social media channel
        told reporters confirmed denied warned called announced expected continued remained
        began ended killed injured wounded dead missing hundreds thousands dozens kilometres
        hours minutes district village centre outskirts front line border northern southern
        eastern western central""",
    "uk": """у в на з та і що як до після під час за від про для було буде також ще вже влада
        місто області району мешканці цивільні повідомили даними ранку вечора ночі вівторок
        середу четвер п'ятницю суботу неділю понеділок новий перший кілька багато понад
        щонайменше голова адміністрації міністр президент уряд армія сили війська заявив
        повідомив сказав підтвердив попередив рятувальники служби пошкоджено будинки
        інфраструктура водопостачання дорога міст станція школа лікарня ринок ціни енергетика
        газ зима партнери зустріч візит рішення парламент закон суд поліція розслідування
        відео фото загинули поранені зниклі сотні тисячі десятки кілометрів годин хвилин
        людей людина дітей жінок громади село селище вулиці внаслідок триває тривають
        оприлюднив очільник військової""",
    "ru": """в на с и что как до после под время за от о для было будет также еще уже власти
        город области района жители мирные сообщили данным утра вечера ночи вторник среду
        четверг пятницу субботу воскресенье понедельник новый первый несколько много более
        менее глава администрации министр президент правительство армия силы войска заявил
        сообщил сказал подтвердил предупредил спасатели службы повреждены дома
        инфраструктура водоснабжение дорога мост станция школа больница рынок цены энергетика
        газ зима партнеры встреча визит решение парламент закон суд полиция расследование
        видео фото погибли ранены пропавшие сотни тысячи десятки километров часов минут
        людей человек детей женщин общины село поселок улицы результате продолжается
        опубликовал военной""",
}

# An event: its words as they appear in copy, per language, and the terms a topic uses for it.
_EVENTS: tuple[tuple[str, str, str, str], ...] = (
    # en forms | uk forms | ru forms | query terms (en term, then uk and ru prefixes)
    ("shelling shelled shells", "обстріл обстрілу обстріли обстрілів", "обстрел обстрела обстрелы",
     "shelling обстріл* обстрел*"),
    ("missile missiles", "ракета ракети ракетний ракетою", "ракета ракеты ракетный",
     "missile ракет*"),
    ("drone drones", "дрон дрони безпілотник безпілотників", "дрон дроны беспилотник беспилотников",
     "drone дрон* безпілотн* беспилотн*"),
    ("explosion explosions blast", "вибух вибухи вибухів", "взрыв взрывы взрывов",
     "explosion вибух* взрыв*"),
    ("evacuation evacuated evacuees", "евакуація евакуації евакуювали", "эвакуация эвакуации",
     "evacu* евакуац* эвакуац*"),
    ("blackout blackouts outage outages", "знеструмлення відключення відключень",
     "отключения обесточивание", "blackout відключен* отключен*"),
    ("ceasefire truce", "перемир'я припинення", "перемирие перемирия", "ceasefire перемир*"),
    ("talks negotiations", "переговори переговорів", "переговоры переговоров",
     "talks переговор*"),
    ("prisoners prisoner exchange swap", "полонені полоненими обмін", "пленные пленными обмен",
     "prisoner обмін* обмен*"),
    ("flood flooding floods", "повінь затоплення підтоплення", "наводнение затопление",
     "flood* затопл* підтопл*"),
    ("fire fires blaze", "пожежа пожежі пожежу", "пожар пожара пожары", "fire пожеж* пожар*"),
    ("protest protests rally", "протест протести мітинг", "протест протесты митинг",
     "protest протест* мітинг* митинг*"),
    ("corruption bribery bribe", "корупція корупції хабар", "коррупция коррупции взятка",
     "corruption корупц* коррупц*"),
    ("sanctions sanctioned", "санкції санкцій", "санкции санкций", "sanction* санкці* санкци*"),
    ("grain wheat harvest", "зерно пшениця врожай", "зерно пшеница урожай",
     "grain зерн* пшениц*"),
    ("mobilisation conscription draft", "мобілізація мобілізації", "мобилизация мобилизации",
     "mobilisation мобілізац* мобилизац*"),
    ("offensive counteroffensive advance", "наступ контрнаступ", "наступление контрнаступление",
     "offensive наступ*"),
    ("humanitarian aid", "гуманітарна допомога", "гуманитарная помощь",
     "humanitarian гуманітарн* гуманитарн*"),
    ("train trains railway", "потяг потяги залізниця", "поезд поезда", "train потяг* поезд*"),
    ("arrest arrested detained", "затримали затримання", "задержали задержание",
     "arrest* затрима* задержа*"),
)  # fmt: skip

_PHRASES = (
    "air raid", "air defence", "power outage", "nuclear plant", "humanitarian corridor",
    "prisoner swap", "grain deal", "peace talks", "martial law", "Black Sea", "повітряна тривога",
    "воздушная тревога",
)  # fmt: skip
_NEGATIVES = ("football", "sport", "concert", "weather", "festival", "футбол*", "матч", "exercise")

# Fallback gazetteer (alias, names) when config/places.toml is not there.
_BUILTIN_PLACES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("kyiv", ("Kyiv", "Kiev", "Київ", "Киев")),
    ("kharkiv", ("Kharkiv", "Kharkov", "Харків", "Харьков")),
    ("odesa", ("Odesa", "Odessa", "Одеса", "Одесса")),
    ("dnipro", ("Dnipro", "Dnepr", "Дніпро", "Днепр")),
    ("donetsk", ("Donetsk", "Донецьк", "Донецк")),
    ("zaporizhzhia", ("Zaporizhzhia", "Zaporozhye", "Запоріжжя", "Запорожье")),
    ("lviv", ("Lviv", "Lvov", "Львів", "Львов")),
    ("mariupol", ("Mariupol", "Маріуполь", "Мариуполь")),
    ("kherson", ("Kherson", "Херсон")),
    ("mykolaiv", ("Mykolaiv", "Nikolaev", "Миколаїв", "Николаев")),
    ("sumy", ("Sumy", "Суми", "Сумы")),
    ("chernihiv", ("Chernihiv", "Chernigov", "Чернігів", "Чернигов")),
    ("poltava", ("Poltava", "Полтава")),
    ("bakhmut", ("Bakhmut", "Бахмут")),
    ("kramatorsk", ("Kramatorsk", "Краматорськ", "Краматорск")),
    ("avdiivka", ("Avdiivka", "Авдіївка", "Авдеевка")),
)  # fmt: skip

# Syllables of invented names, Latin and Cyrillic spelt alike (г is h, as in the matcher).
_SYLLABLES = (
    ("ko", "ко"), ("va", "ва"), ("len", "лен"), ("ber", "бер"), ("mir", "мир"), ("tos", "тос"),
    ("dan", "дан"), ("ris", "рис"), ("hor", "гор"), ("sha", "ша"), ("pol", "пол"), ("zar", "зар"),
    ("lo", "ло"), ("ne", "не"), ("sta", "ста"), ("ru", "ру"), ("bo", "бо"), ("da", "да"),
    ("vel", "вел"), ("tra", "тра"), ("mak", "мак"), ("sen", "сен"), ("pet", "пет"), ("kar", "кар"),
)  # fmt: skip
_SURNAME_ENDINGS = (("enko", "енко"), ("chuk", "чук"), ("ov", "ов"), ("yak", "як"), ("in", "ін"))
_VILLAGE_ENDINGS = (("ivka", "івка"), ("ske", "ське"), ("ove", "ове"), ("ychi", "ичі"))
_FIRST_NAMES = (
    ("Ivan", "Іван"), ("Olena", "Олена"), ("Petro", "Петро"), ("Iryna", "Ірина"),
    ("Taras", "Тарас"), ("Oksana", "Оксана"), ("Andrii", "Андрій"), ("Maria", "Марія"),
)  # fmt: skip
_CYRILLIC_CASE_ENDINGS = ("", "", "а", "у", "і", "ом")


@dataclass(frozen=True, slots=True)
class Place:
    alias: str | None  # None for invented villages, which have no gazetteer entry
    latin: tuple[str, ...]
    cyrillic: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Vocabulary:
    places: tuple[Place, ...]  # the gazetteer, largest first
    villages: tuple[Place, ...]  # the long tail
    people: tuple[tuple[str, str], ...]  # (Latin, Cyrillic) "First Surname"
    aliases: Mapping[str, Sequence[str]]


def vocabulary(root: Path, rng: random.Random) -> Vocabulary:
    gazetteer = root / "config" / "places.toml"
    rows = load_places(gazetteer).items() if gazetteer.is_file() else _BUILTIN_PLACES
    places, aliases = [], {}
    for alias, names in rows:
        aliases[alias] = names
        words = [name for name in names if not name.endswith("*") and name[:1].isupper()]
        latin = tuple(name for name in words if name.isascii())
        cyrillic = tuple(name for name in words if not name.isascii())
        if latin and cyrillic:
            places.append(Place(alias, latin, cyrillic))
    villages = [_invented(rng, _VILLAGE_ENDINGS) for _ in range(2_000)]
    people = []
    for _ in range(3_000):
        first_latin, first_cyrillic = rng.choice(_FIRST_NAMES)
        surname_latin, surname_cyrillic = _invented(rng, _SURNAME_ENDINGS)
        people.append((f"{first_latin} {surname_latin}", f"{first_cyrillic} {surname_cyrillic}"))
    return Vocabulary(
        tuple(places),
        tuple(Place(None, (name,), (spelling,)) for name, spelling in villages),
        tuple(people),
        aliases,
    )


def _invented(rng: random.Random, endings: Sequence[tuple[str, str]]) -> tuple[str, str]:
    parts = [*rng.sample(_SYLLABLES, rng.randint(1, 2)), rng.choice(endings)]
    latin, cyrillic = "".join(p[0] for p in parts), "".join(p[1] for p in parts)
    return latin.capitalize(), cyrillic.capitalize()


# --- items -------------------------------------------------------------------------------------


def make_items(vocab: Vocabulary, count: int, rng: random.Random) -> list[Item]:
    generic = {language: _GENERIC[language].split() for language in LANGUAGES}
    place_weights = _zipf(len(vocab.places), 1.0)
    village_weights = _zipf(len(vocab.villages), 0.8)
    people_weights = _zipf(len(vocab.people), 0.8)
    items = []
    for number in range(count):
        language = rng.choices(LANGUAGES, LANGUAGE_WEIGHTS)[0]
        places = rng.choices(vocab.places, cum_weights=place_weights, k=rng.randint(1, 2))
        if rng.random() < 0.3:
            places.append(rng.choices(vocab.villages, cum_weights=village_weights)[0])
        subjects = [_place_word(place, language, rng) for place in places]
        for event in rng.sample(_EVENTS, rng.randint(1, 2)):
            forms = event[LANGUAGES.index(language)].split()
            subjects += rng.sample(forms, min(2, len(forms)))
        if rng.random() < 0.35:
            person = rng.choices(vocab.people, cum_weights=people_weights)[0]
            subjects.append(person[0] if language == "en" else person[1])
        title = _sentence(rng, generic[language], subjects[:3], rng.randint(5, 9), end="")
        summary: list[str] = []
        target = rng.randint(300, 600) - len(title)
        while sum(len(sentence) + 1 for sentence in summary) < target:
            mentions = rng.sample(subjects, min(len(subjects), rng.randint(0, 2)))
            summary.append(_sentence(rng, generic[language], mentions, rng.randint(8, 16)))
        items.append(
            Item(
                feed_url=f"https://wire{number % 50}.example/rss",
                key=f"item-{number}",
                title=title,
                summary=" ".join(summary),
                language=language,
            )
        )
    return items


def _zipf(count: int, exponent: float) -> list[float]:
    """Cumulative weights: the n-th most common of ``count`` things is seen ∝ 1/n^exponent."""
    return list(accumulate(1 / (rank + 1) ** exponent for rank in range(count)))


def _place_word(place: Place, language: str, rng: random.Random) -> str:
    if language == "en":
        return rng.choice(place.latin)
    name = rng.choice(place.cyrillic)
    if name[-1] in "аеєиіїоуюяь":  # inflecting vowel-final names takes more care than it is worth
        return name
    return name + rng.choice(_CYRILLIC_CASE_ENDINGS)


def _sentence(
    rng: random.Random, generic: Sequence[str], mentions: Sequence[str], length: int, end: str = "."
) -> str:
    words = rng.choices(generic, k=max(length - len(mentions), 1))
    for mention in mentions:
        words.insert(rng.randrange(len(words) + 1), mention)
    if rng.random() < 0.4:
        words.insert(rng.randrange(len(words) + 1), str(rng.randint(2, 2_000)))
    text = " ".join(words)
    if rng.random() < 0.5:
        text = text.replace(" ", ", ", 1)
    return text[:1].upper() + text[1:] + end


# --- topics ------------------------------------------------------------------------------------


def make_topics(vocab: Vocabulary, count: int, rng: random.Random) -> list[Topic]:
    """``count`` generated topics; ``gen-…`` ids, in a fixed order (a prefix of a longer list)."""
    topics = []
    for number in range(count):
        query = rng.choice(_TEMPLATES)(vocab, rng)
        languages: tuple[str, ...] = ()
        if rng.random() < 0.2:
            languages = rng.choice((("en",), ("uk", "ru"), ("uk",)))
        topics.append(Topic(f"gen-{number}", f"Generated {number}", query, languages=languages))
    return topics


def _place_term(vocab: Vocabulary, rng: random.Random) -> str:
    # Topics spread over the gazetteer more evenly than news does, and reach into the long tail.
    if rng.random() < 0.35:
        village = rng.choice(vocab.villages)
        return f"({village.latin[0]} OR {village.cyrillic[0]})"
    place = rng.choice(vocab.places)
    style = rng.random()
    if style < 0.5 and place.alias is not None:
        return f"@{place.alias}"
    if style < 0.75:
        return _quoted(rng.choice(place.latin))
    return f"({_quoted(rng.choice(place.latin))} OR {_quoted(rng.choice(place.cyrillic))})"


def _quoted(name: str) -> str:
    return f'"{name}"' if " " in name else name


def _event_term(rng: random.Random) -> str:
    terms = rng.choice(_EVENTS)[3].split()
    style = rng.random()
    if style < 0.3:
        return terms[0]
    if style < 0.45:
        return terms[0].rstrip("*")[:5] + "*"
    return "(" + " OR ".join(terms) + ")"


def _phrase(rng: random.Random) -> str:
    return f'"{rng.choice(_PHRASES)}"'


def _person(vocab: Vocabulary, rng: random.Random) -> tuple[str, str]:
    latin, cyrillic = rng.choice(vocab.people)
    return latin, cyrillic


def _place_event(vocab: Vocabulary, rng: random.Random) -> str:
    return f"{_place_term(vocab, rng)} AND {_event_term(rng)}"


def _place_event_not(vocab: Vocabulary, rng: random.Random) -> str:
    negatives = " OR ".join(rng.sample(_NEGATIVES, 2))
    return f"{_place_term(vocab, rng)} {_event_term(rng)} NOT ({negatives})"


def _near(vocab: Vocabulary, rng: random.Random) -> str:
    return f"NEAR/{rng.randint(3, 8)}({_place_term(vocab, rng)}, {_event_term(rng)})"


def _phrase_places(vocab: Vocabulary, rng: random.Random) -> str:
    return f"{_phrase(rng)} AND ({_place_term(vocab, rng)} OR {_place_term(vocab, rng)})"


def _title_place(vocab: Vocabulary, rng: random.Random) -> str:
    return f"title:{_place_term(vocab, rng)} AND {_event_term(rng)} AND {_event_term(rng)}"


def _person_watch(vocab: Vocabulary, rng: random.Random) -> str:
    latin, cyrillic = _person(vocab, rng)
    surname_latin, surname_cyrillic = latin.split()[1], cyrillic.split()[1]
    surnames = f"({surname_latin} OR {surname_cyrillic})"
    return f'"{latin}" OR "{cyrillic}" OR {surnames} AND {_event_term(rng)}'


def _village_watch(vocab: Vocabulary, rng: random.Random) -> str:
    village = rng.choice(vocab.villages)
    return f"{village.latin[0]} OR {village.cyrillic[0]}"


_TEMPLATES = (
    _place_event,
    _place_event,
    _place_event_not,
    _near,
    _phrase_places,
    _title_place,
    _person_watch,
    _person_watch,
    _village_watch,
)
