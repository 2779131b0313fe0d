"""The search every search box uses (inbox, customer list, start form): what is typed is matched
literally, whatever its case and accents.

Documents and queries are normalized alike. Accents are folded with one fixed table, in SQL by
`translate()` inside the indexed document (the embedded server has no `unaccent`) and in Python
here. In the document everything but letters and digits becomes a space, so each word of the
query is a word PostgreSQL indexed: every typed word must start a word of the document (the
full-text index finds those). A typed piece with punctuation (`jane_doe`, `o'brien`, `100%`,
`_` alone) must also appear exactly as typed (a substring match, LIKE's wildcards escaped), so
`%` finds the one customer with a percent sign, not everyone. A phone number (digits, spaces,
+, -, parentheses, dots) is one term matched from its start or its end.
"""

import re
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db.models import Expression, F, Func, QuerySet, TextField, Value

# letter -> letter without its accent (same length: SQL translate() maps one character to one);
# typographic quotes and dashes -> their plain forms, so a typed ' finds a stored ’
FOLD_FROM = (
    "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆ"
    "ćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐő"
    "ŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžſƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚ"
    "ǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮ"
    "ȯȰȱȲȳḀḁḂḃḄḅḆḇḈḉḊḋḌḍḎḏḐḑḒḓḔḕḖḗḘḙḚḛḜḝḞḟḠḡḢḣḤḥḦḧḨḩḪḫḬḭḮḯḰḱḲḳḴḵḶ"
    "ḷḸḹḺḻḼḽḾḿṀṁṂṃṄṅṆṇṈṉṊṋṌṍṎṏṐṑṒṓṔṕṖṗṘṙṚṛṜṝṞṟṠṡṢṣṤṥṦṧṨṩṪṫṬṭṮṯṰṱṲ"
    "ṳṴṵṶṷṸṹṺṻṼṽṾṿẀẁẂẃẄẅẆẇẈẉẊẋẌẍẎẏẐẑẒẓẔẕẖẗẘẙẛẠạẢảẤấẦầẨẩẪẫẬậẮắẰằẲẳ"
    "ẴẵẶặẸẹẺẻẼẽẾếỀềỂểỄễỆệỈỉỊịỌọỎỏỐốỒồỔổỖỗỘộỚớỜờỞởỠỡỢợỤụỦủỨứỪừỬửỮữ"
    "ỰựỲỳỴỵỶỷỸỹøØłŁđĐıħĦŧŦ‘’‚‛ʼ“”„‐‑–—"
)
FOLD_TO = (
    "AAAAAACEEEEIIIINOOOOOUUUUYaaaaaaceeeeiiiinooooouuuuyyAaAaAaC"
    "cCcCcCcDdEeEeEeEeEeGgGgGgGgHhIiIiIiIiIJjKkLlLlLlNnNnNnOoOoOo"
    "RrRrRrSsSsSsSsTtTtUuUuUuUuUuUuWwYyYZzZzZzsOoUuAaIiOoUuUuUuUu"
    "UuAaAaGgKkOoOojGgNnAaAaAaEeEeIiIiOoOoRrRrUuUuSsTtHhAaEeOoOoO"
    "oOoYyAaBbBbBbCcDdDdDdDdDdEeEeEeEeEeFfGgHhHhHhHhHhIiIiKkKkKkL"
    "lLlLlLlMmMmMmNnNnNnNnOoOoOoOoPpPpRrRrRrRrSsSsSsSsSsTtTtTtTtU"
    "uUuUuUuUuVvVvWwWwWwWwWwXxXxYyZzZzZzhtwysAaAaAaAaAaAaAaAaAaAa"
    "AaAaEeEeEeEeEeEeEeEeIiIiOoOoOoOoOoOoOoOoOoOoOoOoUuUuUuUuUuUu"
    "UuYyYyYyYyoOlLdDihHtT'''''\"\"\"----"
)

_FOLD = str.maketrans(FOLD_FROM, FOLD_TO)
PHONE = re.compile(r"[\d\s+()\-.]{4,}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_WORDS = 12


def fold(text: str) -> str:
    """Lower case without accents, as folded() does in SQL."""
    return text.translate(_FOLD).lower()


def folded(expression: Expression | str) -> Func:
    """translate(expression, FOLD_FROM, FOLD_TO): the text without accents, as fold() does."""
    expression = F(expression) if isinstance(expression, str) else expression
    return Func(
        expression,
        Value(FOLD_FROM),
        Value(FOLD_TO),
        function="translate",
        output_field=TextField(),
    )


def searchable(expression: Expression | str) -> Func:
    """The words of a text for a full-text document: accents folded, everything but letters and
    digits made a space (so PostgreSQL's parser sees plain words, as parse_search() does)."""
    return Func(
        folded(expression),
        Value(r"[^[:alnum:]]+"),
        Value(" "),
        Value("g"),
        function="regexp_replace",
        output_field=TextField(),
    )


@dataclass(frozen=True)
class TextSearch:
    """A parsed search: `query` for the full-text document (None when nothing indexable was
    typed), `literals` that must appear as typed in the searched text."""

    query: SearchQuery | None
    literals: tuple[str, ...] = ()
    words: tuple[str, ...] = ()  # the folded words `query` looks for, each as a prefix

    def apply(
        self, queryset: QuerySet, *, document: SearchVector, text: Expression | str
    ) -> QuerySet:
        """Rows of `queryset` whose `document` matches every word and whose `text` contains
        every literal piece."""
        if self.query is not None:
            queryset = queryset.annotate(document=document).filter(document=self.query)
        if self.literals:
            queryset = queryset.annotate(search_text=folded(text))
            for literal in self.literals:
                queryset = queryset.filter(search_text__icontains=literal)
        return queryset


def parse_search(text: str) -> TextSearch | None:
    """What the user typed, ready for TextSearch.apply; None when they typed nothing (or only
    spaces): then nothing is filtered. Control characters (a NUL byte, which PostgreSQL text
    cannot hold) count as spaces."""
    text = CONTROL.sub(" ", text)
    if PHONE.fullmatch(text.strip()):
        digits = re.sub(r"\D", "", text)
        if digits:
            return TextSearch(
                SearchQuery(
                    f"('{digits}':* | '{digits[::-1]}':*)", search_type="raw", config="simple"
                )
            )
    pieces = fold(text).split()[:MAX_WORDS]
    if not pieces:
        return None
    words = [word for piece in pieces for word in re.findall(r"[^\W_]+", piece)]
    literals = tuple(piece for piece in pieces if re.search(r"[\W_]", piece))
    query = None
    if words:
        query = SearchQuery(
            " & ".join(f"'{word}':*" for word in words), search_type="raw", config="simple"
        )
    return TextSearch(query, literals, tuple(words))
