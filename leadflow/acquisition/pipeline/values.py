"""Value parsers the other kinds need: amounts, currencies, counts and domains (dates are
in `dates`).

All of them are Polars expressions (or work a whole column at once), so a file of a
million rows is parsed without a Python call per row. A value that cannot be read becomes
null; the caller compares it with the raw value to reject the row or warn about it.
"""

import polars as pl

# Symbols seen in amounts and currency columns; longest first, so "US$" is not read as "$".
CURRENCY_SYMBOLS = {
    "US$": "USD",
    "CA$": "CAD",
    "AU$": "AUD",
    "R$": "BRL",
    "C$": "CAD",
    "A$": "AUD",
    "$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
}
_SYMBOL_PATTERN = "(" + "|".join(s.replace("$", r"\$") for s in CURRENCY_SYMBOLS) + ")"
# ISO 4217 codes in use (2025), so that "abc" or "N/A" is not taken for a currency.
_ISO_4217 = """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD
    BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR
    FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD
    JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT
    MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG
    QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB
    TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF
    YER ZAR ZMW ZWG ZWL"""
CURRENCY_CODES = frozenset(_ISO_4217.split())
_CODE_PATTERN = r"(?:^|[^A-Z])(" + "|".join(sorted(CURRENCY_CODES)) + r")(?:[^A-Z]|$)"
AMOUNT_DIGITS = 12  # Decimal(max_digits=14, decimal_places=2) in Deal, Spend, Campaign


def blank_to_null(expr: pl.Expr) -> pl.Expr:
    cleaned = expr.str.strip_chars()
    return pl.when(cleaned != "").then(cleaned)  # named after `expr`, like the input


def currency_code(expr: pl.Expr) -> pl.Expr:
    """ "eur", " EUR ", "€" -> "EUR"; anything that is not an ISO 4217 code -> null."""
    code = blank_to_null(expr).replace(CURRENCY_SYMBOLS).str.to_uppercase()
    return pl.when(code.is_in(list(CURRENCY_CODES))).then(code)


def amount_and_currency(column: str) -> tuple[pl.Expr, pl.Expr]:
    """An amount as written ("$1,200", "1.234,50 €", "(12.50)", "EUR 99") as a plain
    decimal string ("1200", "1234.50", "-12.50", "99"), and the currency it names, if any.

    With both "," and "." the last one is the decimal separator. A lone "," is decimal
    unless exactly three digits follow it ("1,200" is twelve hundred, "12,5" twelve and a
    half); a lone "." is decimal, several are thousands ("1.234.567"). Spaces and
    apostrophes between digits are thousands separators ("1 234", "1'234").
    """
    text = blank_to_null(pl.col(column))
    symbol = text.str.extract(_SYMBOL_PATTERN, 1).replace(CURRENCY_SYMBOLS)
    code = text.str.to_uppercase().str.extract(_CODE_PATTERN, 1)
    currency = pl.coalesce(code, symbol)
    negative = text.str.contains(r"^\s*\(.*\)\s*$") | text.str.contains(r"-\s*[0-9.,]")
    digits = text.str.replace_all(r"[^0-9.,]", "")
    has_comma, has_dot = digits.str.contains(","), digits.str.contains(r"\.")
    last = digits.str.extract(r"([.,])[0-9]*$", 1)
    after_comma = digits.str.extract(r",([0-9]*)$", 1).str.len_chars()
    comma_decimal = (has_comma & has_dot & (last == ",")) | (
        has_comma & ~has_dot & (digits.str.count_matches(",") == 1) & (after_comma != 3)
    )
    number = (
        pl.when(comma_decimal)
        .then(digits.str.replace_all(r"\.", "").str.replace(",", "."))
        .when(has_dot & (digits.str.count_matches(r"\.") > 1))
        .then(digits.str.replace_all(r"[.,]", ""))
        .otherwise(digits.str.replace_all(",", ""))
    )
    valid = number.str.contains(r"^[0-9]*\.?[0-9]+$") | number.str.contains(r"^[0-9]+\.$")
    signed = pl.when(~negative).then(number).otherwise(pl.lit("-") + number)
    return pl.when(valid).then(signed).alias(column), currency.alias(f"{column}_currency")


def amount_too_large(amount: pl.Expr) -> pl.Expr:
    """More whole digits than the money columns hold."""
    whole = amount.str.replace(r"^-", "").str.replace(r"\..*$", "").str.strip_chars_start("0")
    return whole.str.len_chars() > AMOUNT_DIGITS


def count(expr: pl.Expr) -> pl.Expr:
    """A head count as written ("250", "1,000+", "51-200" -> its lower bound 51) or null."""
    digits = blank_to_null(expr).str.replace_all(r"[,.' ](\d{3})", "$1")
    return digits.str.extract(r"(\d+)", 1).cast(pl.Int64, strict=False)


DOMAIN_PATTERN = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"


def domain(expr: pl.Expr) -> pl.Expr:
    """ "https://www.Acme.com/about" or "info@acme.com" -> "acme.com"; else null."""
    value = (
        blank_to_null(expr)
        .str.to_lowercase()
        .str.replace(r"^[a-z][a-z0-9+.-]*://", "")
        .str.replace(r"^.*@", "")
        .str.replace(r"[/?#:].*$", "")
        .str.replace(r"^www\.", "")
        .str.strip_chars(".")
    )
    readable = value.str.contains(DOMAIN_PATTERN) & (value.str.len_chars() <= 253)
    return pl.when(readable).then(value)
