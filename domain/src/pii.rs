//! Finding personal data in free text: payment cards, national id numbers, phone numbers and
//! email addresses of people who are not on the case.
//!
//! Support text is full of numbers that only look like personal data (case numbers, dates, IP
//! addresses, versions, error codes, timestamps, hashes). Every rule here therefore wants a
//! shape that people use for the personal datum and rejects numbers glued to other technical
//! tokens; a bare run of digits is never a phone number.
//!
//! Text is normalised first (NFKC, format characters removed), so that what copy-paste
//! produces (no-break spaces, full-width digits and `＠`, zero-width characters inside an
//! address) is scanned as what it displays. Card numbers must fall in an issuer's range and
//! length; phone numbers must be valid numbers to libphonenumber's metadata (the `phonenumber`
//! crate), not only shaped like one.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::LazyLock;

use phonenumber::country::Id as Region;
use regex::{Match, Regex};
use unicode_normalization::UnicodeNormalization;

use crate::values::is_format_control;

/// The kind of personal data a scan found; serialised by the API as snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PiiKind {
    /// A Luhn-valid payment card number.
    PaymentCardNumber,
    /// A US Social Security number or UK National Insurance number.
    NationalIdNumber,
    /// An international or national phone number.
    PhoneNumber,
    /// An email address of someone who is not on the case.
    EmailAddress,
}

impl PiiKind {
    /// The snake_case name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::PaymentCardNumber => "payment_card_number",
            PiiKind::NationalIdNumber => "national_id_number",
            PiiKind::PhoneNumber => "phone_number",
            PiiKind::EmailAddress => "email_address",
        }
    }
}

/// Scans one free-text value; returns the distinct kinds found, sorted, never the matched text.
/// `is_participant` says whether an email address (already lower-cased) belongs to someone
/// on the case (its subscribers, its creator, the partner's or customer's own domain people);
/// such addresses are allowed.
pub fn scan(text: &str, is_participant: &dyn Fn(&str) -> bool) -> Vec<PiiKind> {
    let text = &*normalise(text);
    let mut found = BTreeSet::new();
    if has_card_number(text) {
        found.insert(PiiKind::PaymentCardNumber);
    }
    if has_ssn(text) || has_ni_number(text) {
        found.insert(PiiKind::NationalIdNumber);
    }
    if has_phone_number(text) {
        found.insert(PiiKind::PhoneNumber);
    }
    if has_stranger_email(text, is_participant) {
        found.insert(PiiKind::EmailAddress);
    }
    found.into_iter().collect()
}

/// The text as it displays: NFKC (full-width digits and `＠` become ASCII, no-break and other
/// fixed-width spaces a space) without format characters (zero-width and bidi controls).
fn normalise(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.nfkc().filter(|c| !is_format_control(*c)).collect())
}

/// Compiles one of this module's patterns.
// The patterns are string literals of this file and the `every_pattern_compiles` test builds
// each of them, so a failure here is a bug caught by the test suite, never a runtime condition.
#[allow(clippy::expect_used)]
fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("the pii patterns are constants verified by tests")
}

// `[0-9]` throughout rather than `\d`, which in the regex crate also matches other scripts'
// digits (Arabic-Indic, full-width) that no one writes card or phone numbers with here.

/// Maximal runs of digits joined by single spaces, dashes, dots or slashes.
static DIGIT_RUN: LazyLock<Regex> = LazyLock::new(|| compile(r"[0-9]+(?:[ ./-][0-9]+)*"));

/// US SSN: 3-2-4 digits, joined by dashes, dots or spaces.
static SSN: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"[0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{3} [0-9]{2} [0-9]{4}|[0-9]{3}\.[0-9]{2}\.[0-9]{4}")
});

/// An SSN written as nine bare digits, which only its label tells from any other number.
static SSN_LABELLED: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?:\b[Ss][Ss][Nn]|[Ss]ocial [Ss]ecurity(?: [Nn]umber| [Nn]o\.?)?)[ ]?[:#]?[ ]?([0-9]{9})",
    )
});

/// UK NI number: the official letter rules (first not D F I Q U V; second not those nor O),
/// six digits optionally in pairs, suffix A to D. Spelled out in both cases rather than `(?i)`
/// so that Unicode case folding (the Kelvin sign for K) cannot let non-ASCII letters in.
static NI_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"[A-CEGHJ-PR-TW-Za-ceghj-pr-tw-z][A-CEGHJ-NPR-TW-Za-ceghj-npr-tw-z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-Da-d]",
    )
});

/// International numbers: `+`, a country code, then digit groups separated by one space, dot
/// or dash, with an optional parenthesised part such as the German `(0)`.
static E164: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"\+[1-9][0-9]{0,14}(?:[ .-]?\([0-9]{1,4}\))?(?:[ .-]?[0-9]{1,14}){0,8}")
});

/// North American 3-3-4 numbers with dashes or dots (the same one twice), optionally after a
/// `1` country prefix.
static NANP: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?:1-)?[2-9][0-9]{2}-[2-9][0-9]{2}-[0-9]{4}|(?:1\.)?[2-9][0-9]{2}\.[2-9][0-9]{2}\.[0-9]{4}",
    )
});

