"""The language-neutral vocabulary of stories: words of en/uk/ru that name the same thing.

Each line of a table below maps one concept to the words that express it in English, Ukrainian
and Russian. A concept is a token with a kind, ``kind:name``:

- ``ev:`` event vocabulary (evacuation, convoy, bus, talks, shelling, prisoner, exchange …);
- ``st:`` the state of an event: ``st:halted`` (postponed, cancelled, failed, turned back),
  ``st:departed`` (sent, left, set off), ``st:arrived`` (arrived, reached, got through);
- ``day:`` weekdays; ``num:`` numbers written as words (numerals come from the text itself);
- ``org:`` organisations (ICRC / МКЧХ / МККК / Red Cross …), ``place:`` and ``country:`` places
  (see ``gazetteer``).

How a word is written in a table: ``bus`` matches the word whose match key (``normalize_text``)
is that of "bus" (bus, buses); ``евакуац*`` matches every word whose folded, unstemmed form starts
with that of "евакуац" (евакуація, евакуації …), which is how Slavic verbs and cases are caught;
``четвер.`` matches that unstemmed form only (not "четверо", four people, which has the same
key); ``red+cross`` is a phrase, each part matched the same way. An indented line continues a
row. The tables are normalized with the matcher's own functions, so they are written in plain
spelling, in any script.

Stopwords (function words and reporting verbs of the three languages) are matched by key.
"""

from __future__ import annotations

__all__ = [
    "CONCEPT_TABLE",
    "NEGATIONS",
    "ORGANISATION_TABLE",
    "STOPWORDS",
    "parse_table",
]

