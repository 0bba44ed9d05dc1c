"""`leadflow dedupe`: true duplicates are proposed, different people are not, fields work."""

import json
from io import StringIO

import polars as pl
import pytest
from django.core.management import CommandError, call_command

from leadflow.acquisition.dedupe import find_duplicates, parse_fields
from leadflow.acquisition.dedupe.fields import UnknownField
from leadflow.contacts.models import Company, Contact

# Different people, to give the model a population: none is a duplicate of another.
OTHERS = [
    ("Emma", "Wilson", "GB", "EC1A 1BB"),
    ("Liam", "Taylor", "GB", "M1 1AE"),
    ("Olivia", "Davies", "GB", "B33 8TH"),
    ("Noah", "Evans", "GB", "CR2 6XH"),
    ("Sophia", "Thomas", "US", "94105"),
    ("Lucas", "Martin", "FR", "75008"),
    ("Mia", "Bernard", "FR", "69002"),
    ("Elias", "Weber", "DE", "10115"),
    ("Hannah", "Becker", "DE", "80331"),
    ("Mateo", "Lopez", "ES", "08001"),
    ("Chloe", "Roberts", "GB", "LS1 4AP"),
    ("James", "Walker", "US", "60601"),
    ("Aiko", "Tanaka", "JP", "1000001"),
    ("Priya", "Sharma", "IN", "110001"),
    ("Oscar", "Nilsson", "SE", "11122"),
    ("John", "Smithson", "US", "73301"),
]


def _contact(first, last, *, email=None, phone="", company=None, country="", ext=None, **attrs):
    return Contact.objects.create(
        first_name=first,
        last_name=last,
        email=email,
        phone=phone,
        company=company,
        country=country,
        external_id=ext,
        attributes=attrs,
    )


@pytest.fixture
def people(db):
    acme = Company.objects.create(name="Acme Ltd")
    initech = Company.objects.create(name="Initech")
    made = {
        "ann": _contact(
            "Ann",
            "Smith",
            email="ann.smith@gmail.com",
            phone="+44 20 7946 0001",
            company=acme,
            country="GB",
            ext="crm-1",
            postcode="SW1A 1AA",
        ),
        # A bought list: a spelling variant, a local phone number, no email.
        "ann_variant": _contact(
            "Anne",
            "Smyth",
            phone="020 7946 0001",
            company=acme,
            country="GB",
            ext="list-7",
            postcode="SW1A1AA",
        ),
        "bob": _contact(
            "Robert",
            "Johnson",
            email="bob@initech.com",
            company=initech,
            country="US",
            ext="crm-2",
            postcode="10001",
        ),
        # First and last name swapped, another address at the same company.
        "bob_swapped": _contact(
            "Johnson",
            "Robert",
            email="rjohnson@initech.com",
            company=initech,
            country="US",
            postcode="10001",
        ),
        # A postal list: names and addresses, no email, no phone.
        "maria": _contact(
            "Maria",
            "Garcia",
            country="ES",
            ext="post-1",
            postcode="28013",
            street="Calle Mayor 5",
        ),
        "maria_again": _contact(
            "María",
            "García",
            country="ES",
            ext="post-2",
            postcode="28013",
            street="calle mayor, 5",
        ),
        # Same surname and country as Ann, otherwise a different person.
        "john_smith": _contact(
            "John",
            "Smith",
            email="john.smith@example.org",
            phone="+1 415 555 0199",
            country="US",
            postcode="94107",
        ),
    }
    for i, (first, last, country, postcode) in enumerate(OTHERS):
        made[f"other{i}"] = _contact(
            first,
            last,
            email=f"{first.lower()}.{last.lower()}@example.com",
            phone=f"+1 202 555 {1000 + i:04d}",
            country=country,
            postcode=postcode,
            street=f"{i + 1} {last} Road",
        )
    return made


def _run(*args) -> dict:
    """A dry run: these tests are about what is proposed (test_dedupe_queue: what is done)."""
    out = StringIO()
    call_command("dedupe", *args, "--dry-run", "--format", "json", stdout=out)
    return json.loads(out.getvalue())