/// A parenthesised area code: `(415) 555-2671`, `(020) 7946 0958`.
static PAREN_AREA: LazyLock<Regex> =
    LazyLock::new(|| compile(r"\((?:0[0-9]{2,4}|[2-9][0-9]{2})\) ?[0-9]{3,4}[ .-]?[0-9]{3,4}"));

/// National numbers after a `0` trunk prefix: `020 7946 0958`, `030/1234567`, `030-1234567`.
/// The area code has at least three digits so `05-03-2024` is not a candidate, and a dash
/// joins only area and subscriber: zero-led serials and references (`0123-4567-8901`,
/// `020-2024-0315`) chain short groups with dashes, phone numbers rarely do. The subscriber
/// number after the area code does not start with a 0 (the trunk prefix), so zero-led lists
/// (`modes 0755 0644 0600`) are not candidates.
static TRUNK: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"0[1-9][0-9]{1,4}(?:-[1-9][0-9]{4,7}|[ /][1-9][0-9]{1,7}(?: [0-9]{2,8}){0,2})")
});

/// `local@domain.tld`, ASCII only: without that, letters of a language written without
/// spaces (Chinese, Japanese) would be glued onto the local part.
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
});

/// Whether a number starting at `start` stands on its own rather than continuing a technical
/// token: an identifier (`ORD-`, `0x`), a dotted or coloned value (`1.2.3`, `10:22`), a path,
/// an offset (`+01`) or an amount (`$`).
fn clear_before(text: &str, start: usize) -> bool {
    let mut before = text[..start].chars().rev();
    match before.next() {
        None => true,
        Some(c) if c.is_ascii_alphanumeric() || "_+-/\\@$€£¥".contains(c) => false,
        // `1.2`, `1,234`, `10:22`, `::1` continue a number; `SSN: 1`, `Nr. 1`, `ssn:1` do not.
        Some('.' | ',') => !before.next().is_some_and(|c| c.is_ascii_digit()),
        Some(':') => !before
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == ':'),
        Some(_) => true,
    }
}

/// Whether a number ending at `end` stands on its own; a full stop or comma ending a sentence
/// is fine, one followed by more digits (`6789.5`, `:8080`) is not.
fn clear_after(text: &str, end: usize) -> bool {
    let mut after = text[end..].chars();
    match after.next() {
        None => true,
        Some(c) if c.is_ascii_alphanumeric() || "_/\\@%".contains(c) => false,
        Some('.' | ',' | ':' | '-') => !after.next().is_some_and(|c| c.is_ascii_alphanumeric()),
        Some(_) => true,
    }
}

fn standalone(text: &str, m: &Match<'_>) -> bool {
    clear_before(text, m.start()) && clear_after(text, m.end())
}

