//! The scope-qualified words of the keyword index, in one place for the code that writes the
//! index (`casebridge_persistence::repo::search`), the query that reads it, and the migration
//! that rebuilt it (`m20261130_000004_qualify_keyword_index`).
//!
//! Each word of a case's title, description and comments is also indexed once per scope that
//! may see the case (each partner domain recorded on it, its customer's domain) as
//! `<tag><word>`. A partner's or customer's search asks for `<tag><term>` as a prefix, so the
//! full-text engine walks a posting list of that viewer's own matches, not every case that
//! holds the word. The tag is short: the visibility rule is still applied to what the index
//! returns, so two scopes sharing a tag only cost false candidates, never a wrong answer.
//!
//! The words are cut here, the same way for the documents and the queries: at every character
//! that is not a letter or a digit, lowercased, at most [`MAX_WORD_CHARS`] characters kept.
//! PostgreSQL stores the qualified words verbatim (`array_to_tsvector`); SQLite's FTS5
//! tokenizer (`unicode61 remove_diacritics 2`) reads them, and reads the query's the same way.

use uuid::Uuid;

/// The characters of a word kept in its qualified form: a query term longer than this matches
/// the words that share its first characters (PostgreSQL refuses lexemes over 2 KB).
pub const MAX_WORD_CHARS: usize = 64;

/// What kind of scope a tag names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    /// A partner domain recorded on the case.
    Partner,
    /// The case's customer's domain.
    Customer,
}

/// The tag of a scope: `p` or `c` and the last eight hex digits of the domain id (the random
/// end of a version 7 UUID; its first digits are a timestamp that domains created together
/// share).
pub fn scope_tag(kind: ScopeKind, domain: Uuid) -> String {
    let hex = domain.simple().to_string();
    let letter = match kind {
        ScopeKind::Partner => 'p',
        ScopeKind::Customer => 'c',
    };
    format!("{letter}{}", &hex[hex.len() - 8..])
}

/// The words of a text: split at every character that is not a letter or a digit, lowercased.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// A word (or a query term, already lowercased) qualified by a scope's tag.
pub fn qualified(tag: &str, word: &str) -> String {
    let mut out = String::with_capacity(tag.len() + word.len());
    out.push_str(tag);
    out.extend(word.chars().take(MAX_WORD_CHARS));
    out
}

/// The qualified words of a case, space-separated: each distinct word of `texts` under each
/// of `tags`.
pub fn qualified_words<'a>(texts: impl IntoIterator<Item = &'a str>, tags: &[String]) -> String {
    let mut distinct: Vec<String> = texts
        .into_iter()
        .flat_map(words)
        .map(|w| w.chars().take(MAX_WORD_CHARS).collect())
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut out = String::new();
    for tag in tags {
        for w in &distinct {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&qualified(tag, w));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_take_the_random_end_of_the_id() {
        let id = Uuid::parse_str("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").unwrap_or_default();
        assert_eq!(scope_tag(ScopeKind::Partner, id), "p2e3f4a5b");
        assert_eq!(scope_tag(ScopeKind::Customer, id), "c2e3f4a5b");
    }

    #[test]
    fn each_distinct_word_goes_under_each_tag() {
        let tags = ["pAAAA".to_owned(), "cBBBB".to_owned()];
        assert_eq!(
            qualified_words(["Mail bounce", "mail: 550-Über"], &tags),
            "pAAAA550 pAAAAbounce pAAAAmail pAAAAüber cBBBB550 cBBBBbounce cBBBBmail cBBBBüber"
        );
        let long = "x".repeat(100);
        assert_eq!(qualified("t", &long).len(), 1 + MAX_WORD_CHARS);
        assert_eq!(
            qualified_words([long.as_str()], &["t".to_owned()]).len(),
            1 + MAX_WORD_CHARS
        );
        assert_eq!(qualified_words(["!!"], &tags), "");
    }
}
