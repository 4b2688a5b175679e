"""The Simplified Chinese catalog: every entry translated, placeholders kept, the compiled .mo in
step with the .po; and pages rendered in Chinese carry no English UI words."""

import ast
import gettext
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from appraisal import services
from appraisal.links import link_token
from appraisal.models import Grade
from tests.appraisal.core_helpers import appraisal_of, open_cycle, seat_representative
from tests.factories import ConsumptionFactory, ContactFactory

CATALOG = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdifr]|%[sdifr%]|\{\w*\}")
# Words of the English interface that must not be left on a Chinese page.
ENGLISH_UI_WORDS = [
    "Customers",
    "Customer",
    "Log out",
    "Log in",
    "Home",
    "Tier",
    "Account number",
    "Supply station",
    "Responsible manager",
    "Consumption",
    "Contacts",
    "Profile",
    "Password",
    "Username",
    "Search",
    "Status",
    "Apply",
    # the appraisal pages
    "Appraisal",
    "Criterion",
    "Evidence",
    "Panel",
    "Final score",
    "Grade",
    "Raters",
    "Weight",
    "Score",
    "Review",
    "Finalize",
    "Print",
    "Copy",
    "Remove",
    "Submit",
    "Save",
    "Supervisor",
    "Comment",
]


# ---------------------------------------------------------------- a small .po reader
@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file, header excluded; obsolete (#~) entries are skipped."""
    entries: list[Entry] = []
    entry, target = Entry(), None

    def finish():
        nonlocal entry, target
        if entry.line:
            entries.append(entry)
        entry, target = Entry(), None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            if not line:
                finish()
            continue
        if line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith("msgctxt "):
            if entry.line:
                finish()
            entry.msgctxt, target = ast.literal_eval(line.split(" ", 1)[1]), ("msgctxt", None)
        elif line.startswith("msgid_plural "):
            entry.msgid_plural, target = "", ("msgid_plural", None)
            entry.msgid_plural += ast.literal_eval(line.split(" ", 1)[1])
        elif line.startswith("msgid "):
            if entry.line:
                finish()
            entry.line, target = number, ("msgid", None)
            entry.msgid = ast.literal_eval(line.split(" ", 1)[1])
        elif line.startswith("msgstr"):
            match = re.match(r"msgstr(?:\[(\d+)\])? (.*)", line)
            index = int(match.group(1) or 0)
            target = ("msgstr", index)
            entry.msgstr[index] = ast.literal_eval(match.group(2))
        elif line.startswith('"') and target:
            text = ast.literal_eval(line)
            name, index = target
            if name == "msgstr":
                entry.msgstr[index] += text
            else:
                setattr(entry, name, getattr(entry, name) + text)
    finish()
    return [e for e in entries if e.msgid]


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    found = read_po(CATALOG / "django.po")
    assert len(found) > 100, "the catalog looks empty: was makemessages run?"
    return found


def where(entry: Entry) -> str:
    return f"django.po line {entry.line}: {entry.msgid!r}" + (f" ({entry.msgctxt})" if entry.msgctxt else "")


# ---------------------------------------------------------------- the catalog
def test_every_entry_of_the_chinese_catalog_is_translated(entries):
    # given the catalog; when we look for empty translations
    untranslated = [where(e) for e in entries if not e.msgstr or not all(e.msgstr.values())]

    # then there are none
    assert untranslated == []


def test_no_entry_of_the_chinese_catalog_is_fuzzy(entries):
    header = (CATALOG / "django.po").read_text(encoding="utf-8").split('msgid ""', 1)[0]

    fuzzy = [where(e) for e in entries if "fuzzy" in e.flags]

    assert fuzzy == []
    assert "fuzzy" not in header


def test_translations_keep_every_placeholder_of_their_msgid(entries):
    # given each entry; when we compare the placeholders of the English and the Chinese text
    broken = [
        (where(e), index, text)
        for e in entries
        for index, text in e.msgstr.items()
        if sorted(PLACEHOLDER.findall(e.msgid)) != sorted(PLACEHOLDER.findall(text))
    ]

    # then each translation has exactly the placeholders of its msgid
    assert broken == []


def test_translations_are_chinese_not_copies_of_the_english(entries):
    copied = [where(e) for e in entries if e.msgstr.get(0) == e.msgid]

    assert copied == []


def test_compiled_catalog_gives_every_translation_of_the_po(entries):
    # given the committed .mo; when every msgid is looked up in it
    with (CATALOG / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    stale = []
    for e in entries:
        if e.msgid_plural is None:
            got = compiled.pgettext(e.msgctxt, e.msgid) if e.msgctxt else compiled.gettext(e.msgid)
        elif e.msgctxt:
            got = compiled.npgettext(e.msgctxt, e.msgid, e.msgid_plural, 2)
        else:
            got = compiled.ngettext(e.msgid, e.msgid_plural, 2)
        if got != e.msgstr[0]:
            stale.append((where(e), got))

    # then it answers what the .po says: the .mo was compiled after the last edit of the .po
    assert stale == []


# ---------------------------------------------------------------- pages in Chinese
class _VisibleText(HTMLParser):
    """The text a reader meets: text nodes and the labels of aria-label, title, placeholder,
    data-label, value of buttons; not scripts or styles."""

    LABELS = ("aria-label", "title", "placeholder", "data-label", "alt")

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        self.parts.extend(value for name, value in attrs if name in self.LABELS and value)
        if tag == "input" and dict(attrs).get("type") in ("submit", "button"):
            self.parts.append(dict(attrs).get("value") or "")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def english_words_on(response) -> list[str]:
    parser = _VisibleText()
    parser.feed(response.content.decode())
    text = " ".join(parser.parts)
    return [w for w in ENGLISH_UI_WORDS if re.search(rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])", text)]


@pytest.fixture
def customer_page(client, world):
    ConsumptionFactory(customer=world.customer_a)
    ContactFactory(customer=world.customer_a)
    client.force_login(world.manager_a.user)
    return reverse("customers:detail", args=[world.customer_a.pk])


def test_login_page_in_chinese_has_no_english_ui_words(client, db):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert "登录" in response.content.decode()
    assert english_words_on(response) == []


def test_customer_page_in_chinese_has_no_english_ui_words(client, customer_page):
    response = client.get(customer_page)

    assert response.status_code == 200
    assert "户号" in response.content.decode()
    assert english_words_on(response) == []


def test_customer_list_in_chinese_has_no_english_ui_words(client, customer_page):
    response = client.get(reverse("customers:list"))

    assert response.status_code == 200
    assert english_words_on(response) == []


@pytest.fixture
def appraisal_in_scoring(world):
    """Manager A's appraisal of an open cycle: the supervisor has scored part of it and a customer
    representative with a live link sits on the panel, so every part of the pages is on show."""
    appraisal = appraisal_of(open_cycle(world), world.manager_a)
    seat = services.rater_seat_for(appraisal=appraisal, user=world.supervisor)
    services.scores_save(
        rater=seat,
        scores=[{"criterion": "satisfaction", "score": 85, "comment": "服务及时"}],
        by=world.supervisor,
    )
    representative = seat_representative(world, appraisal, "周代表", organisation="甲钢铁厂")
    return appraisal, representative


def test_appraisal_page_in_chinese_has_no_english_ui_words(client, world, appraisal_in_scoring):
    appraisal, _representative = appraisal_in_scoring
    client.force_login(world.supervisor)

    response = client.get(reverse("appraisal:appraisal", args=[appraisal.pk]))

    assert response.status_code == 200
    assert "考评小组" in response.content.decode()
    assert english_words_on(response) == []


def test_appraisal_review_page_in_chinese_has_no_english_ui_words(client, world, appraisal_in_scoring):
    appraisal, _representative = appraisal_in_scoring
    client.force_login(world.supervisor)

    response = client.get(reverse("appraisal:review", args=[appraisal.cycle.year]))

    assert response.status_code == 200
    assert "综合得分" in response.content.decode()
    assert english_words_on(response) == []


def test_representative_page_in_chinese_has_no_english_ui_words(client, appraisal_in_scoring):
    _appraisal, representative = appraisal_in_scoring

    response = client.get(reverse("appraisal:representative", args=[link_token(representative)]))

    assert response.status_code == 200
    assert "年度工作计划完成情况" in response.content.decode()
    assert english_words_on(response) == []


def test_an_appraisal_grade_reads_as_passed_not_as_a_trained_manager():
    # given the same English word "Qualified" for an appraisal grade and a manager's training status
    # when both are read in Chinese
    with translation.override("zh-hans"):
        grade, trained = str(Grade.QUALIFIED.label), translation.gettext("Qualified")

    # then the grade is 合格 and the trained manager 具备资格
    assert (grade, trained) == ("合格", "具备资格")


def test_customer_page_in_english_shows_the_english_words(client, customer_page):
    # given a user who switched to English (so the check above is able to see English)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get(customer_page)

    assert {"Customers", "Log out", "Account number", "Contacts"} <= set(english_words_on(response))


def test_a_closed_follow_up_reads_as_done_not_as_a_closed_account():
    # given the same English word "Closed" for a customer's account and for a visit's follow-up
    from customers.models import Status
    from visits.models import FollowUpStatus

    # when both labels are read in Chinese
    with translation.override("zh-hans"):
        account, follow_up = str(Status.CLOSED.label), str(FollowUpStatus.CLOSED.label)

    # then the account is closed (销户) but the follow-up is settled (已办结)
    assert (account, follow_up) == ("销户", "已办结")