fn digit_count(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

fn has_card_number(text: &str) -> bool {
    DIGIT_RUN
        .find_iter(text)
        .any(|run| run_holds_card(text, &run))
}

/// Looks for a card inside a run such as `case 12345678 4111 1111 1111 1111`: any window of
/// whole groups that starts and ends at a space (or the run's ends) and is shaped like a card.
fn run_holds_card(text: &str, run: &Match<'_>) -> bool {
    let s = run.as_str();
    // Groups as byte ranges within the run, and the separator after each but the last.
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut seps: Vec<u8> = Vec::new();
    let mut group_start = 0;
    for (i, b) in s.bytes().enumerate() {
        if !b.is_ascii_digit() {
            groups.push((group_start, i));
            seps.push(b);
            group_start = i + 1;
        }
    }
    groups.push((group_start, s.len()));
    let n = groups.len();
    for first in 0..n {
        if first > 0 && seps[first - 1] != b' ' {
            continue;
        }
        // Only spaces separate a card from the text before it inside a run.
        if first == 0 && !clear_before(text, run.start()) {
            continue;
        }
        let mut digits = 0;
        for last in first..n {
            if last > first && seps[last - 1] != seps[first] {
                break;
            }
            digits += groups[last].1 - groups[last].0;
            if digits > 19 {
                break;
            }
            let ends_cleanly = if last + 1 == n {
                clear_after(text, run.end())
            } else {
                seps[last] == b' '
            };
            if digits >= 13 && ends_cleanly && card_shaped(&groups[first..=last]) {
                let number: String = s[groups[first].0..groups[last].1]
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect();
                if is_card_number(&number) {
                    return true;
                }
            }
        }
    }
    false
}

/// Cards are written unbroken, from a first group of four (`4-4-4-4`, `4-6-5`, `4-4-4-4-3`),
/// or digit by digit (`4 1 1 1 …`, as read out); other groupings of 13 to 19 digits are lists
/// of numbers.
fn card_shaped(groups: &[(usize, usize)]) -> bool {
    let len = |g: &(usize, usize)| g.1 - g.0;
    if groups.len() > 1 && groups.iter().all(|g| len(g) == 1) {
        return true;
    }
    match groups {
        [_] => true,
        [first, middle @ .., last] => {
            len(first) == 4
                && middle.iter().all(|g| (4..=6).contains(&len(g)))
                && (1..=6).contains(&len(last))
        }
        [] => false,
    }
}

/// 13–19 digits, not one digit repeated, in an issuer's range and of a length it issues,
/// Luhn-valid.
fn is_card_number(digits: &str) -> bool {
    let bytes = digits.as_bytes();
    if !(13..=19).contains(&bytes.len()) || bytes.iter().all(|&b| b == bytes[0]) {
        return false;
    }
    issued(digits) && luhn_valid(bytes)
}

/// The card brands' number ranges (IIN prefixes) and lengths. Checking them keeps millisecond
/// timestamps (`17…`), date-prefixed ids (`2024…`) and device ids such as IMEIs (15 digits,
/// `35…`, `49…`, `86…`) from being a card one time in ten by chance of the Luhn sum.
const ISSUERS: &[(u32, u32, std::ops::RangeInclusive<usize>)] = &[
    // Visa.
    (4, 4, 13..=13),
    (4, 4, 16..=16),
    (4, 4, 19..=19),
    // Mastercard, and its 2-series.
    (51, 55, 16..=16),
    (2221, 2720, 16..=16),
    // Mir.
    (2200, 2204, 16..=19),
    // American Express.
    (34, 34, 15..=15),
    (37, 37, 15..=15),
    // Diners Club.
    (300, 305, 14..=19),
    (36, 36, 14..=19),
    (38, 39, 16..=19),
    // JCB.
    (3528, 3589, 16..=19),
    // Discover, UnionPay.
    (6011, 6011, 16..=19),
    (644, 649, 16..=19),
    (65, 65, 16..=19),
    (62, 62, 16..=19),
    // Maestro.
    (50, 50, 13..=19),
    (56, 58, 13..=19),
    (63, 63, 13..=19),
    (67, 67, 13..=19),
];

fn issued(digits: &str) -> bool {
    ISSUERS.iter().any(|(low, high, lengths)| {
        let width = low.to_string().len();
        lengths.contains(&digits.len())
            && digits
                .get(..width)
                .and_then(|p| p.parse::<u32>().ok())
                .is_some_and(|prefix| (*low..=*high).contains(&prefix))
    })
}

fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn has_ssn(text: &str) -> bool {
    let shaped = SSN.find_iter(text).any(|m| {
        standalone(text, &m) && !continues_with_same_separator(text, &m) && ssn_valid(m.as_str())
    });
    shaped
        || SSN_LABELLED.captures_iter(text).any(|c| {
            c.get(1)
                .is_some_and(|m| clear_after(text, m.end()) && ssn_valid(m.as_str()))
        })
}

/// The Social Security Administration never issues area 000, 666 or 9xx, group 00 or serial
/// 0000.
fn ssn_valid(number: &str) -> bool {
    let digits: Vec<u8> = number.bytes().filter(u8::is_ascii_digit).collect();
    if digits.len() != 9 {
        return false;
    }
    let (area, rest) = digits.split_at(3);
    let (group, serial) = rest.split_at(2);
    area != b"000" && area != b"666" && area[0] != b'9' && group != b"00" && serial != b"0000"
}

/// `123 45 6789` inside `2 123 45 6789 0` is part of a longer space-separated list; likewise
/// for dashes. A different separator (`123-45-6789 987-65-4321`) is a list of SSNs.
fn continues_with_same_separator(text: &str, m: &Match<'_>) -> bool {
    let sep = m.as_str().as_bytes()[3];
    let bytes = text.as_bytes();
    let before =
        m.start() >= 2 && bytes[m.start() - 1] == sep && bytes[m.start() - 2].is_ascii_digit();
    let after =
        bytes.len() > m.end() + 1 && bytes[m.end()] == sep && bytes[m.end() + 1].is_ascii_digit();
    before || after
}

fn has_ni_number(text: &str) -> bool {
    const UNALLOCATED: [&[u8; 2]; 7] = [b"BG", b"GB", b"NK", b"KN", b"TN", b"NT", b"ZZ"];
    NI_NUMBER.find_iter(text).any(|m| {
        let prefix = m.as_str().as_bytes()[..2].to_ascii_uppercase();
        standalone(text, &m)
            && !UNALLOCATED.iter().any(|p| p[..] == prefix[..])
            && (written_as_ni_number(m.as_str()) || labelled_as_ni_number(text, m.start()))
    })
}

/// NI numbers are printed in capitals; in lower case the same shape is far more often a hash
/// or a revision (`commit ea123456b`).
fn written_as_ni_number(candidate: &str) -> bool {
    !candidate.bytes().any(|b| b.is_ascii_lowercase())
}

/// Whether the words just before `start` name a National Insurance number.
fn labelled_as_ni_number(text: &str, start: usize) -> bool {
    let before = recent_context(text, start)
        .trim_end_matches([' ', ':', '#', '.'])
        .to_ascii_lowercase();
    [
        "ni",
        "nino",
        "ni number",
        "ni no",
        "national insurance",
        "national insurance number",
    ]
    .iter()
    .any(|label| {
        before.strip_suffix(label).is_some_and(|rest| {
            !rest
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric())
        })
    })
}