def _pairs(document: dict) -> dict[frozenset, dict]:
    return {frozenset((p["left"]["id"], p["right"]["id"])): p for p in document["pairs"]}


ALL_FIELDS = "email,phone,name,company,country,attr.postcode,attr.street"


def test_true_duplicates_are_proposed_and_different_people_are_not(people):
    pairs = _pairs(_run("--fields", ALL_FIELDS))
    for a, b in [("ann", "ann_variant"), ("bob", "bob_swapped"), ("maria", "maria_again")]:
        pair = pairs.get(frozenset((people[a].pk, people[b].pk)))
        assert pair is not None, f"{a} and {b} were not proposed"
        assert pair["probability"] >= 0.6
    dup_ids = {people[k].pk for k in ("ann", "ann_variant", "bob", "bob_swapped", "maria")}
    dup_ids.add(people["maria_again"].pk)
    for key, pair in pairs.items():
        assert key <= dup_ids, f"different people proposed: {pair}"
    assert len(pairs) == 3


def same_mobile(*contacts) -> None:
    """Two addresses of one person, backed by the mobile both give (engine.backed)."""
    Contact.objects.filter(pk__in=[c.pk for c in contacts]).update(phone="+12125550143")


def test_the_postal_list_and_the_swapped_names_are_merged_automatically(people):
    same_mobile(people["bob"], people["bob_swapped"])
    pairs = _pairs(_run("--fields", ALL_FIELDS, "--threshold", "0.9"))
    swapped = pairs[frozenset((people["bob"].pk, people["bob_swapped"].pk))]
    postal = pairs[frozenset((people["maria"].pk, people["maria_again"].pk))]
    assert swapped["action"] == "merge"
    assert postal["action"] == "merge"
    assert postal["levels"]["name:first"] == "exact"  # accents do not count


def test_json_document_shape(people):
    document = _run("--fields", ALL_FIELDS)
    assert set(document) >= {"pairs", "counts", "fields", "seconds"}
    assert document["fields"] == ALL_FIELDS.split(",")
    assert document["merged"] is False
    assert document["counts"]["contacts"] == Contact.objects.count()
    assert document["counts"]["merged"] == 0
    assert document["counts"]["merge"] + document["counts"]["review"] == len(document["pairs"])
    pair = document["pairs"][0]
    assert set(pair) >= {"left", "right", "probability", "action", "levels", "outcome"}
    assert set(pair["left"]) == {"id", "external_id"}
    assert pair["action"] in {"merge", "review"}
    assert 0.6 <= pair["probability"] <= 1
    probabilities = [p["probability"] for p in document["pairs"]]
    assert probabilities == sorted(probabilities, reverse=True)
    ann = _pairs(document)[frozenset((people["ann"].pk, people["ann_variant"].pk))]
    assert {ann["left"]["external_id"], ann["right"]["external_id"]} == {"crm-1", "list-7"}
    # The older contact on the left, on every database.
    assert all(p["left"]["id"] < p["right"]["id"] for p in document["pairs"])


def test_fields_option_reads_custom_attributes(people):
    document = _run("--fields", "name,attr.postcode")
    assert document["fields"] == ["name", "attr.postcode"]
    maria = _pairs(document)[frozenset((people["maria"].pk, people["maria_again"].pk))]
    assert set(maria["levels"]) == {"name:first", "name:last", "attr.postcode"}
    assert maria["levels"]["attr.postcode"] == "exact"
    # Only email and phone: the postal list has neither, so Maria cannot be matched.
    by_phone = _pairs(_run("--fields", "email,phone"))
    assert frozenset((people["maria"].pk, people["maria_again"].pk)) not in by_phone
    assert frozenset((people["ann"].pk, people["ann_variant"].pk)) in by_phone


def test_thresholds_split_merge_from_review(people):
    document = _run("--fields", ALL_FIELDS, "--threshold", "1.0", "--review-threshold", "0.5")
    assert all(p["action"] == "review" for p in document["pairs"] if p["probability"] < 1.0)


