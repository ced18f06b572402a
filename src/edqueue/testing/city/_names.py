"""The names and places of the city: kindergartens, streets, mobile operator codes, and the
Kazakh and Russian names of its families (common names, invented people)."""

from __future__ import annotations

from typing import Final

from edqueue.models import GeoPoint

_DEFAULT_CENTRE = GeoPoint(49.7116, 72.5925)  # Shakhtinsk, the seed's "Салтанат"


def _words(text: str, separator: str | None = None) -> tuple[str, ...]:
    return tuple(text.split(separator))


_KINDERGARTEN_NAMES: Final = tuple(
    (ru, kk)
    for ru, _, kk in (
        pair.partition("/")
        for pair in _words(
            "Айголек/Айгөлек|Балапан/Балапан|Балдырган/Балдырған|Карлыгаш/Қарлығаш|"
            "Салтанат/Салтанат|Акбота/Ақбота|Бобек/Бөбек|Еркетай/Еркетай|Кулыншак/Құлыншақ|"
            "Айналайын/Айналайын|Жулдыз/Жұлдыз|Куншуак/Күншуақ|Байтерек/Бәйтерек|"
            "Болашак/Болашақ|Мольдир/Мөлдір|Ертеги/Ертегі|Арман/Арман|Балауса/Балауса|"
            "Нурбакыт/Нұрбақыт|Шапагат/Шапағат|Солнышко/Күнекей|Ромашка/Түймедақ|"
            "Теремок/Теремок|Радуга/Кемпірқосақ|Колокольчик/Қоңырау|Золотой ключик/Алтын кілт|"
            "Алёнушка/Алёнушка|Берёзка/Қайың|Звёздочка/Жұлдызша|Ласточка/Қарлығаш",
            "|",
        )
    )
)
"""Common kindergarten names: (Russian form, Kazakh form)."""
_STREETS: Final = _words(
    "Абая|Сатпаева|Бухар жырау|Гоголя|Пушкина|Момышулы|Жамбыла|Толе би|Мира|Ленинградская|"
    "Имени 40-летия Победы|Байтурсынова|Желтоксан|Республики|Чайковского|Строителей|"
    "Шахтёров|Достык",
    "|",
)
# Mobile operator codes 70x and 77x (the list of edqueue.testing.strategies); libphonenumber takes
# every seven-digit subscriber number after them as a mobile number.
_MOBILE_CODES: Final = _words("700 701 702 705 707 708 771 775 776 777 778")

# Surnames as (male, female).
_KAZAKH_SURNAMES: Final = tuple(
    (s, s + "а")
    for s in _words(
        "Ахметов Жумабаев Нурланов Смагулов Сапаров Касымов Омаров Абенов Сулейменов "
        "Байжанов Тулегенов Ибраев Кенжебаев Есенов Искаков Мукашев Жаксылыков Садыков "
        "Бекмуханов Утепов"
    )
)
_RUSSIAN_SURNAMES: Final = tuple(
    (s, s + "а") if s.endswith(("ов", "ев", "ин")) else (s, s)
    for s in _words(
        "Иванов Петров Кузнецов Попов Смирнов Васильев Соколов Морозов Новиков Фёдоров "
        "Ким Ли Пак Цой Шевченко Бондаренко"
    )
)
# Fathers' names with their patronymics: (name, "-ович" form, "-овна" form, Kazakh-style
# "-ұлы" form or None, "-қызы" form or None).
_Father = tuple[str, str, str, str | None, str | None]
_KAZAKH_FATHERS: Final[tuple[_Father, ...]] = tuple(
    (n, n + "ович", n + "овна", n + "ұлы", n + "қызы")
    for n in _words(
        "Ержан Нурлан Данияр Асхат Серик Бауыржан Ерлан Арман Айдар Марат Тимур Руслан Дамир "
        "Азамат Ерболат Канат Жандос Максат Нурсултан Ринат"
    )
)
_RUSSIAN_FATHERS: Final[tuple[_Father, ...]] = tuple(
    (n, m, f, None, None)
    for n, m, f in (
        ("Сергей", "Сергеевич", "Сергеевна"),
        ("Андрей", "Андреевич", "Андреевна"),
        ("Алексей", "Алексеевич", "Алексеевна"),
        ("Дмитрий", "Дмитриевич", "Дмитриевна"),
        ("Евгений", "Евгеньевич", "Евгеньевна"),
        ("Денис", "Денисович", "Денисовна"),
        ("Игорь", "Игоревич", "Игоревна"),
        ("Владимир", "Владимирович", "Владимировна"),
        ("Александр", "Александрович", "Александровна"),
        ("Максим", "Максимович", "Максимовна"),
        ("Роман", "Романович", "Романовна"),
        ("Виталий", "Витальевич", "Витальевна"),
    )
)
_KAZAKH_MOTHERS: Final = _words(
    "Айгуль Гульнара Динара Айгерим Жанар Асель Сауле Мадина Жанна Алия Гульмира Назерке "
    "Аружан Камила Дана Жулдыз Меруерт Ботагоз"
)
_RUSSIAN_MOTHERS: Final = _words(
    "Елена Ольга Наталья Татьяна Юлия Ирина Анастасия Екатерина Светлана Марина Оксана Кристина"
)
_KAZAKH_BOYS: Final = _words(
    "Алихан Нурислам Айсултан Алинур Мирас Ерасыл Әлихан Арсен Амир Ислам Нұрдәулет Санжар "
    "Бекзат Айбар Темірлан Абылай"
)
_KAZAKH_GIRLS: Final = _words(
    "Медина Айлин Аяла Айсулу Раяна Томирис Амина Хадиша Жасмин Інжу Айару Аружан Нұрай "
    "Әйгерім Сафия Малика"
)
_RUSSIAN_BOYS: Final = _words(
    "Александр Михаил Артём Максим Дмитрий Матвей Иван Тимофей Марк Лев Кирилл Даниил"
)
_RUSSIAN_GIRLS: Final = _words(
    "София Анна Мария Виктория Алиса Ева Полина Варвара Дарья Вероника Милана Ксения"
)
_RUSSIAN_NAMED_SHARE_RU = 0.45  # families choosing Russian groups with Russian names
_RUSSIAN_NAMED_SHARE_KK = 0.05
_KAZAKH_PATRONYMIC_SHARE = 0.50  # Kazakh families writing "Ержанұлы" rather than "Ержанович"
_NO_PATRONYMIC_SHARE = 0.05