/// The regions whose national numbers (written with their trunk prefix or area code, without
/// a country code) are checked: where the service's partners and customers mostly are.
const NATIONAL_REGIONS: [Region; 12] = [
    Region::US,
    Region::GB,
    Region::DE,
    Region::FR,
    Region::IT,
    Region::ES,
    Region::NL,
    Region::IE,
    Region::AT,
    Region::CH,
    Region::BE,
    Region::AU,
];

fn has_phone_number(text: &str) -> bool {
    E164.find_iter(text)
        .any(|m| grouped_numbers(text, &m, 10..=15).any(|n| valid_phone_number(n, None)))
        || TRUNK
            .find_iter(text)
            .any(|m| grouped_numbers(text, &m, 10..=12).any(valid_national_number))
        || NANP
            .find_iter(text)
            .chain(PAREN_AREA.find_iter(text))
            .any(|m| standalone(text, &m) && valid_national_number(m.as_str()))
}

/// A number shaped like a phone number is one only if libphonenumber's metadata knows it as
/// a valid number (of the country its `+` code names, or of `region`): `+2147483647` has no
/// country, `0755 0644 0600` no region's numbering plan.
fn valid_phone_number(candidate: &str, region: Option<Region>) -> bool {
    phonenumber::parse(region, candidate).is_ok_and(|n| phonenumber::is_valid(&n))
}

fn valid_national_number(candidate: &str) -> bool {
    NATIONAL_REGIONS
        .iter()
        .any(|r| valid_phone_number(candidate, Some(*r)))
}

/// The patterns are greedy, so `020 7946 0958 12 items` matches with the `12`: the candidates
/// are the prefixes ending at a space (or the match's end) with the right digit count.
fn grouped_numbers<'t>(
    text: &'t str,
    m: &Match<'t>,
    digits: std::ops::RangeInclusive<usize>,
) -> impl Iterator<Item = &'t str> {
    let s = m.as_str();
    let start = m.start();
    let clear = clear_before(text, start);
    s.char_indices()
        .filter(|&(_, c)| c == ' ')
        .map(|(i, _)| i)
        .chain([s.len()])
        .filter(move |&cut| {
            clear && digits.contains(&digit_count(&s[..cut])) && clear_after(text, start + cut)
        })
        .map(move |cut| &s[..cut])
}

fn has_stranger_email(text: &str, is_participant: &dyn Fn(&str) -> bool) -> bool {
    EMAIL.find_iter(text).any(|m| {
        let Some(address) = personal_address(text, &m) else {
            return false;
        };
        !is_participant(&address.to_ascii_lowercase())
    })
}

/// File extensions that follow `@2x`-style asset names (`icon@2x.png`) and are not mail domains.
const FILE_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "pdf", "txt", "log", "json", "xml",
    "yaml", "yml", "js", "ts", "css", "html", "htm", "gz", "tar", "exe", "dll",
];

/// Mail headers that carry message ids, which have the shape of addresses.
const MESSAGE_ID_HEADERS: &[&str] = &[
    "message-id",
    "message id",
    "msg-id",
    "in-reply-to",
    "references",
];

/// The address a match denotes when it is a person's mailbox, or `None` for the look-alikes
/// of technical text: URL credentials, git remotes, asset names and message ids.
fn personal_address<'t>(text: &'t str, m: &Match<'t>) -> Option<&'t str> {
    let raw = m.as_str();
    let trimmed = raw.trim_start_matches(['.', '-', '+', '%']);
    let start = m.start() + (raw.len() - trimmed.len());
    let (local, domain) = trimmed.split_once('@')?;
    if local.is_empty() {
        return None;
    }
    let tld = domain.rsplit('.').next().unwrap_or_default();
    if FILE_EXTENSIONS
        .iter()
        .any(|ext| ext.eq_ignore_ascii_case(tld))
    {
        return None;
    }
    // `git@github.com:org/repo.git`: host and path, not a mailbox.
    let mut after = text[m.end()..].chars();
    if after.next() == Some(':') && after.next().is_some_and(|c| !c.is_whitespace()) {
        return None;
    }
    let context = recent_context(text, start);
    // `ssh://git@host` and `https://user:pw@host`: the user of a URL, not a mailbox.
    let token = context
        .rsplit(char::is_whitespace)
        .next()
        .unwrap_or_default();
    if token
        .split_once("://")
        .is_some_and(|(_, authority)| !authority.contains('/'))
    {
        return None;
    }
    // Only a bracketed id after a header name counts: a sentence that mentions a message id
    // must not hide an address written later in it.
    let in_id_header = token.starts_with('<') && {
        let context = context.to_ascii_lowercase();
        MESSAGE_ID_HEADERS.iter().any(|h| context.contains(h))
    };
    if in_id_header || machine_generated(local) {
        return None;
    }
    Some(trimmed)
}

/// The text on the same line before `start`, at most 100 bytes of it: enough to see a header
/// name or a URL scheme without rescanning long lines for every address.
fn recent_context(text: &str, start: usize) -> &str {
    let mut from = start.saturating_sub(100);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    let window = &text[from..start];
    window.rsplit('\n').next().unwrap_or(window)
}