def test_unknown_field_and_bad_thresholds_are_errors(people):
    with pytest.raises(CommandError, match="Unknown field"):
        _run("--fields", "email,shoe_size")
    with pytest.raises(CommandError, match="threshold"):
        _run("--threshold", "0.5", "--review-threshold", "0.8")


def test_an_attribute_no_contact_has_is_refused(people):
    with pytest.raises(CommandError, match="attr.postcod: no contact has this attribute"):
        call_command("dedupe", "--fields", "name,attr.postcod", "--dry-run", stdout=StringIO())


def test_text_output_is_a_table(people):
    out = StringIO()
    call_command("dedupe", "--fields", ALL_FIELDS, "--dry-run", stdout=out)
    text = out.getvalue()
    assert "probability" in text.splitlines()[0]
    assert "crm-1" in text and "list-7" in text
    assert "Dry run" in text


def test_parse_fields_kinds():
    fields = {f.name: f for f in parse_fields("name,attr.postcode,attr.city,attr.tier:exact")}
    assert fields["name"].columns == ("first_name", "last_name")
    assert (fields["attr.postcode"].kind, fields["attr.city"].kind) == ("code", "text")
    assert fields["attr.tier"].kind == "exact"
    with pytest.raises(UnknownField):
        parse_fields("email,email")
    assert [f.name for f in parse_fields(None)] == ["email", "phone", "name", "company", "country"]
    for nothing in ("", " , "):  # `--fields ''` is a mistake, not the defaults
        with pytest.raises(UnknownField, match="No fields to match on"):
            parse_fields(nothing)


def test_engine_takes_a_frame_without_the_database():
    frame = pl.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "external_id": ["a", "b", "c", "d"],
            "first_name": ["Katherine", "Kathryn", "Peter", "Zoe"],
            "last_name": ["O'Neill", "ONeill", "Jackson", "Quinn"],
            "attr.postcode": ["D02 X285", "d02x285", "90210", "SW1"],
        }
    )
    result = find_duplicates(frame, parse_fields("name,attr.postcode"))
    assert result.pairs.select("id_l", "id_r").rows() == [(1, 2)]
    assert result.counts()["contacts"] == 4


def test_name_keys_meet_swapped_names_and_a_changed_sound():
    from leadflow.acquisition.dedupe.blocking import candidate_pairs
    from leadflow.acquisition.dedupe.normalise import prepare

    frame = pl.DataFrame(
        {
            "first_name": ["Maria", "Gonzalez", "Maria", "Mario", "Peter"],
            "last_name": ["Gonzalez", "Maria", "Gotzalez", "Lopez", "Gonzalez"],
        }
    )
    fields = parse_fields("name")
    pairs, stats = candidate_pairs(prepare(frame, fields), fields)
    # swapped (0, 1); a surname whose Soundex changed still meets by the first name (0, 2);
    # same first-name sound but a different surname, or same surname and another first name
    # (different first two letters), do not.
    assert set(pairs.rows()) == {(0, 1), (0, 2), (1, 2)}
    assert list(stats.rules) == ["name:sound+prefix"]


def test_a_common_code_is_blocked_with_a_name_initial_and_large_blocks_are_skipped():
    from leadflow.acquisition.dedupe.blocking import candidate_pairs
    from leadflow.acquisition.dedupe.normalise import prepare

    n = 20  # one postcode for everyone: far more than two pairs per row
    frame = pl.DataFrame(
        {
            "first_name": [f"{c}x" for c in "abcdefghijklmnopqrst"],
            "last_name": ["zed" + "q" * i for i in range(n)],
            "attr.postcode": ["12345"] * n,
        }
    )
    frame[0, "first_name"] = "bob"  # shares the initial b with row 1
    fields = parse_fields("name,attr.postcode")
    prepared = prepare(frame, fields)
    pairs, stats = candidate_pairs(prepared, fields, max_block=5)
    assert "attr.postcode+initial" in stats.rules
    assert (0, 1) in set(pairs.rows())
    assert stats.skipped_blocks >= 1  # the surname initial z is shared by all 20