CONCEPT_TABLE = """
ev:evacuation   evacu* evacuee* | евакуац* евакуйов* евакуюв* евакуйова* | эвакуац* эвакуир*
ev:convoy       convoy* | колон* | колонн*
ev:bus          bus | автобус*
ev:corridor     corridor* route | коридор* маршрут*
ev:talks        talk talks negotiat* | переговор* перемовин* | переговор*
ev:delegation   delegat* negotiator* | делегац* переговорник* | делегац*
ev:round        round | раунд*
ev:prisoner     prisoner* pow pows captive* | полонен* полон | пленн* плен
ev:exchange     exchang* swap* | обмін* обміня* | обмен* обменя*
ev:shelling     shell shelling shelled artillery bombard* pound* | обстріл* артилер* снаряд* |
                обстрел* артиллер* снаряд*
ev:missile      missile* rocket* | ракет* | ракет*
ev:strike       strike strikes struck attack* raid* | удар* авіаудар* атак* | удар* авиаудар* атак*
ev:ceasefire    ceasefire* truce hold+fire | припинен*+вогню режим+тиші | прекращен*+огня
                режим+тишин*
ev:grain        grain* wheat corn | зерн* пшениц* | зерн* пшениц*
ev:port         port ports seaport* | порт | порт
ev:ship         ship ships vessel* | судн* суден* корабл* корабел* | судн* корабл*
ev:fueldepot    depot depots fuel+depot* oil+depot* fuel+storage | нафтобаз* | нефтебаз*
ev:fuel         fuel oil petrol diesel | пальн* нафт* дизел* | топлив* нефт* дизел*
ev:refinery     refiner* | нпз нафтопереробн* | нпз нефтеперерабатыв*
ev:fire         fire ablaze blaze burn* smoke | пожеж* горить горит дим диму | пожар* гори* горит
                дым*
ev:killed       kill* dead death* died die bodies | загибл* загину* вбит* вбив* | погиб* убит* убил*
ev:wounded      wound* injur* hurt | поранен* постраждал* | ранен* пострадав* пострадал*
ev:coal         coal | вугіл* | угля. углем. уголь.
ev:imports      import* | імпорт* | импорт*
ev:ban          ban bans banned | заборон* | запрет*
ev:food         food | продукт* харч* | продовольств* еды еду едой
ev:medicine     medicine* medical | лік ліки ліків медикамент* | лекарств* медикамент*
ev:trucks       truck* lorr* | вантажівк* | грузовик*
ev:civilians    civilian* resident* people | цивільн* мешкан* жител* людей люди | мирн* жител* людей
                люди
ev:refugees     refugee* fled flee* exodus | біжен* | беженц*
ev:aid          aid assistance | допомог* | помощ*
ev:budget       budget* salar* pension* | бюджет* зарплат* пенсі* | бюджет* зарплат* пенси*
ev:money        dollar* money | долар* | доллар*
ev:million      million* mln | мільйон* млн | миллион* млн
ev:weapons      weapon* arms armament* tanks tank planes plane aircraft artillery+systems | зброя
                зброї зброю озброєн* танк* літак* | оружи* вооружен* танк* самолет*
ev:sanctions    sanction* embargo* package | санкц* ембарго пакет* | санкц* эмбарго пакет*
ev:neutrality   neutral* | нейтрал* | нейтрал*
ev:guarantees   guarante* | гаранті* гарант* | гаранти* гарант*
ev:security     security | безпек* | безопасност*
ev:troops       troop* soldier* servicem* service+members military forces units | військ* солдат*
                підрозділ* | войск* военн* солдат* подразделен*
ev:withdrawal   withdraw* pull+back pulling+back pullback regroup* reposition* scale+back
                scaled+back | відвод* відвед* перегруп* | отвод* отвед* перегруп*
ev:reduce       reduc* cut cutback cuts | скорочен* зменшен* | сокращен* снижен* снизить
ev:deportation  deport* filtration forcibl* | депорт* фільтрац* примусов* | депорт* фильтрац*
                принудительн*
ev:ambassador   ambassador* envoy* diplomat* | посли. послів. посла. посол* дипломат* |
                послов. посла. посол* дипломат*
ev:recall       recall* dismiss* | відклика* відкликав* звільнив | отозва* отзыва*
ev:liberation   liberat* retak* recaptur* freed cleared back+under+control | звільн* визвол* |
                освобо*
ev:morale       morale demoralis* demoraliz* refus* sabotag* | відмовля* саботу* саботаж* |
                отказыва* саботир* саботаж*
ev:intelligence intelligence spy | розвідк* | разведк*
ev:market       market* | ринок ринку ринк* | рынок рынк*
ev:administration administration* headquarters | адміністрац* ода ова | администрац*
ev:building     building* | будівл* будинк* будин* | здани*
ev:rubble       rubble | завал* | завал*
ev:district     district* | район* | район*
ev:region       region regions regional oblast | област* обл | област* обл
ev:train        train trains railway* | поїзд* потяг* укрзалізниц* | поезд* железн*
ev:mediation    mediat* intermediar* broker* | посередни* | посредни*
ev:women        women | жінок жінки | женщин
ev:capital      capital | столиц* | столиц*
ev:interview    interview* journalist* | інтерв* журналіст* | интервью журналист*
ev:rates        rate rates exchange+rate | курс | курс
ev:currency     currenc* hryvnia* rouble* ruble* | валют* гривн* рубл* | валют* гривн* рубл*
ev:prices       price* | цін* | цен* стоимост*
ev:inflation    inflation | інфляц* | инфляц*
ev:snow         snow* | сніг* | снег*
ev:weather      weather forecast* | погод* синоптик* | погод* синоптик*
ev:chess        chess | шах* | шахмат*
ev:summit       summit* meet+in+person leaders+meeting | саміт* зустріч+лідерів | саммит*
                встреч+лидеров
ev:turningpoint turning+point | переломн* | переломн*
ev:address      address video+address | звернен* відеозвернен* | обращен* видеообращен*
ev:online       video online video+link | онлайн* відеозв* | видеосвяз* онлайн*
ev:resume       resum* restart* | відновл* | возобнов* продолж*
ev:progress     progress | прогрес* | прогресс*
ev:proposal     propos* offer* paper | пропозиц* запропонува* письмов* | предлож* письменн*
ev:fighting     fighting battle* clashes | бої боях бій запеклі | бои боях боев*
ev:breakthrough break+through breakthrough | прорив* | прорыв*
ev:rescuers     rescuer* emergency+service* | рятувальник* ДСНС | спасател* МЧС
ev:drivers      driver* | водії водіїв водій | водител*
ev:seized       seiz* detain* captured abduct* | захопил* затрима* полоні | захват* задержа* плен+у
ev:aidconvoy    humanitarian | гуманітарн* | гуманитарн*
ev:drone        drone* uav uavs | безпілотник* дрон* шахед* | беспилотник* дрон* шахед*
ev:airdefence   air+defence air+defense anti+aircraft | ппо протиповітрян* | пво противовоздушн*
ev:shotdown     shot+down shoots+down shoot+down downed intercept* | збил* збит* знешкодж* | сбил*
                сбит* перехвач*
ev:helicopter   helicopter* | гелікоптер* вертольот* | вертол*
ev:zoo          zoo animal* ecopark | зоопарк* тварин* екопарк* | зоопарк* животн* экопарк*
ev:mines        mine mines demining | мін розмінув* | мин разминир*
ev:president    president* | президент* | президент*
ev:minister     minister* ministry | міністр* міноборони | министр* минобороны
ev:deputypm     deputy+prime+minister vice+premier | віцепрем* | вице+премьер*
ev:governor     governor* | губернатор* голова+ода | губернатор*
ev:mayor        mayor* | мер міського+голови міський+голова | мэр*
ev:ombudsman    ombudsman* | омбудсмен* | омбудсмен*
ev:lawmakers    lawmaker* parliament* mps | нардеп* депутат* парламент* | депутат* парламент*
ev:embassy      embassy | посольств* | посольств*

st:halted       postpon* delay* cancel* called+off put+off halt* suspend* fail* unable turn+back
                turns+back turned+back | відклал* відклад* скасов* зірва* перенес* не+запрацює |
                отложен* отлож* отмен* сорва* перенес*
st:departed     sent send sends left depart* heading heads set+off | вирушил* рушил* відправ*
                виїхал* | направил* отправ* выехал* выехать
st:arrived      arriv* reach* reached got+through get+through gets+through | прибул* прибув* дістал*
                дістатис* | прибыл* добрал* добратьс*

day:mon         monday | понеділ* | понедельн*
day:tue         tuesday | вівтор* | вторник*
day:wed         wednesday | середа. середу. | среда. среду.
day:thu         thursday | четвер. четверга. четвергу. | четверг*
day:fri         friday | пятниц* п'ятниц* | пятниц*
day:sat         saturday | субот* | суббот*
day:sun         sunday | неділ* | воскресен*

num:2           two | два дві двох двоє | два две двух двое
num:3           three | три трьох троє | трех трое
num:4           four | чотири чотирьох четверо | четыре четырех четверо
num:5           five | п'ять п'ятеро пятеро | пять пятеро
num:6           six | шість шестеро | шесть шестеро
num:7           seven | сім семеро | семь
num:8           eight | вісім | восемь
num:9           nine | дев'ять | девять
num:10          ten | десять | десять
num:12          twelve | дванадцять | двенадцать
num:20          twenty | двадцять | двадцать
num:100         hundred | сто | сто
"""