/// Message ids, VERP bounce addresses and the like have a long machine-made part holding
/// digits (`CAGx5sJ8a…`, a timestamp, a UUID's last group); people's mailboxes do not.
fn machine_generated(local: &str) -> bool {
    local
        .split(['.', '_', '-', '+', '='])
        .any(|part| part.len() >= 12 && part.bytes().any(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use PiiKind::*;

    fn nobody(_: &str) -> bool {
        false
    }

    fn scan_strangers(text: &str) -> Vec<PiiKind> {
        scan(text, &nobody)
    }

    /// Checks each input against its expected kinds, naming the input that failed.
    fn check(cases: &[(&str, &[PiiKind])]) {
        let failures: Vec<String> = cases
            .iter()
            .filter_map(|(input, expected)| {
                let got = scan_strangers(input);
                (got != *expected).then(|| format!("{input:?}: expected {expected:?}, got {got:?}"))
            })
            .collect();
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    fn check_clean(inputs: &[&str]) {
        let cases: Vec<(&str, &[PiiKind])> = inputs.iter().map(|i| (*i, &[][..])).collect();
        check(&cases);
    }

    #[test]
    fn every_pattern_compiles() {
        for re in [
            &DIGIT_RUN,
            &SSN,
            &SSN_LABELLED,
            &NI_NUMBER,
            &E164,
            &NANP,
            &PAREN_AREA,
            &TRUNK,
            &EMAIL,
        ] {
            assert!(!re.as_str().is_empty());
        }
    }

    #[test]
    fn what_copy_paste_produces_is_scanned_as_it_displays() {
        check(&[
            (
                "card 4111\u{a0}1111\u{a0}1111\u{a0}1111",
                &[PaymentCardNumber],
            ),
            (
                "card 4111\u{202f}1111\u{202f}1111\u{202f}1111",
                &[PaymentCardNumber],
            ),
            ("card 4111.1111.1111.1111", &[PaymentCardNumber]),
            ("card 4111/1111/1111/1111", &[PaymentCardNumber]),
            ("card 4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", &[PaymentCardNumber]),
            (
                "card ４１１１ １１１１ １１１１ １１１１",
                &[PaymentCardNumber],
            ),
            ("card 41\u{200b}11111111111111", &[PaymentCardNumber]),
            ("SSN 123456789", &[NationalIdNumber]),
            ("social security number: 078051120", &[NationalIdNumber]),
            ("ssn 123.45.6789", &[NationalIdNumber]),
            ("ssn １２３-４５-６７８９", &[NationalIdNumber]),
            ("mail jane.doe＠gmail.com", &[EmailAddress]),
            ("mail jane.\u{200b}doe@gmail.com", &[EmailAddress]),
            ("mail jane.doe@gm\u{200d}ail.com", &[EmailAddress]),
            ("call ＋４４ ２０ ７９４６ ０９５８", &[PhoneNumber]),
        ]);
    }

    #[test]
    fn technical_look_alikes_of_personal_data_pass() {
        check_clean(&[
            "IMEI 356938035643809",
            "imei=490154203237518",
            "overflow at +2147483647",
            "modes 0755 0644 0600",
            "commit ea123456b",
            "rev ab123456c merged",
            "ticket 123456789",
        ]);
    }

    #[test]
    fn card_numbers_need_an_issuer_s_range_and_length() {
        // Luhn-valid, but no brand issues these lengths with these prefixes.
        check_clean(&["411111111111113", "37828224631000", "35693803564380"]);
        check(&[("jcb 3530111333300000", &[PaymentCardNumber])]);
    }

    #[test]
    fn kind_names_are_the_api_s_snake_case_names() {
        assert_eq!(PaymentCardNumber.as_str(), "payment_card_number");
        assert_eq!(NationalIdNumber.as_str(), "national_id_number");
        assert_eq!(PhoneNumber.as_str(), "phone_number");
        assert_eq!(EmailAddress.as_str(), "email_address");
    }

    #[test]
    fn empty_and_plain_text_has_no_findings() {
        check_clean(&["", "   ", "The mail flow stopped after the MX change."]);
    }

    // Payment cards.

    #[test]
    fn luhn_valid_card_number_with_spaces_is_detected() {
        check(&[
            ("card 4111 1111 1111 1111 was charged", &[PaymentCardNumber]),
            ("amex 3782 822463 10005", &[PaymentCardNumber]),
        ]);
    }

    #[test]
    fn luhn_valid_card_number_with_dashes_is_detected() {
        check(&[
            ("card 4111-1111-1111-1111 was charged", &[PaymentCardNumber]),
            ("mc 5555-5555-5555-4444.", &[PaymentCardNumber]),
        ]);
    }

    #[test]
    fn luhn_valid_card_number_without_separators_is_detected() {
        check(&[
            ("amex 378282246310005", &[PaymentCardNumber]),
            ("visa 4111111111111111", &[PaymentCardNumber]),
            ("visa 4222222222222 (13 digits)", &[PaymentCardNumber]),
            ("mc 2-series 2223003122003222", &[PaymentCardNumber]),
            ("discover 6011111111111117", &[PaymentCardNumber]),
            ("?pan=4111111111111111&exp=1225", &[PaymentCardNumber]),
        ]);
    }

    #[test]
    fn card_number_following_other_numbers_is_detected() {
        check(&[
            ("case 12345678 4111 1111 1111 1111", &[PaymentCardNumber]),
            (
                "on 2024-03-15 4111 1111 1111 1111 was used",
                &[PaymentCardNumber],
            ),
            ("v1.2.3 4111 1111 1111 1111", &[PaymentCardNumber]),
        ]);
    }

    #[test]
    fn luhn_invalid_sixteen_digit_number_is_not_a_card() {
        check_clean(&[
            "4111 1111 1111 1112",
            "4111111111111112",
            "5555-5555-5555-4445",
        ]);
    }

    #[test]
    fn one_digit_repeated_is_not_a_card() {
        check_clean(&[
            "0000 0000 0000 0000",
            "4444444444444444",
            "5555555555555555",
        ]);
    }

    #[test]
    fn luhn_valid_numbers_outside_card_issuer_ranges_are_not_cards() {
        // Each Luhn-valid, but starting 0, 1, 7, 9 or 20: no payment card issuer uses these.
        check_clean(&[
            "0123456789012347",
            "1111111111111117",
            "7000000000000005",
            "9000000000000001",
            "2024031500000008",
        ]);
    }

    #[test]
    fn thirteen_to_nineteen_digits_in_a_non_card_grouping_are_not_a_card() {
        // 4111 1111 1111 1111 regrouped: a list of numbers, not how cards are written.
        check_clean(&["41 11 11 11 11 11 11 11", "411 111 111 111 1111"]);
    }

    #[test]
    fn digit_runs_longer_than_nineteen_digits_are_not_cards() {
        check_clean(&["41111111111111111111111", "4111-1111-1111-1111-1111-1111"]);
    }

    // National id numbers.

    #[test]
    fn us_ssn_with_dashes_is_detected() {
        check(&[
            ("SSN 123-45-6789", &[NationalIdNumber]),
            ("ssn:078-05-1120.", &[NationalIdNumber]),
            ("SSNs 123-45-6789 987-65-4321", &[NationalIdNumber]),
        ]);
    }

    #[test]
    fn us_ssn_with_spaces_is_detected() {
        check(&[("SSN 123 45 6789", &[NationalIdNumber])]);
    }

    #[test]
    fn ssn_shaped_number_with_an_invalid_area_group_or_serial_is_not_an_ssn() {
        check_clean(&[
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "999-12-3456",
            "123-00-4567",
            "123-45-0000",
            "000 12 3456",
        ]);
    }

    #[test]
    fn ssn_shaped_part_of_a_longer_token_is_not_an_ssn() {
        check_clean(&[
            "ORD-123-45-6789",
            "1.123-45-6789",
            "123-45-6789-01",
            "build 2 123 45 6789",
        ]);
    }

    #[test]
    fn uk_national_insurance_number_is_detected_in_any_case_and_spacing() {
        check(&[
            ("NI AB123456C", &[NationalIdNumber]),
            ("NI ab123456c", &[NationalIdNumber]),
            ("NI AB 12 34 56 C", &[NationalIdNumber]),
            ("NI: ZA 99 88 77 D.", &[NationalIdNumber]),
        ]);
    }

    #[test]
    fn uk_national_insurance_number_breaking_the_official_rules_is_not_detected() {
        check_clean(&[
            "DA123456C", // first letter D
            "FA123456C", // first letter F
            "IA123456C", // first letter I
            "QQ123456C", // HMRC's own example: Q is never used
            "UA123456C", // first letter U
            "VA123456C", // first letter V
            "AO123456C", // second letter O
            "AD123456C", // second letter D
            "BG123456C", // unallocated prefixes
            "GB123456C",
            "NK123456C",
            "KN123456C",
            "TN123456C",
            "NT123456C",
            "ZZ123456C",
            "AB123456E", // suffix beyond D
            "AB123456",  // no suffix
            "XAB123456C",
            "AB123456CD",
        ]);
    }

    // Phone numbers.

    #[test]
    fn e164_phone_numbers_are_detected() {
        check(&[
            ("call +14155552671", &[PhoneNumber]),
            ("call +44 20 7946 0958", &[PhoneNumber]),
            ("call +49 (0)30 1234567", &[PhoneNumber]),
            ("call +1 (415) 555-2671", &[PhoneNumber]),
            ("call +1-415-555-2671.", &[PhoneNumber]),
            ("call +33 6 12 34 56 78", &[PhoneNumber]),
            ("call +44 20 7946 0958 12 times", &[PhoneNumber]),
        ]);
    }

    #[test]
    fn plus_numbers_outside_ten_to_fifteen_digits_are_not_phone_numbers() {
        check_clean(&[
            "+1 555 1234",
            "score +15",
            "+1234567890123456789",
            "UTC+01:00",
            "GMT +10:00",
        ]);
    }

    #[test]
    fn nanp_numbers_with_separators_are_detected() {
        check(&[
            ("call (415) 555-2671", &[PhoneNumber]),
            ("call (415)555-2671", &[PhoneNumber]),
            ("call 415-555-2671", &[PhoneNumber]),
            ("call 415.555.2671", &[PhoneNumber]),
            ("call 1-415-555-2671", &[PhoneNumber]),
        ]);
    }

    #[test]
    fn national_numbers_with_a_trunk_zero_and_separators_are_detected() {
        check(&[
            ("call 020 7946 0958", &[PhoneNumber]),
            ("call 07700 900123", &[PhoneNumber]),
            ("call 030 1234567", &[PhoneNumber]),
            ("call 030/1234567", &[PhoneNumber]),
            ("call 07700-900123", &[PhoneNumber]),
            ("call 0161 496 0000", &[PhoneNumber]),
            ("call 0171 123 45 67", &[PhoneNumber]),
            ("call (020) 7946 0958", &[PhoneNumber]),
        ]);
    }

    #[test]
    fn bare_digit_runs_are_not_phone_numbers() {
        check_clean(&["4155552671", "07700900123", "14155552671", "0301234567"]);
    }

    #[test]
    fn unix_timestamps_are_neither_cards_nor_phone_numbers() {
        check_clean(&[
            "ts=1710498121",
            "1710498121123",
            // Luhn-valid millisecond and nanosecond timestamps.
            "received at 1710498121121 ms",
            "1710498121123456788 ns",
        ]);
    }

    // Email addresses.

    #[test]
    fn email_address_of_a_non_participant_is_detected() {
        check(&[
            ("mail jane.doe@gmail.com", &[EmailAddress]),
            ("<Jane.Doe+tag@Example.co.uk>", &[EmailAddress]),
            ("mailto:jane@acme.example?subject=x", &[EmailAddress]),
        ]);
    }

    #[test]
    fn email_address_of_a_participant_is_allowed() {
        let participant = |a: &str| a == "partner@reseller.example";
        assert_eq!(scan("ask partner@reseller.example", &participant), vec![]);
        assert_eq!(
            scan("ask ...partner@reseller.example.", &participant),
            vec![]
        );
        assert_eq!(
            scan("ask other@reseller.example", &participant),
            vec![EmailAddress]
        );
    }

    #[test]
    fn email_address_is_lower_cased_before_the_participant_check() {
        let participant = |a: &str| a == "partner@reseller.example";
        assert_eq!(scan("ask Partner@Reseller.EXAMPLE", &participant), vec![]);
    }

    #[test]
    fn a_participant_address_does_not_hide_part_of_itself() {
        // The tail of an allowed address (`artner@…`) must not be judged on its own.
        let participant = |a: &str| a == "partner@reseller.example";
        assert_eq!(
            scan(
                "partner@reseller.example partner@reseller.example",
                &participant
            ),
            vec![]
        );
    }

    #[test]
    fn incomplete_addresses_and_mentions_are_not_email_addresses() {
        check_clean(&[
            "user@",
            "@mention",
            "@jane.doe please check",
            "user@localhost",
            "lodash@4.17.21",
            "golang.org/x/net@v0.24.0",
            "icon@2x.png",
            "mail@@example.com",
        ]);
    }

    #[test]
    fn git_remotes_and_url_users_are_not_email_addresses() {
        check_clean(&[
            "git@github.com:acme/casebridge.git",
            "ssh://git@gitlab.example.com/acme/repo.git",
            "https://deploy:token@registry.example.com/v2/",
        ]);
    }

    #[test]
    fn mentioning_a_message_id_does_not_hide_an_address() {
        check(&[(
            "the message id was lost, reply to jane@gmail.com",
            &[EmailAddress],
        )]);
    }

    #[test]
    fn message_ids_are_not_email_addresses() {
        check_clean(&[
            "Message-ID: <CAGx5sJ8aFg1u0t3Xm3=kN_Q2o8UD6iC+T9qW3bbqV5yfKx0Ag@mail.gmail.com>",
            "<CAGx5sJ8aFg1u0t3Xm3=kN_Q2o8UD6iC+T9qW3bbqV5yfKx0Ag@mail.gmail.com>",
            "In-Reply-To: <E1rXyZa-0001Ab-2C@mx.example.com>",
            "<DM6PR11MB4073A1B2C3D4E5F6A7B8@DM6PR11MB4073.namprd11.prod.outlook.com>",
            "<20240315102201.12345.abc@mx.example.com>",
            "<550e8400-e29b-41d4-a716-446655440000@example.com>",
            "bounce+1710498121123abcdef@bounces.example.com",
        ]);
    }

    // Technical text that is not personal data.

    #[test]
    fn case_numbers_and_order_ids_are_not_personal_data() {
        check_clean(&[
            "case 12345678",
            "see #1234567",
            "Case number 100234",
            "ORD-2024-000123",
            "ticket INC0012345, change CHG-0012345678",
            "serial 0123-4567-8901",
            "Ref: 020-2024-0315",
        ]);
    }

    #[test]
    fn dates_and_times_are_not_personal_data() {
        check_clean(&[
            "2024-03-15",
            "15/03/2024",
            "03.15.2024",
            "15.03.2024 10:22",
            "2024-03-15T10:22:01Z",
            "2024-03-15 10:22:01.123+01:00",
            "2024-03-15T10:22:01.123456789-05:00",
            "10:22:01",
            "Mar 15, 2024",
            "15 March 2024, 10:22:01 UTC",
            "05-03-2024 10:22",
            "20240315 102201",
        ]);
    }

    #[test]
    fn ip_addresses_are_not_phone_numbers() {
        check_clean(&[
            "192.168.10.254",
            "10.0.0.1:8080",
            "2001:db8::1",
            "fe80::1ff:fe23:4567:890a",
            "[2001:db8:85a3::8a2e:370:7334]:443",
            "203.0.113.195, 198.51.100.17",
        ]);
    }

    #[test]
    fn version_strings_are_not_personal_data() {
        check_clean(&[
            "v1.2.3",
            "Chrome 120.0.6099.109",
            "build 20240315.1",
            "Android 14",
            "Windows 10.0.19045.4170",
            "Outlook 16.0.17328.20162",
        ]);
    }

    #[test]
    fn error_and_status_codes_are_not_personal_data() {
        check_clean(&[
            "550 5.7.1 Message rejected",
            "Error 0x80070005",
            "HTTP 503",
            "421-4.7.0 Try again later",
            "error code 4016",
            "0x8004010F",
            "550-5.7.26 Unauthenticated email",
        ]);
    }

    #[test]
    fn uuids_and_hashes_are_not_personal_data() {
        check_clean(&[
            "550e8400-e29b-41d4-a716-446655440000",
            "12345678-1234-4234-8234-123456789012",
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "commit 4111111111111111111111111111111111111111",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ]);
    }

    #[test]
    fn ports_sizes_durations_percentages_and_money_are_not_personal_data() {
        check_clean(&[
            "port 8443",
            "localhost:5432",
            "25 MB",
            "1048576 bytes",
            "took 1500 ms",
            "timeout 00:05:00",
            "99.95%",
            "$1,234.56",
            "€ 1.234.567,89",
            "1,234,567,890,123 rows",
        ]);
    }

    // Where hits sit in the text.

    #[test]
    fn mixed_text_reports_each_kind_once_in_enum_order() {
        check(&[
            (
                "Call me on +44 7911 123456 or mail jane.doe@gmail.com",
                &[PhoneNumber, EmailAddress],
            ),
            (
                "jane@gmail.com, 4111 1111 1111 1111, AB123456C, 415-555-2671, john@gmail.com",
                &[
                    PaymentCardNumber,
                    NationalIdNumber,
                    PhoneNumber,
                    EmailAddress,
                ],
            ),
        ]);
    }

    #[test]
    fn hits_surrounded_by_unicode_text_are_detected() {
        check(&[
            ("Teléfono: +34 612 345 678 — gracias 👍", &[PhoneNumber]),
            ("请拨打+44 20 7946 0958谢谢", &[PhoneNumber]),
            ("请联系jane@gmail.com谢谢", &[EmailAddress]),
            ("Karte «4111 1111 1111 1111» läuft ab", &[PaymentCardNumber]),
            ("番号123-45-6789です", &[NationalIdNumber]),
        ]);
    }

    #[test]
    fn hits_at_the_start_and_end_of_the_text_are_detected() {
        check(&[
            ("4111 1111 1111 1111", &[PaymentCardNumber]),
            ("123-45-6789", &[NationalIdNumber]),
            ("AB123456C", &[NationalIdNumber]),
            ("+14155552671", &[PhoneNumber]),
            ("jane@gmail.com", &[EmailAddress]),
            ("4111111111111111 is my card", &[PaymentCardNumber]),
            ("my card is 4111111111111111", &[PaymentCardNumber]),
            ("jane@gmail.com wrote", &[EmailAddress]),
            ("write to jane@gmail.com", &[EmailAddress]),
        ]);
    }

    #[test]
    fn large_adversarial_texts_scan_without_findings() {
        for text in [
            "1 ".repeat(50_000),
            "1".repeat(100_000),
            "a".repeat(100_000),
            "a.".repeat(50_000),
            "+1".repeat(50_000),
            "0 ".repeat(50_000),
            "x@".repeat(50_000),
            "192.168.10.254 ".repeat(7_000),
        ] {
            assert_eq!(scan_strangers(&text), vec![], "{}", &text[..20]);
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #[test]
            fn scanning_never_panics(text in "\\PC{0,200}") {
                let _ = scan_strangers(&text);
            }

            #[test]
            fn scanning_never_panics_on_number_like_text(text in "[0-9 +().:@a-z-]{0,80}") {
                let _ = scan_strangers(&text);
            }

            #[test]
            fn a_visa_number_with_its_luhn_digit_is_detected(body in "[0-9]{14}") {
                let partial = format!("4{body}");
                let completed = (0..10u8)
                    .map(|d| format!("{partial}{d}"))
                    .find(|n| luhn_valid(n.as_bytes()));
                prop_assume!(completed.as_ref().is_some_and(|n| is_card_number(n)));
                if let Some(number) = completed {
                    prop_assert_eq!(scan_strangers(&format!("card {number}.")), vec![PaymentCardNumber]);
                }
            }
        }
    }
}