def test_edit_levels_count_a_swap_of_neighbours_as_one_edit():
    from leadflow.acquisition.dedupe.blocking import L, R
    from leadflow.acquisition.dedupe.compare import LEVELS, compare_pairs, comparisons
    from leadflow.acquisition.dedupe.normalise import prepare

    frame = pl.DataFrame(
        {
            "email": ["ann@x.com", "ann@x.com", "nan@x.com", "anx@x.com", "bnx@x.com", None]
            + [None, None],
            "attr.postcode": ["AB12", "AB12", "BA12", "A12", "BA21", "ZZ99", "CA", "ABC"],
        }
    )
    fields = parse_fields("email,attr.postcode")
    pairs = pl.DataFrame({L: [0, 0, 0, 0, 0, 6], R: [1, 2, 3, 4, 5, 7]})
    plan = comparisons(fields)
    gamma = compare_pairs(prepare(frame, fields), pairs, fields)
    named = [
        tuple(LEVELS[c.kind][g] if g >= 0 else None for c, g in zip(plan, row, strict=True))
        for row in gamma.tolist()
    ]
    assert named == [
        ("exact", "exact"),
        ("one edit", "one edit"),  # "an" -> "na", "AB" -> "BA": one swap of neighbours each
        ("one edit", "one edit"),  # a letter changed; a letter dropped
        ("different", "two edits"),  # two letters changed; two swaps
        (None, "different"),  # no email on one side
        # CA -> AC -> ABC: two edits by Damerau-Levenshtein (three by optimal string
        # alignment, which may not edit a swapped pair again).
        (None, "two edits"),
    ]


# A population for the model to learn from: 100 different people (20 first names, 20
# surnames, 5 people per first name and per surname), a second copy of 20 of them with the
# postcode mistyped (its last digit one up) and an exact copy of 20 more.
FIRST = "grace samuel olivia jack chloe liam mia noah ella lucas ruby oscar zoe henry ivy leo"
FIRST += " isla max ava finn"
LAST = "morrison ryan nguyen kelly walsh patel brown singh clarke young hughes baker price"
LAST += " lloyd mason watts ferris dunn hale quinn"


