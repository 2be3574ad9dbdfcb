//! Names in configuration (`provider = "stripe"`, `algorithm = "sha256"`): one error type for
//! a name that is not known, which lists the valid ones and suggests the nearest.

use std::fmt;

/// A name that is none of the valid ones: the error of every `FromStr` of the core
/// ([`Provider`](crate::core::Provider), [`Algorithm`](crate::core::scheme::Algorithm),
/// [`Encoding`](crate::core::scheme::Encoding)).
///
/// Its message lists the valid names and, when one is close enough to be a typo, suggests it.
///
/// ```
/// use hookgate::core::{Provider, UnknownName};
///
/// let error = "strpe".parse::<Provider>().unwrap_err();
/// assert_eq!(error.suggestion(), Some("stripe"));
/// assert!(error.to_string().starts_with(
///     "unknown provider `strpe`; did you mean `stripe`? (valid: d3, filedgr, docextract,"
/// ));
/// // Nothing close: no guess, only the list.
/// let error = "paypal".parse::<Provider>().unwrap_err();
/// assert_eq!(error.suggestion(), None);
/// assert!(error.to_string().starts_with("unknown provider `paypal` (valid: d3, "));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownName {
    /// What was being named: `provider`, `algorithm`, `encoding`.
    pub kind: &'static str,
    /// The name given.
    pub given: String,
    /// Every valid name, in the order of the documentation.
    pub valid: &'static [&'static str],
}

impl UnknownName {
    /// An unknown `kind` name `given`, among `valid`.
    pub fn new(
        kind: &'static str,
        given: impl Into<String>,
        valid: &'static [&'static str],
    ) -> Self {
        UnknownName {
            kind,
            given: given.into(),
            valid,
        }
    }

    /// The valid name nearest to the one given, when it is close enough to be a typo: an edit
    /// distance (ignoring case) of at most max(2, a third of the valid name's length), and less
    /// than that length (a guess must keep something of the name). The first of equally near
    /// names wins.
    pub fn suggestion(&self) -> Option<&'static str> {
        // Nobody mistypes a 40-character name: no need to compare it.
        if self.given.chars().count() > 40 {
            return None;
        }
        let given = self.given.to_lowercase();
        self.valid
            .iter()
            .map(|name| (edit_distance(&given, name), *name))
            .filter(|(distance, name)| {
                let len = name.chars().count();
                *distance <= 2.max(len / 3) && *distance < len
            })
            .min_by_key(|(distance, _)| *distance)
            .map(|(_, name)| name)
    }
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} `{}`", self.kind, self.given)?;
        if let Some(name) = self.suggestion() {
            write!(f, "; did you mean `{name}`?")?;
        }
        write!(f, " (valid: {})", self.valid.join(", "))
    }
}

impl std::error::Error for UnknownName {}

/// Levenshtein distance over chars: insertions, deletions and substitutions cost 1.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    // previous[j]: distance between the prefix of `a` read so far and b[..j].
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("stripe", "stripe"), 0);
        assert_eq!(edit_distance("strpe", "stripe"), 1);
        assert_eq!(edit_distance("strpie", "stripe"), 2);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "svix"), 4);
        assert_eq!(edit_distance("é", "e"), 1);
    }

    #[test]
    fn suggests_the_nearest_close_name_only() {
        const VALID: &[&str] = &["sha1", "sha256", "sha512"];
        let e = |given: &str| UnknownName::new("algorithm", given, VALID);
        assert_eq!(e("sha265").suggestion(), Some("sha256"));
        assert_eq!(
            e("SHA256").suggestion(),
            Some("sha256"),
            "case is not a typo"
        );
        assert_eq!(e("sha384").suggestion(), None, "3 edits of a 6-letter name");
        assert_eq!(e("sha").suggestion(), Some("sha1"));
        assert_eq!(e("md5").suggestion(), None);
        assert_eq!(e(&"x".repeat(1000)).suggestion(), None);
        assert_eq!(
            e("sha-256").to_string(),
            "unknown algorithm `sha-256`; did you mean `sha256`? (valid: sha1, sha256, sha512)"
        );
        assert_eq!(
            e("md5").to_string(),
            "unknown algorithm `md5` (valid: sha1, sha256, sha512)"
        );
    }
}
