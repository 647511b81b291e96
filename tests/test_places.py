"""The places gazetteer: every spelling finds its place; a bad gazetteer stops start-up clearly."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.match.matcher import Matcher
from bot.match.places import load_places
from bot.model import Topic
from bot.settings import load_settings
from bot.sources import configured_aliases, configured_topics
from bot.topics import TopicRegistry

PLACES_FILE = Path(__file__).resolve().parents[1] / "config" / "places.toml"
PLACES = load_places(PLACES_FILE)

LARGEST_CITIES = [
    "kyiv", "kharkiv", "odesa", "dnipro", "donetsk", "zaporizhzhia", "lviv", "kryvyi-rih",
    "mykolaiv", "mariupol", "sevastopol", "luhansk", "vinnytsia", "makiivka", "simferopol",
    "kherson", "poltava", "chernihiv", "cherkasy", "khmelnytskyi", "chernivtsi", "zhytomyr",
    "sumy", "rivne", "horlivka", "ivano-frankivsk", "kamianske", "kropyvnytskyi", "ternopil",
    "kremenchuk", "lutsk", "uzhhorod",
]  # fmt: skip
OBLASTS = [
    "vinnytsia", "volyn", "dnipropetrovsk", "donetsk", "zhytomyr", "zakarpattia", "zaporizhzhia",
    "ivano-frankivsk", "kyiv", "kirovohrad", "luhansk", "lviv", "mykolaiv", "odesa", "poltava",
    "rivne", "sumy", "ternopil", "kharkiv", "kherson", "khmelnytskyi", "cherkasy", "chernivtsi",
    "chernihiv",
]  # fmt: skip


def test_the_gazetteer_has_the_largest_cities_every_oblast_and_crimea() -> None:
    kinds = {
        row["alias"]: row.get("kind") for row in tomllib.loads(PLACES_FILE.read_text())["places"]
    }
    assert set(LARGEST_CITIES) <= {alias for alias, kind in kinds.items() if kind == "city"}
    assert {alias for alias, kind in kinds.items() if kind == "oblast"} == {
        f"{name}-oblast" for name in OBLASTS
    }
    assert kinds["crimea"] == "region"
    assert {"moscow", "istanbul", "ukraine", "russia"} <= set(PLACES)


# alias → text that must find it: English old and new, Ukrainian and Russian, cases, adjectives.
SPELLINGS = {
    "kyiv": ["Kyiv", "Kiev", "Kyiv's", "Києві", "Киеве", "Києва", "київська", "Киевской", "кияни",
             "Kyivans"],
    "mariupol": ["Mariupol", "Маріуполя", "Мариуполе", "маріупольці", "Мариупольский"],
    "zaporizhzhia": ["Zaporizhzhia", "Zaporizhia", "Zaporozhye", "Запоріжжі", "Запорізька",
                     "Запорожской"],
    "kharkiv": ["Kharkov", "Харкові", "Харькове", "харьковский", "харків'яни"],
    "mykolaiv": ["Mykolaiv", "Nikolaev", "Миколаєві", "Николаеве", "миколаївський"],
    "luhansk": ["Luhansk", "Lugansk", "Луганська", "Луганске"],
    "dnipro": ["Dnipro", "Dnepropetrovsk", "Днепре", "Дніпрі", "Дніпропетровськ"],
    "odesa": ["Odessa", "Одесі", "Одессе", "одеський", "одесситы"],
    "lviv": ["Lvov", "Lemberg", "Львові", "Львове", "львівський"],
    "chernihiv": ["Chernigov", "Чернігові", "Чернигове"],
    "vinnytsia": ["Vinnitsa", "Вінниці", "Виннице"],
    "kropyvnytskyi": ["Kirovograd", "Kirovohrad", "Кропивницькому", "Кировограде"],
    "kryvyi-rih": ["Kryvyi Rih", "Krivoy Rog", "Кривому Розі", "Кривого Рога", "Кривого Рогу"],
    "rivne": ["Rovno", "Рівному"],
    "ivano-frankivsk": ["Ivano-Frankivsk", "Івано-Франківську", "Ивано-Франковске"],
    "kyiv-oblast": ["Kyiv region", "Kiev oblast", "Київщині", "Київської області", "Киевщине",
                    "Киевской области"],
    "donetsk-oblast": ["Donetsk Oblast", "Донеччині", "Донецкой области"],
    "zakarpattia-oblast": ["Transcarpathia", "Закарпатті", "Закарпатье"],
    "crimea": ["Crimea", "Crimean", "Криму", "Крыму", "кримські"],
    "moscow": ["Moscow", "Москві", "Москве", "московский"],
    "istanbul": ["Istanbul", "Стамбулі", "Стамбуле"],
    "ukraine": ["Ukraine", "Україні", "Украины", "українська", "украинцы"],
    "russia": ["Russia", "Росії", "России", "російські", "россияне"],
}  # fmt: skip
NOT_THESE = {
    "kyiv": ["kiwi", "Kiel", "Kivu"],
    "crimea": ["crime", "crimes"],
    "mariupol": ["Marius"],
    "kyiv-oblast": ["Kyiv", "Київ"],  # the city alone is not its region
}


def finds(alias: str, text: str) -> bool:
    return bool(Matcher([Topic("t", "T", f"@{alias}")], aliases=PLACES).explain(text))


@pytest.mark.parametrize(
    ("alias", "text"), [(alias, text) for alias, texts in SPELLINGS.items() for text in texts]
)
def test_every_spelling_finds_its_place(alias: str, text: str) -> None:
    assert finds(alias, text)


@pytest.mark.parametrize(
    ("alias", "text"), [(alias, text) for alias, texts in NOT_THESE.items() for text in texts]
)
def test_near_misses_do_not(alias: str, text: str) -> None:
    assert not finds(alias, text)


def write(tmp_path: Path, content: str, name: str = "places.toml") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def place(alias: str = "kyiv", names: str = '["Kyiv"]', extra: str = "") -> str:
    return f'[[places]]\nalias = "{alias}"\nnames = {names}\n{extra}'


BAD_FILES = [
    (place(extra="nmaes = []\n"), "alias 'kyiv': unknown key 'nmaes' (known: alias, kind, names)"),
    ("[places]\nkyiv = ['Kyiv']\n", "'places' must be an array of [[places]] tables"),
    ("[[place]]\nalias = 'kyiv'\n", "unknown key 'place' (write [[places]] tables)"),
    ("[[places]]\nnames = ['Kyiv']\n", "place #1 needs an 'alias'"),
    (
        place(alias="Kyiv City"),
        "alias 'Kyiv City' must be lowercase letters, digits and single '-'",
    ),
    (place(names="[]"), "alias 'kyiv' needs 'names', a non-empty list of spellings"),
    (place(names='"Kyiv"'), "alias 'kyiv' needs 'names', a non-empty list of spellings"),
    (place(names='["Kyiv", " "]'), "alias 'kyiv': every name must be a non-empty string"),
    (place(names='["Kyiv", 3]'), "alias 'kyiv': every name must be a non-empty string"),
    (place(names='["Kyiv", "Kiev", "KYIV"]'), "alias 'kyiv' lists 'KYIV' twice"),
    (place(names='["ки*"]'), "alias 'kyiv': name 'ки*': the prefix 'ки*' is too short"),
    (place(names='["—"]'), "alias 'kyiv': name '—': '—' has no letters or digits to match"),
    (place(extra="kind = 'town'\n"), "alias 'kyiv': 'kind' must be one of city, oblast"),
    (place() + place(), "alias 'kyiv' is defined twice"),
    ("[[places]\n", "is not valid TOML"),
    ("places = [1]\n", "place #1 must be a table with alias and names"),
]


@pytest.mark.parametrize(("content", "message"), BAD_FILES, ids=[m[:40] for _, m in BAD_FILES])
def test_a_bad_gazetteer_is_refused_with_a_message_that_names_it(
    tmp_path: Path, content: str, message: str
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(ConfigError) as caught:
        load_places(path)
    assert f"places file {path}" in str(caught.value)
    assert message in str(caught.value)


def test_a_missing_gazetteer_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read places file"):
        load_places(tmp_path / "nope.toml")


def test_names_keep_their_order_and_collapse_spaces(tmp_path: Path) -> None:
    path = write(tmp_path, place(names='["Kryvyi   Rih", "Кривий Ріг", "криворізьк*"]'))
    assert load_places(path) == {"kyiv": ("Kryvyi Rih", "Кривий Ріг", "криворізьк*")}


def test_a_places_file_beside_a_custom_config_adds_and_replaces_aliases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(
        tmp_path, '[[topics]]\nid = "home"\nname = "Home"\nquery = "@bakhmut"\n', "c.toml"
    )
    write(tmp_path, place("bakhmut", '["Bakhmut", "Бахмут"]') + place("kyiv", '["Kyiv"]'))
    monkeypatch.setenv("WIREWATCH_CONFIG", str(config))
    settings = load_settings()
    aliases = configured_aliases(settings)
    assert aliases["kyiv"] == ("Kyiv",)  # replaced
    assert aliases["mariupol"] == PLACES["mariupol"]  # bundled ones stay
    registry = TopicRegistry(configured_topics(settings), aliases)
    assert [match.topic_id for match in registry.matcher.explain("Бахмут")] == ["home"]


def test_the_app_and_cli_build_their_registry_with_the_gazetteer() -> None:
    settings = load_settings()
    registry = TopicRegistry(configured_topics(settings), configured_aliases(settings))
    assert registry.aliases["mariupol"] == PLACES["mariupol"]
    preview = registry.matcher_for([Topic("p", "P", "@kharkiv-oblast")])
    assert preview.explain("Обстріл Харківщини")
