//! Naming what is known when an input is not: the list of known values for a message, and the
//! closest one as a suggestion.

/// The items, comma-separated.
pub fn join<I, S>(items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    items
        .into_iter()
        .map(|s| s.as_ref().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `; did you mean "x"?` for the closest known value within a small edit distance, else nothing.
pub fn did_you_mean<I, S>(given: &str, known: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let best = known
        .into_iter()
        .map(|k| (distance(given, k.as_ref()), k.as_ref().to_owned()))
        .min();
    match best {
        Some((d, k)) if d > 0 && d <= 2.max(given.len() / 4) => format!("; did you mean {k:?}?"),
        _ => String::new(),
    }
}

/// Levenshtein distance over chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance() {
        assert_eq!(distance("servce1", "service1"), 1);
        assert_eq!(distance("", "ab"), 2);
        assert_eq!(distance("us-west-2", "us-west-2"), 0);
    }

    #[test]
    fn suggests_only_close_values() {
        let known = ["service1", "service2", "external-api"];
        assert_eq!(
            did_you_mean("servce1", known),
            "; did you mean \"service1\"?"
        );
        assert_eq!(did_you_mean("zzz", known), "");
        assert_eq!(did_you_mean("service1", known), "");
        assert_eq!(join(known), "service1, service2, external-api");
    }
}