def _population(*extra: tuple[str, str, str], postcodes: int = 100) -> pl.DataFrame:
    first, last = FIRST.split(), LAST.split()
    people = [
        (first[i % 20], last[(i % 20 + i // 20) % 20], str(2000 + 37 * (i % postcodes)))
        for i in range(20, 120)
    ]
    typos = [(f, s, code[:3] + str((int(code[3]) + 1) % 10)) for f, s, code in people[:20]]
    rows = people + typos + people[20:40] + list(extra)
    return pl.DataFrame(
        {
            "id": list(range(1, len(rows) + 1)),
            "first_name": [r[0] for r in rows],
            "last_name": [r[1] for r in rows],
            "attr.postcode": [r[2] for r in rows],
        }
    )


def _action(result, left: int, right: int) -> tuple[str, float]:
    row = result.pairs.filter((pl.col("id_l") == left) & (pl.col("id_r") == right))
    assert row.height == 1, f"{left} and {right} were not proposed"
    return row["action"][0], row["probability"][0]


def test_same_name_and_postcodes_one_edit_apart_go_to_review_not_a_merge():
    # Two different Grace Morrisons in neighbouring postcodes, and nothing else to tell them
    # apart; then two records of one Samuel Ryan.
    extra = [
        ("Grace", "Morrison", "7120"),
        ("Grace", "Morrison", "7220"),
        ("Samuel", "Ryan", "7330"),
        ("Samuel", "Ryan", "7330"),
    ]
    frame = _population(*extra)
    n = frame.height
    result = find_duplicates(frame, parse_fields("name,attr.postcode"), external_id_column=None)

    action, probability = _action(result, n - 3, n - 2)
    # Postcode typos are common in this population, so the model finds the pair probable;
    # but a postcode one edit away is also the next district, and the name is shared by
    # many: nothing that identifies a person agrees, so a person decides.
    assert probability >= 0.6
    assert action == "review"
    assert _action(result, n - 1, n)[0] == "merge"  # the same postcode backs the name
    weights = result.model.weights()["attr.postcode"]
    assert weights["exact"] > weights["one edit"] + 3  # a near miss is not near-exact
    by_level = result.pairs.group_by("attr.postcode", "action").len()
    assert set(by_level.select("attr.postcode", "action").rows()) == {
        ("one edit", "review"),  # the 20 mistyped copies and the two Graces
        ("exact", "merge"),  # the 20 exact copies and Samuel
    }


def test_u_comes_from_random_pairs_not_from_the_candidates_blocking_chose():
    # 25 postcodes of 4 people each: the postcode is a blocking key, so most candidate pairs
    # are different people who share a postcode. Counted there, u said that sharing one was
    # common for different people (the exact level weighed -0.8 bits, one edit +9.9).
    frame = _population(postcodes=25)
    result = find_duplicates(frame, parse_fields("name,attr.postcode"), external_id_column=None)

    assert result.blocking.rules["attr.postcode"] > result.blocking.pairs * 0.8
    codes = frame["attr.postcode"].value_counts()["count"]
    same_postcode = float((codes * (codes - 1) / 2).sum()) / (frame.height * (frame.height - 1) / 2)
    exact = result.model.comparisons[2].levels.index("exact")
    u_exact = float(result.model.u[2][exact])
    assert same_postcode / 2 < u_exact < same_postcode * 2
    # So agreeing on the postcode is evidence for a match, as it should be.
    assert result.model.weights()["attr.postcode"]["exact"] > 3


def test_names_and_a_country_alone_never_merge_automatically(people):
    maria = frozenset((people["maria"].pk, people["maria_again"].pk))
    by_country = _pairs(_run("--fields", "name,country", "--threshold", "0.6"))
    assert by_country[maria]["action"] == "review"
    by_postcode = _pairs(_run("--fields", "name,attr.postcode", "--threshold", "0.6"))
    assert by_postcode[maria]["action"] == "merge"


def test_a_shared_phone_backs_a_merge_only_when_the_first_names_are_not_different():
    import numpy as np

    from leadflow.acquisition.dedupe.compare import comparisons
    from leadflow.acquisition.dedupe.engine import backed

    plan = comparisons(parse_fields("email,phone,name"))
    names = [c.name for c in plan]
    assert names == ["email", "phone", "name:first", "name:last"]
    exact_phone, unknown, different, exact = 2, -1, 0, 3
    gamma = np.array(
        [
            [unknown, exact_phone, different, exact],  # John and Jane Smith on one line
            [unknown, exact_phone, exact, exact],  # John Smith twice
            [unknown, exact_phone, unknown, exact],  # one side has no first name
            [2, exact_phone, different, exact],  # the same email: one person after all
        ]
    )
    assert backed(gamma, plan).tolist() == [False, True, True, True]


def test_colleagues_of_one_name_with_two_addresses_go_to_review_unless_a_phone_backs_them(db):
    # Backed by the company alone, different emails are two people as often as one: the
    # import keeps them apart, and dedupe asks a person. One phone makes them one person.
    acme = Company.objects.create(name="Acme")
    one = _contact("John", "Smith", email="j.smith1@acme.com", company=acme, country="US")
    two = _contact("John", "Smith", email="j.smith2@acme.com", company=acme, country="US")
    work = _contact(
        "John", "Smith", email="john.smith@acme.com", phone="+14155550200", company=acme
    )
    home = _contact("Jon", "Smith", email="jsmith@gmail.com", phone="415 555 0200", company=acme)
    pairs = _pairs(_run())
    assert pairs[frozenset((one.pk, two.pk))]["action"] == "review"
    assert pairs[frozenset((work.pk, home.pk))]["action"] == "merge"
    assert pairs[frozenset((one.pk, work.pk))]["action"] == "review"
