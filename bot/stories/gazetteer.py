"""Built-in places for the story layer: one ``place:`` (or ``country:``) token per city.

The story vocabulary reads the shared gazetteer (``config/places.toml`` through
``bot.match.places.load_places``) and adds the places below that it does not have (Saltivka,
Manhush, Canberra, Washington, Georgia, Morocco …); with no gazetteer file, this list is used
alone. Spellings follow ``lexicon`` notation: a trailing ``*`` matches by prefix of the folded
form, which catches Slavic cases and adjectives (Київ, Києва, Київська область); a plain spelling
matches by match key, as the topic matcher does. ``+`` joins the words of a phrase.

Countries are kept apart (``COUNTRIES``): they name the setting of many stories, so they never
make two stories "different places", and the two that name the setting of almost every story
here (``UBIQUITOUS``) count for little in similarity.
"""

from __future__ import annotations

__all__ = ["BUILTIN_PLACES", "COUNTRIES", "UBIQUITOUS"]


def _spellings(text: str) -> tuple[str, ...]:
    return tuple(text.split())


BUILTIN_PLACES: dict[str, tuple[str, ...]] = {
    # Ukraine: cities and their regions
    "kyiv": _spellings("kyiv* kiev* київ* києв* киев* kivsk* kievsk* київщин* киевщин*"),
    "kharkiv": _spellings("kharkiv* kharkov* харків* харков* харьков*"),
    "mariupol": _spellings("mariupol* маріупол* мариупол*"),
    "zaporizhzhia": _spellings("zaporizh* zaporozh* запоріж* запоріз* запорож*"),
    "odesa": _spellings("odesa* odessa* одес* одесс*"),
    "lviv": _spellings("lviv* lvov* львів* львов*"),
    "dnipro": _spellings("dnipro* dnepr* дніпр* днепр* dnipropetrovsk*"),
    "chernihiv": _spellings("chernihiv* chernigov* чернігів* чернігов* чернигов*"),
    "mykolaiv": _spellings("mykolaiv* nikolaev* nikolayev* миколаїв* миколаєв* николаев*"),
    "kherson": _spellings("kherson* херсон*"),
    "sumy": _spellings("sumy сумах сумськ* сумск*"),
    "poltava": _spellings("poltav* полтав*"),
    "vinnytsia": _spellings("vinnyts* винниц* вінниц*"),
    "zhytomyr": _spellings("zhytomyr* житомир*"),
    "donetsk": _spellings("donetsk* донецьк* донецк*"),
    "luhansk": _spellings("luhansk* lugansk* луганськ* луганск*"),
    "donbas": _spellings("donbas* донбас* донбасс*"),
    "kramatorsk": _spellings("kramatorsk* краматорськ* краматорск*"),
    "izium": _spellings("izium* izyum* ізюм* изюм*"),
    "berdiansk": _spellings("berdiansk* berdyansk* бердянськ* бердянск*"),
    "melitopol": _spellings("melitopol* мелітопол* мелитопол*"),
    "irpin": _spellings("irpin* ірпін* ірпен* ирпен* ирпин*"),
    "bucha": _spellings("bucha буча бучі бучу бучи"),
    "hostomel": _spellings("hostomel* gostomel* гостомел*"),
    "manhush": _spellings("manhush* мангуш*"),
    "saltivka": _spellings("saltivk* салтівк* салтовк*"),
    "crimea": _spellings("crimea* крим* крым*"),
    # Russia and Belarus
    "moscow": _spellings("moscow* москв* московськ* московск*"),
    "belgorod": _spellings("belgorod* bilhorod* бєлгород* білгород* белгород*"),
    "kursk": _spellings("kursk* курськ* курск*"),
    "minsk": _spellings("minsk* мінськ* минск*"),
    # Elsewhere
    "istanbul": _spellings("istanbul* стамбул*"),
    "ankara": _spellings("ankara* анкар*"),
    "washington": _spellings("washington* вашингтон*"),
    "brussels": _spellings("brussels брюссел*"),
    "canberra": _spellings("canberra* канберр*"),
    "chennai": _spellings("chennai* ченнаї ченнаи"),
    "przemysl": _spellings("przemysl* перемишл* перемышл*"),
    "chicago": _spellings("chicago* чикаго"),
    "black-sea": ("black+sea", "чорн*+мор*", "черн*+мор*", "черноморськ*", "черноморск*"),
    # Countries
    "ukraine": _spellings("ukrain* україн* украин*"),
    "russia": _spellings("russia* росі* росси* російськ* российск* рф"),
    "belarus": _spellings("belarus* білорус* беларус*"),
    "poland": _spellings("poland polish польщ* польськ* польш* польск*"),
    "usa": _spellings("usa america* united+states сша америк*"),
    "uk": _spellings("uk britain* british британ*"),
    "turkey": _spellings("turkey turkish туреччин* турецьк* турци* турецк*"),
    "georgia": _spellings("georgia* грузі* грузи*"),
    "morocco": _spellings("morocco* марокко"),
    "india": _spellings("india індії индии індія индия"),
}

# Moscow and Washington mostly stand for their governments ("Moscow said"): country-level.
COUNTRIES = frozenset(
    {"ukraine", "russia", "belarus", "poland", "usa", "uk", "turkey", "georgia", "morocco", "india"}
    | {"moscow", "washington"}
)

#: Countries so common in this domain's news that they carry no information about the story.
UBIQUITOUS = frozenset({"ukraine", "russia"})