ORGANISATION_TABLE = """
org:icrc        icrc red+cross international+committee+of+the+red+cross | мкчх червон*+хрест*
                міжнародн*+комітет*+червон*+хрест* | мккк красн*+крест*
                международн*+комитет*+красн*+крест*
org:un          un united+nations | оон | оон
org:unhcr       unhcr un+refugee+agency | увкб | увкб
org:osce        osce | обсє | обсе
org:nato        nato | нато | нато
org:eu          eu european+union european+commission | єс євросоюз* єврокоміс* | ес евросоюз*
                еврокомисс*
org:iaea        iaea | магате | магатэ
org:pentagon    pentagon | пентагон* | пентагон*
org:kremlin     kremlin | кремл* | кремл*
org:whitehouse  white+house | білий+дім білого+дому | бел*+дом*
org:gchq        gchq
org:fide        fide | фіде | фиде
org:nbu         nbu national+bank | нбу нацбанк* | нбу нацбанк*
org:centralbank central+bank | центробанк* | центробанк* цб
org:ukrzaliznytsia ukrzaliznytsia ukrainian+railways | укрзалізниц* | укрзализныц*
org:genstaff    general+staff | генштаб* | генштаб*
org:exchange    stock+exchange moscow+exchange | біржа біржі | бирж*
"""

# Words that turn a following "left / reached / got through" into its opposite within 2 words.
NEGATIONS = "not unable never no fail fails failed | не ні | не нет"

STOPWORDS = """
a an the of to in on at by for from with without into onto over under about after before
since during while and or but nor so as than then that this these those there here it its
is are was were be been being has have had do does did will would shall should can could
may might must not no yes also still even just only again yet already more most much many
some any all each every other another such same own he she they them his her their we our
us you your i me my who whom whose which what when where why how new says said say tells
told according reported reports report amid despite until through up down out off near
around between against per via if today tonight yesterday tomorrow now one first last
week weeks day days time times year years month months early late latest just mr ms
january february march april may june july august september october november december
і й та а але або у в на з зі із до від за по що як це той ця ці не ні про для після
через його її їх їхній вже ще також каже кажуть заявив заявила заявили повідомив
повідомила повідомили сказав сказала під над біля при між серед без щонайменше понад
січня лютого березня квітня травня червня липня серпня вересня жовтня листопада грудня
сьогодні вчора завтра тепер поки більше менше себе свій своїх він вона вони ми ви
который яка які який яке де коли тому бо адже лише лише тільки навіть вже новий нова
нові нових
и в во на с со к ко по за из изо от до что как это тот эта эти не ни о об про для
после через его ее её их уже еще ещё также говорит заявил заявила заявили сообщил
сообщила сообщили сказал сказала под над около при между среди без более менее
января февраля марта апреля мая июня июля августа сентября октября ноября декабря
сегодня вчера завтра теперь пока себя свой своих он она они мы вы который которая
которые где когда потому так лишь только даже новый новая новые новых уже ли бы же
"""


def parse_table(table: str) -> list[tuple[str, tuple[str, ...]]]:
    """``(concept, patterns)`` per row of a table.

    A row starts with its concept at the start of a line; an indented line continues the row
    above. ``|`` separates the languages for the eye only.
    """
    rows: list[tuple[str, list[str]]] = []
    for line in table.splitlines():
        if not line.strip():
            continue
        words = [word for word in line.split() if word != "|"]
        if line[0].isspace() and rows:
            rows[-1][1].extend(words)
        else:
            rows.append((words[0], words[1:]))
    return [(concept, tuple(patterns)) for concept, patterns in rows]
